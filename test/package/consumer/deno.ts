// Deno's own global WebSocket goes into createParleyClient as it is: `deno check deno.ts` in the Node app's folder
// (Deno reads its package.json and node_modules, so this is the packed SDK too).
import { createParleyClient, type WebSocketConstructor } from "@parley/client";

export const client = createParleyClient({ url: "http://localhost:3000", WebSocket });
export const constructor: WebSocketConstructor = WebSocket;
