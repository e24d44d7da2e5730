import type { Context, MiddlewareHandler } from "hono";

/** How an oversize body was refused: read to its end first, or cut off past the drain cap. */
export interface OversizeBody {
  /** Bytes read (and thrown away) before answering. */
  bytesRead: number;
  /** True when the body was not read to its end: a client still sending may see a reset instead of the 413. */
  cut: boolean;
}

/**
 * Request bodies up to `maxBytes` go on to the handler; a larger one gets 413 PAYLOAD_TOO_LARGE with the typed
 * JSON error body and `connection: close`.
 *
 * Why the oversize body is read first: browsers and fetch send the whole body before they read the answer. A
 * server that answers early and closes with unread bytes in its receive buffer makes the kernel send a reset, and
 * the client's half-written request fails with a network error — the 413 is lost. So the rest of the body is read
 * and thrown away (it costs bandwidth, never memory), up to `drainBytes`. Past that, or when the declared length is
 * past it, the 413 is sent at once and the connection closed: such a client may see a reset — the price of not
 * reading unbounded input. (Bun is given `drainBytes` as its own maxRequestBodySize, so there its built-in,
 * body-less 413 comes first.)
 */
export function bodyLimit(options: {
  maxBytes: number;
  drainBytes: number;
  /** Each refusal, to be counted by whoever watches (log, metrics). */
  onOversize?: (refusal: OversizeBody) => void;
}): MiddlewareHandler {
  const { maxBytes, drainBytes } = options;
  const refuse = (c: Context, refusal: OversizeBody): Response => {
    options.onOversize?.(refusal);
    return c.json({ error: { code: "PAYLOAD_TOO_LARGE", message: `body over ${maxBytes} bytes` } }, 413, { connection: "close" });
  };

  return async function bodyLimit(c, next) {
    const body = c.req.raw.body;
    if (!body) return next();
    const length = c.req.raw.headers.has("transfer-encoding") ? null : c.req.header("content-length");
    const declared = length === undefined || length === null ? null : Number(length);
    if (declared !== null && Number.isSafeInteger(declared)) {
      if (declared <= maxBytes) return next(); // the runtime holds the body to its declared length
      if (declared > drainBytes) return refuse(c, { bytesRead: 0, cut: true });
    }

    // No length (chunked), or a declared oversize one worth draining: read it ourselves, keeping at most maxBytes.
    const reader = body.getReader();
    const kept: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size <= maxBytes) kept.push(value);
        else kept.length = 0; // oversize: from here on everything is thrown away
        if (size > drainBytes) {
          void reader.cancel().catch(() => {}); // we stop reading; the connection closes after the 413
          return refuse(c, { bytesRead: size, cut: true });
        }
      }
    } catch {
      // The client went away mid-body, or the runtime cut it off (Bun past maxRequestBodySize): nobody may be left
      // to read the answer, but it stays typed.
      if (size > maxBytes) return refuse(c, { bytesRead: size, cut: true });
      return c.json({ error: { code: "BAD_REQUEST", message: "the request body could not be read" } }, 400, { connection: "close" });
    }
    if (size > maxBytes) return refuse(c, { bytesRead: size, cut: false });
    c.req.raw = new Request(c.req.raw, { body: concat(kept, size) });
    return next();
  };
}

function concat(chunks: Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}
