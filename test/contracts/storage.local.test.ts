import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createLocalStorage } from "../../src/infra/storage/local.ts";
import { fileRoutes } from "../../src/transport/http/file-routes.ts";
import { describeStorageContract } from "./storage.contract.ts";

describeStorageContract("local disk, served by Parley's own routes", async () => {
  const root = await mkdtemp(join(tmpdir(), "parley-files-"));
  let publicUrl = "";
  const storage = createLocalStorage({ root, get publicUrl() { return publicUrl; }, secret: "a test secret of enough length" });
  const server = serve({ fetch: fileRoutes({ storage, allowedOrigins: [] }).fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    storage,
    tamperUpload: (upload) => {
      const url = new URL(upload.url);
      const signature = url.searchParams.get("signature") ?? "";
      url.searchParams.set("signature", `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`);
      return { ...upload, url: url.toString() };
    },
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await rm(root, { recursive: true, force: true });
    },
  };
});
