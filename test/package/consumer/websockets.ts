// Every WebSocket a user has at hand goes into createParleyClient as it is — no cast. Compiled in the Node app
// (strict, skipLibCheck: false, lib DOM): the `ws` package's class, both ways it is imported, and the DOM's.
// Bun's and Deno's own globals are checked by bun.ts and deno.ts beside this file.
import WebSocket, { WebSocket as NamedWebSocket } from "ws";
import { createParleyClient, type WebSocketConstructor } from "@parley/client";

const url = "http://localhost:3000";
export const fromWs = createParleyClient({ url, WebSocket });
export const fromNamedWs = createParleyClient({ url, WebSocket: NamedWebSocket });
export const fromBrowser = createParleyClient({ url, WebSocket: globalThis.WebSocket });
export const constructors: WebSocketConstructor[] = [WebSocket, NamedWebSocket, globalThis.WebSocket];
