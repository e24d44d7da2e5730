/**
 * Plain `fetch` against a server's tRPC endpoints, the way any HTTP client (or attacker) would speak to it: no SDK,
 * no tRPC client. Every answer is recorded, so a suite can assert afterwards that none of them was a 5xx.
 */
import { request as httpRequest } from "node:http";
import WebSocket from "ws";

/** What the server answered to one request. */
export interface ProbeAnswer {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or null when the body was empty or not JSON. */
  json: unknown;
  /** The raw body text. */
  text: string;
  /** The typed error code: tRPC's `error.data.code`, or `error.code` from the app's own JSON errors. */
  errorCode: string | null;
}

/** One request as the probe remembers it. */
export interface ProbeRecord {
  method: string;
  path: string;
  status: number;
  errorCode: string | null;
}

export interface HttpProbe {
  /** Every request made through this probe, in order. */
  readonly answers: readonly ProbeRecord[];
  /** `POST /trpc/<procedure>` with `body` JSON-encoded (a string is sent as is). */
  mutate(procedure: string, body: unknown, init?: { headers?: Record<string, string> }): Promise<ProbeAnswer>;
  /** `GET /trpc/<procedure>?input=<urlencoded JSON>`; `undefined` sends no input at all. */
  query(procedure: string, input: unknown, init?: { headers?: Record<string, string>; rawInput?: string }): Promise<ProbeAnswer>;
  /** Any request to any path on the server. */
  request(path: string, init?: RequestInit): Promise<ProbeAnswer>;
  /**
   * A WebSocket upgrade of `path`: status 101 when accepted (the socket is closed again at once), else the
   * refusal's status and body.
   */
  upgrade(path: string, options?: { origin?: string }): Promise<ProbeAnswer>;
}

export function createHttpProbe(baseUrl: string): HttpProbe {
  const answers: ProbeRecord[] = [];

  async function request(path: string, init: RequestInit = {}): Promise<ProbeAnswer> {
    const response = await fetch(`${baseUrl}${path}`, init);
    const text = await response.text();
    const json = parseJson(text);
    // Paths are cut short: a fuzzed query string can be tens of kilobytes, and these end up in failure messages.
    answers.push({ method: init.method ?? "GET", path: path.slice(0, 200), status: response.status, errorCode: typedErrorCode(json) });
    return { status: response.status, headers: response.headers, json, text, errorCode: typedErrorCode(json) };
  }

  function upgrade(path: string, options: { origin?: string } = {}): Promise<ProbeAnswer> {
    const url = `${baseUrl.replace(/^http/, "ws")}${path}`;
    const socket = new WebSocket(url, options.origin ? { origin: options.origin } : {});
    return new Promise((resolve, reject) => {
      const settle = (status: number, text: string, headers: Headers): void => {
        const json = parseJson(text);
        answers.push({ method: "UPGRADE", path, status, errorCode: typedErrorCode(json) });
        resolve({ status, headers, json, text, errorCode: typedErrorCode(json) });
      };
      socket.once("open", () => {
        socket.close();
        settle(101, "", new Headers());
      });
      socket.once("unexpected-response", (upgradeRequest, response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(response.headers)) if (typeof value === "string") headers.set(name, value);
          settle(response.statusCode ?? 0, body, headers);
          upgradeRequest.destroy();
        });
      });
      socket.once("error", reject); // a settled promise ignores it; before that, it is a failed connection
    });
  }

  return {
    answers,
    request,
    upgrade,
    mutate: (procedure, body, init = {}) =>
      request(`/trpc/${procedure}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...init.headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    query: (procedure, input, init = {}) => {
      const encoded = init.rawInput ?? (input === undefined ? undefined : JSON.stringify(input));
      const search = encoded === undefined ? "" : `?input=${encodeURIComponent(encoded)}`;
      return request(`/trpc/${procedure}${search}`, { headers: init.headers ?? {} });
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return text.length > 0 ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** `{ error: { data: { code } } }` (tRPC) or `{ error: { code } }` (the app's own JSON errors), else null. */
export function typedErrorCode(json: unknown): string | null {
  if (typeof json !== "object" || json === null || !("error" in json)) return null;
  const error = json.error;
  if (typeof error !== "object" || error === null) return null;
  if ("data" in error && typeof error.data === "object" && error.data !== null && "code" in error.data) {
    return typeof error.data.code === "string" ? error.data.code : null;
  }
  return "code" in error && typeof error.code === "string" ? error.code : null;
}

/** `Authorization: Bearer <token>` as a header record. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** What `auth.register` answers with `refreshTokenIn: "body"`. */
export interface SignedUp {
  user: { id: string; username: string };
  accessToken: string;
  refreshToken: string;
}

/** Registers a fresh account over plain HTTP (refresh token in the body); fails loudly if the server refuses. */
export async function signUp(probe: HttpProbe, username: string): Promise<SignedUp> {
  const answer = await probe.mutate("auth.register", {
    email: `${username}@example.test`,
    username,
    password: "correct horse battery staple",
    refreshTokenIn: "body",
  });
  return resultOf<SignedUp>(answer);
}

/** The `result.data` of a successful tRPC answer; throws with the body otherwise. */
export function resultOf<T>(answer: ProbeAnswer): T {
  const json = answer.json as { result?: { data?: T } } | null;
  if (answer.status !== 200 || json?.result?.data === undefined) {
    throw new Error(`expected a 200 tRPC result, got ${answer.status}: ${answer.text.slice(0, 500)}`);
  }
  return json.result.data;
}

/**
 * POSTs a `bytes`-long body with `Expect: 100-continue` and resolves with the status the server answers. Bun
 * says "continue" and then refuses mid-body, so the write may fail with EPIPE once the answer is in.
 */
export function postDeclaringLength(url: string, bytes: number): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const outgoing = httpRequest(url, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(bytes), expect: "100-continue" },
    });
    outgoing.once("response", (response) => {
      answered = true;
      response.resume();
      resolve({ status: response.statusCode ?? 0 });
    });
    outgoing.once("continue", () => outgoing.end(Buffer.alloc(bytes, "a")));
    outgoing.on("error", (error) => {
      if (!answered) reject(error);
    });
    outgoing.flushHeaders();
  });
}
