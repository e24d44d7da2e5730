import { Buffer } from "node:buffer";

/** About this many bytes of frames per history read: what a replay or gap fill holds besides the send buffers. */
const PAGE_BYTES = 64 * 1024;
/** Before anything was measured: 16 of the largest frames (16 KiB bodies) stay near PAGE_BYTES × 4. */
const FIRST_PAGE = 16;
const MAX_PAGE = 500;

/**
 * Sizes history reads by bytes rather than by count: a page holds about PAGE_BYTES of frames, whatever the
 * messages weigh — hundreds of short messages per read, a handful of 16 KiB ones.
 */
export class HistoryPager {
  private bytes = 0;
  private frames = 0;

  /** Counts one frame read from history and sent. */
  record(frameBytes: number): void {
    this.bytes += frameBytes;
    this.frames += 1;
  }

  /** How many messages the next read should ask for. */
  pageSize(): number {
    if (this.frames === 0) return FIRST_PAGE;
    const average = this.bytes / this.frames;
    return Math.max(1, Math.min(MAX_PAGE, Math.floor(PAGE_BYTES / average)));
  }
}

/** The size of a text frame's payload on the wire (UTF-8), which is what socket buffers count. */
export function frameBytes(frame: string): number {
  return Buffer.byteLength(frame, "utf8");
}
