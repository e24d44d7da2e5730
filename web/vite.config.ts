import { defineConfig } from "vite";

// PARLEY_URL at build time (read as VITE_PARLEY_URL) points the app at a Parley elsewhere; by default it calls its own
// origin, where Parley serves it. `npm run dev` proxies the API to a local server, so the page stays same-origin.
const target = process.env.PARLEY_DEV_TARGET ?? "http://localhost:3000";

export default defineConfig({
  envPrefix: ["VITE_", "PARLEY_"],
  server: {
    proxy: {
      "/trpc": { target, changeOrigin: true },
      "/files": { target, changeOrigin: true },
      "/ws": { target, ws: true, changeOrigin: true },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // TanStack Query marks its hooks "use client" for React Server Components, which a browser bundle has no use for.
    rolldownOptions: { checks: { moduleLevelDirective: false } },
  },
});
