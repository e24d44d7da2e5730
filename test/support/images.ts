import sharp from "sharp";

export type ImageType = "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "image/avif";

/** A real image of the type and size, made by sharp: one flat colour, so even a large one is a few kilobytes. */
export async function imageBytes(type: ImageType, width: number, height: number, options: { orientation?: number } = {}): Promise<Uint8Array> {
  let image = sharp({ create: { width, height, channels: 3, background: "#3a7" } });
  if (options.orientation !== undefined) image = image.withMetadata({ orientation: options.orientation });
  const format = ({ "image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp", "image/avif": "avif" } as const)[type];
  return new Uint8Array(await image.toFormat(format).toBuffer());
}

/**
 * Only a PNG's header: signature, then an IHDR with the width and height, then `rest` (zeros by default) up to
 * `size`. What the magic-byte check and a header reader accept, and no decoder does.
 */
export function pngHeader(width: number, height: number, size = 200, rest?: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(size);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(bytes.buffer).setUint32(16, width);
  new DataView(bytes.buffer).setUint32(20, height);
  bytes.set([8, 2, 0, 0, 0], 24);
  if (rest) bytes.set(rest.subarray(0, size - 33), 33);
  return bytes;
}

/** A polyglot: a PNG's signature and header over an HTML page with a script, as a browser sniffing it would run it. */
export function pngOverHtml(): Uint8Array {
  const page = new TextEncoder().encode("<!doctype html><html><body><script>fetch('/steal?c='+document.cookie)</script></body></html>");
  return pngHeader(64, 64, 33 + page.byteLength, page);
}
