import { openTestStorage } from "../support/test-storages.ts";
import { describeStorageContract } from "./storage.contract.ts";

describeStorageContract("local disk, served by Parley's own routes", async () => {
  const { storage, close } = await openTestStorage("local");
  return {
    storage,
    // Local policies travel in the upload URL: alter the signature there.
    tamperUpload: (upload) => {
      const url = new URL(upload.url);
      const signature = url.searchParams.get("signature") ?? "";
      url.searchParams.set("signature", `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`);
      return { ...upload, url: url.toString() };
    },
    close,
  };
});
