// Bun's own global WebSocket (bun-types, no DOM lib) goes into createParleyClient as it is: tsconfig.bun.json.
import { createParleyClient, type WebSocketConstructor } from "@parley/client";

export const client = createParleyClient({ url: "http://localhost:3000", WebSocket });
export const constructor: WebSocketConstructor = WebSocket;
