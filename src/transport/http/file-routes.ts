import { Hono } from "hono";
import { cors } from "hono/cors";
import type { LocalStorage } from "../../infra/storage/local.ts";

/**
 * The local-disk storage's own HTTP face: the presigned POST lands here and the signed GET is served from here, with
 * S3's status codes (204, 400 EntityTooLarge, 403 AccessDenied), so one client works against both storages.
 * Mounted only when FILE_STORAGE is local; every check lives in the storage, these routes only carry bytes.
 */
export function fileRoutes(deps: { storage: LocalStorage; allowedOrigins: readonly string[] }): Hono {
  const routes = new Hono();
  routes.use(
    "/files/upload",
    cors({ origin: (origin) => (deps.allowedOrigins.includes(origin) ? origin : null), allowMethods: ["POST", "OPTIONS"], maxAge: 600 }),
  );
  routes.post("/files/upload", async (c) => {
    const outcome = await deps.storage.acceptUpload(new URL(c.req.url).searchParams, c.req.raw);
    if (outcome.status === 204) return c.body(null, 204);
    return c.json({ error: { code: outcome.code, message: outcome.message } }, outcome.status);
  });
  routes.get("/files/object/*", async (c) => {
    const url = new URL(c.req.url);
    const key = decodeURIComponent(url.pathname.slice("/files/object/".length));
    const outcome = await deps.storage.serveDownload(key, url.searchParams);
    if (outcome.status !== 200) return c.json({ error: { code: outcome.code, message: "download refused" } }, outcome.status);
    return c.body(outcome.body as Uint8Array<ArrayBuffer>, 200, {
      "content-type": outcome.contentType,
      "content-disposition": outcome.disposition,
      "content-length": String(outcome.body.byteLength),
      // Stored bytes are never interpreted: no sniffing, no scripts even if one were served inline.
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; sandbox",
      "cache-control": "private, max-age=60",
      // A signed URL is a capability for this one object, as S3's are (which send no CORP at all): an app on another
      // origin (the web app hosted elsewhere against PARLEY_URL) shows it in an <img>. same-site would block that.
      "cross-origin-resource-policy": "cross-origin",
    });
  });
  return routes;
}
