// Deliberately wrong uses of @parley/client. Each line marked `// error TSnnnn` must fail to compile with exactly
// that error, and no other line may fail: if the package's types were lost (an unresolved import, or `any`
// everywhere under skipLibCheck), these would compile and test/package/consumer.test.ts would say so.
import WebSocket from "ws";
import { type ClientFrame, createParleyClient, type RouterInputs, type ServerEvent } from "@parley/client";

const parley = createParleyClient({ url: "http://localhost:3000", WebSocket });
const roomId = "00000000-0000-4000-8000-000000000000";

export async function wrongCalls(): Promise<void> {
  await parley.api.rooms.nope.query(); // error TS2339
  await parley.api.rooms.create.mutate({ name: 1, kind: "public" }); // error TS2322
  await parley.api.rooms.create.mutate({ name: "general", kind: "secret" }); // error TS2322
  await parley.api.messages.list.mutate({ roomId }); // error TS2339
  const page = await parley.api.messages.list.query({ roomId });
  const body: number = page.messages[0]!.body; // error TS2322
  void body;
}

export function wrongEvents(): void {
  parley.realtime.on("message.created", (event) => event.sender); // error TS2339
  parley.realtime.on("message.exploded", () => {}); // error TS2345
  parley.realtime.on("typing", (event) => event.message); // error TS2339
}

export function wrongFrames(event: ServerEvent): void {
  const frame: ClientFrame = { type: "send", roomId, body: "hi" }; // error TS2322
  const input: RouterInputs["rooms"]["create"] = { name: "general", kind: "public", colour: "red" }; // error TS2353
  if (event.type === "message.created") void event.message.seqq; // error TS2551
  void frame;
  void input;
}

createParleyClient({ url: "http://localhost:3000", WebSocket: Date }); // error TS2322
