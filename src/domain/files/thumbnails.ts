import sharp from "sharp";

/** What libvips calls each image type the server decodes (AVIF is a HEIF container); the only types an avatar may be. */
const DECODED_AS: Readonly<Record<string, string>> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/gif": "gif",
  "image/webp": "webp",
  "image/avif": "heif",
};

export function isThumbnailed(contentType: string): boolean {
  return contentType in DECODED_AS;
}

/**
 * Images with more pixels than this are refused before a byte of them is decoded: decompressed they would take
 * 160 MB and more (4 bytes a pixel), from an upload that can be a few kilobytes (a decompression bomb).
 */
export const MAX_IMAGE_PIXELS = 40_000_000;
/** A thumbnail fits inside a square of this side; smaller images keep their size. */
export const THUMBNAIL_MAX_SIDE = 320;

export const thumbnailKeyFor = (fileId: string): string => `thumbs/${fileId}.webp`;

/**
 * Every object a file may have in storage: the upload and its thumbnail. For a file being completed the thumbnail
 * may exist before its row says so (it is written first), hence the key from the id when the row has none (deleting
 * an object that never was is no error).
 */
export function objectKeysOf(file: { id: string; storageKey: string; thumbnailKey: string | null }): string[] {
  return [file.storageKey, file.thumbnailKey ?? thumbnailKeyFor(file.id)];
}

export type ThumbnailOutcome = { ok: true; body: Uint8Array; width: number; height: number } | { ok: false; why: string };

/**
 * A WebP that fits inside THUMBNAIL_MAX_SIDE², from the whole image: decoding it all is also the proof that the
 * upload is the image it claims to be (a PNG signature over an HTML page, or a truncated image, does not decode).
 * The first frame of an animation; turned upright by its EXIF orientation; no metadata kept (no location leaks).
 */
export async function makeThumbnail(bytes: Uint8Array, contentType: string): Promise<ThumbnailOutcome> {
  // "error" rather than sharp's default "warning": cameras write JPEGs libjpeg warns about but decodes whole.
  const image = sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: "error", autoOrient: true });
  try {
    const { format } = await image.metadata();
    if (format !== DECODED_AS[contentType]) return { ok: false, why: `the image decodes as ${format}, not ${contentType}` };
    const { data, info } = await image
      .resize(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE, { fit: "inside", withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer({ resolveWithObject: true });
    return { ok: true, body: new Uint8Array(data), width: info.width, height: info.height };
  } catch {
    // libvips says why in its own words (and paths); the client is told only that the image is broken.
    return { ok: false, why: "the image cannot be decoded" };
  }
}
