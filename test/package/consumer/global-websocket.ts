// The packed SDK on a runtime's own fetch and global WebSocket (Bun, Deno; browsers and Node ≥ 22 too): two users
// exchange a message through a real server (PARLEY_URL) and the script prints what the second one received.
// Compiled with the Node app (tsc), then run by test/package/consumer.test.ts with `bun` and `deno run`.
import { createParleyClient, type Message } from "@parley/client";

declare const process: { env: Record<string, string | undefined> };
const url = process.env.PARLEY_URL;
if (!url) throw new Error("PARLEY_URL is required");
const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

const alice = createParleyClient({ url });
const bob = createParleyClient({ url });
await alice.register({ email: `alice-${tag}@example.com`, username: `alice-${tag}`, password: "correct horse battery staple" });
await bob.register({ email: `bob-${tag}@example.com`, username: `bob-${tag}`, password: "correct horse battery staple" });
const room = await alice.api.rooms.create.mutate({ name: `runtimes ${tag}`, kind: "public" });
await bob.api.rooms.join.mutate({ roomId: room.id });

const received = new Promise<Message>((resolve) => bob.realtime.on("message.created", ({ message }) => resolve(message)));
alice.realtime.connect();
bob.realtime.connect();
await Promise.all([alice.realtime.whenOpen(), bob.realtime.whenOpen()]);
const sent = await alice.realtime.send(room.id, "from the runtime's own WebSocket");
const message = await received;
console.log(JSON.stringify({ body: message.body, seq: message.seq, acknowledged: sent.seq }));
await Promise.all([alice.logout(), bob.logout()]);
