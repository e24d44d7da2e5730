import { readFile, realpath, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { type Context, Hono } from "hono";

/*
 * The built web app (web/dist: index.html and content-hashed files under assets/) at `/`, from the same origin as
 * the API, so it needs no CORS and its cookies are first-party. Registered after every other route: a path the
 * server answers itself (the account pages, /trpc, /ws, …) never reaches it. A GET for a path that is no file and
 * asks for HTML gets index.html, so the app's own URLs (/rooms/abc) survive a reload; anything else stays the
 * API's JSON 404. Hashed files are cached for good; everything else is revalidated on each load, so a deploy is
 * picked up at the next one.
 */

/** Paths that are the server's, never the app's: a miss there is the API's JSON 404, not index.html. */
const SERVER_PREFIXES = ["/trpc", "/ws", "/files", "/healthz", "/livez", "/readyz", "/metrics", "/ops"];

const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".wasm": "application/wasm",
};

export interface WebAppOptions {
  /** The build's folder; read on every request, so a rebuild is served without a restart. */
  distDir: string;
  /** PUBLIC_URL: its WebSocket origin is allowed explicitly, for browsers whose 'self' does not cover ws:/wss:. */
  publicUrl: string;
  /** The S3 origin the browser uploads to and loads images from; null when files go through this server. */
  storageOrigin: string | null;
}

/** The app's policy: scripts and styles only from files of this origin (the build inlines none), nothing framed. */
export function webAppContentSecurityPolicy(options: Pick<WebAppOptions, "publicUrl" | "storageOrigin">): string {
  const publicUrl = new URL(options.publicUrl);
  const socketOrigin = `${publicUrl.protocol === "https:" ? "wss:" : "ws:"}//${publicUrl.host}`;
  const storage = options.storageOrigin ? [options.storageOrigin] : [];
  const directives: [string, ...string[]][] = [
    ["default-src", "'self'"],
    ["script-src", "'self'"],
    ["style-src", "'self'"],
    ["img-src", "'self'", "blob:", "data:", ...storage],
    ["connect-src", "'self'", socketOrigin, ...storage],
    ["font-src", "'self'"],
    ["object-src", "'none'"],
    ["base-uri", "'none'"],
    ["frame-ancestors", "'none'"],
    ["form-action", "'self'"],
  ];
  return directives.map((directive) => directive.join(" ")).join("; ");
}

/** What a request path names inside the build, or why it names nothing there. */
type Resolved = { kind: "path"; relative: string } | { kind: "refused" } | { kind: "server" };

/**
 * Each segment decoded on its own, so an encoded `/` or `..` (`%2f`, `%2e%2e`) cannot become one; `..`, `.`,
 * dotfiles, backslashes and NUL are refused outright, before any file system call.
 */
function resolveRequestPath(rawPath: string): Resolved {
  if (SERVER_PREFIXES.some((prefix) => rawPath === prefix || rawPath.startsWith(`${prefix}/`))) return { kind: "server" };
  const segments: string[] = [];
  for (const raw of rawPath.split("/").slice(1)) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { kind: "refused" };
    }
    if (segment === "") continue;
    if (segment.startsWith(".") || /[/\\\0]/.test(segment)) return { kind: "refused" };
    segments.push(segment);
  }
  return { kind: "path", relative: segments.join("/") };
}

interface BuiltFile {
  path: string;
  size: number;
  modified: Date;
}

/** A regular file inside `root` (symbolic links followed, and refused when they lead out of it), or null. */
async function builtFile(root: string, relative: string): Promise<BuiltFile | null> {
  if (relative === "") return null;
  try {
    const path = await realpath(join(root, relative));
    if (!path.startsWith(root + sep)) return null;
    const info = await stat(path);
    return info.isFile() ? { path, size: info.size, modified: info.mtime } : null;
  } catch {
    return null; // missing, or not readable: not a file the app has
  }
}

const etagOf = (file: BuiltFile): string => `W/"${file.size.toString(16)}-${file.modified.getTime().toString(16)}"`;

async function serveFile(c: Context, file: BuiltFile, headers: Record<string, string>): Promise<Response> {
  const etag = etagOf(file);
  const common = { ...headers, etag, "last-modified": file.modified.toUTCString(), "x-content-type-options": "nosniff" };
  if (c.req.header("if-none-match")?.split(",").some((tag) => tag.trim() === etag)) return c.body(null, 304, common);
  const withLength = { ...common, "content-type": CONTENT_TYPES[extname(file.path).toLowerCase()] ?? "application/octet-stream", "content-length": String(file.size) };
  if (c.req.method === "HEAD") return c.body(null, 200, withLength);
  return c.body(new Uint8Array(await readFile(file.path)), 200, withLength);
}

const NOT_BUILT_PAGE =
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Parley</title></head><body>` +
  `<h1>The web app is not built</h1><p>This Parley server is running; its web app has not been built yet. ` +
  `In the repository, run <code>npm install</code> (it builds the app) or <code>npm run build:web</code>, then reload.</p>` +
  `<p>The API is at <code>/trpc</code>, the realtime socket at <code>/ws</code>.</p></body></html>`;

export function webAppRoutes(options: WebAppOptions): Hono {
  const routes = new Hono();
  const csp = webAppContentSecurityPolicy(options);
  // The folder itself through its real path, so the inside test holds when web/dist is a link (a deploy's current/).
  const rootOf = async (): Promise<string | null> => realpath(resolve(options.distDir)).catch(() => null);
  const pageHeaders = { "content-security-policy": csp, "referrer-policy": "strict-origin-when-cross-origin" };

  routes.get("*", async (c) => {
    const rawPath = new URL(c.req.url).pathname;
    const resolved = resolveRequestPath(rawPath);
    if (resolved.kind === "server") return c.notFound();
    if (resolved.kind === "refused") return c.json({ error: { code: "NOT_FOUND", message: "no such file" } }, 404);

    const root = await rootOf();
    const file = root ? await builtFile(root, resolved.relative) : null;
    if (file) {
      const hashed = resolved.relative.startsWith("assets/");
      return serveFile(c, file, { ...pageHeaders, "cache-control": hashed ? IMMUTABLE : REVALIDATE });
    }
    // A hashed file that is gone (an old page after a deploy) must fail as a miss, not load index.html as script.
    if (resolved.relative.startsWith("assets/")) return c.notFound();
    const navigation = rawPath === "/" || (c.req.header("accept") ?? "").includes("text/html");
    if (!navigation) return c.notFound();

    const index = root ? await builtFile(root, "index.html") : null;
    if (!index) {
      c.header("cache-control", "no-store");
      c.header("content-security-policy", "default-src 'none'; base-uri 'none'; frame-ancestors 'none'");
      return c.html(NOT_BUILT_PAGE, 404);
    }
    return serveFile(c, index, { ...pageHeaders, "cache-control": REVALIDATE });
  });
  return routes;
}
