import { defineConfig } from "vite";

// No plugin needed: Vite compiles TSX with React's automatic JSX runtime (tsconfig.json "jsx": "react-jsx").
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // TanStack Query marks its hooks "use client" for React Server Components, which a browser bundle has no use for.
    rolldownOptions: { checks: { moduleLevelDirective: false } },
  },
});
