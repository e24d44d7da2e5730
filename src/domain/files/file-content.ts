import { fileTypeFromBuffer } from "file-type";
import { imageSize } from "image-size";

/** Bytes read from the start of an upload: enough for every signature file-type knows and most image headers. */
export const SNIFF_BYTES = 64 * 1024;

/** Images a browser may show inline from our URL; everything else (SVG and HTML above all) downloads as a file. */
const INLINE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"]);

export function dispositionFor(contentType: string): "inline" | "attachment" {
  return INLINE_TYPES.has(contentType) ? "inline" : "attachment";
}

/** What the magic bytes may say for a declared type (several formats have more than one name, or a container's). */
const SNIFFED_AS: Record<string, string[]> = {
  "application/msword": ["application/x-cfb"],
  "application/vnd.ms-excel": ["application/x-cfb"],
  "application/vnd.ms-powerpoint": ["application/x-cfb"],
  "audio/wav": ["audio/wav", "audio/vnd.wave", "audio/x-wav"],
  "audio/ogg": ["audio/ogg", "audio/opus"],
  "audio/webm": ["video/webm", "audio/webm"],
  "audio/mp4": ["audio/mp4", "audio/x-m4a", "video/mp4"],
  "video/quicktime": ["video/quicktime"],
};

/** File name extensions and the types they stand for: a name that says one thing while the type says another lies. */
const EXTENSIONS: Record<string, string[]> = {
  png: ["image/png"], jpg: ["image/jpeg"], jpeg: ["image/jpeg"], gif: ["image/gif"], webp: ["image/webp"], avif: ["image/avif"],
  pdf: ["application/pdf"], txt: ["text/plain"], svg: ["image/svg+xml"], html: ["text/html"], htm: ["text/html"],
  js: ["text/javascript", "application/javascript"], zip: ["application/zip"], exe: ["application/x-msdownload"],
  doc: ["application/msword"], docx: ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
  xls: ["application/vnd.ms-excel"], xlsx: ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
  ppt: ["application/vnd.ms-powerpoint"], pptx: ["application/vnd.openxmlformats-officedocument.presentationml.presentation"],
  mp3: ["audio/mpeg"], ogg: ["audio/ogg"], wav: ["audio/wav"], mp4: ["video/mp4", "audio/mp4"], m4a: ["audio/mp4"],
  webm: ["video/webm", "audio/webm"], mov: ["video/quicktime"],
};

/** False when the name's extension is a known one that does not fit the declared type ("photo.png" as text/html). */
export function extensionFits(filename: string, contentType: string): boolean {
  const dot = filename.lastIndexOf(".");
  if (dot < 0) return true;
  const known = EXTENSIONS[filename.slice(dot + 1).toLowerCase()];
  return !known || known.includes(contentType);
}

export type ContentVerdict = { ok: true; width: number | null; height: number | null } | { ok: false; why: string };

/**
 * Do the first bytes say what the upload declared? Text has no signature: it must be UTF-8 without NULs, and
 * nothing file-type recognises (a zip or an executable declared as text/plain is not text).
 */
export async function checkContent(head: Uint8Array, contentType: string): Promise<ContentVerdict> {
  const sniffed = await fileTypeFromBuffer(head);
  if (contentType === "text/plain") {
    if (sniffed) return { ok: false, why: `the content is ${sniffed.mime}, not text` };
    if (head.includes(0) || !isUtf8Prefix(head)) return { ok: false, why: "the content is not UTF-8 text" };
    return { ok: true, width: null, height: null };
  }
  const accepted = SNIFFED_AS[contentType] ?? [contentType];
  if (!sniffed || !accepted.includes(sniffed.mime)) {
    return { ok: false, why: `the content is ${sniffed?.mime ?? "not recognised"}, not ${contentType}` };
  }
  if (!contentType.startsWith("image/")) return { ok: true, width: null, height: null };
  try {
    const size = imageSize(head);
    return { ok: true, width: size.width ?? null, height: size.height ?? null };
  } catch {
    return { ok: false, why: "the image header cannot be read" };
  }
}

/** Valid UTF-8, allowing a multi-byte character cut off at the end of the prefix. */
function isUtf8Prefix(bytes: Uint8Array): boolean {
  for (let cut = 0; cut < 4 && cut < bytes.length; cut++) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, bytes.length - cut));
      return true;
    } catch {
      // try without the last byte(s): the read may have split a character
    }
  }
  return bytes.length === 0;
}
