// A Node app on the packed @parley/client, as a user writes one: calls and events, typed from the package alone.
// The annotations are the point — each must hold for this file to compile under strict, skipLibCheck: false.
// Run by test/package/consumer.test.ts against a real server (PARLEY_URL); prints one JSON line and exits.
import WebSocket from "ws";
import {
  createParleyClient,
  type Message,
  type MessagePage,
  type MyRoom,
  type ParleyClient,
  type RealtimeState,
  type Room,
  type RouterInputs,
  type RouterOutputs,
  type ServerEvent,
  type UserProfile,
} from "@parley/client";

const url = process.env.PARLEY_URL;
if (!url) throw new Error("PARLEY_URL is required");
const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function signUp(name: string): Promise<{ client: ParleyClient; user: UserProfile }> {
  const client = createParleyClient({ url: url as string, WebSocket });
  const user: UserProfile = await client.register({ email: `${name}-${tag}@example.com`, username: `${name}-${tag}`, password: "correct horse battery staple" });
  return { client, user };
}

const alice = await signUp("alice");
const bob = await signUp("bob");
const input: RouterInputs["rooms"]["create"] = { name: `consumer ${tag}`, kind: "public" };
const room: Room = await alice.client.api.rooms.create.mutate(input);
await bob.client.api.rooms.join.mutate({ roomId: room.id });

const states: RealtimeState[] = [];
bob.client.realtime.on("state", ({ state }) => states.push(state));
const typing = new Promise<boolean>((resolve) => bob.client.realtime.on("typing", (event) => resolve(event.active)));
const received = new Promise<Message[]>((resolve) => {
  const messages: Message[] = [];
  bob.client.realtime.on("message.created", ({ message, seq }) => {
    const event: ServerEvent = { type: "message.created", roomId: room.id, seq, message };
    if (event.type === "message.created") messages.push(event.message);
    if (messages.length === 2) resolve(messages);
  });
});

alice.client.realtime.connect();
bob.client.realtime.connect();
await Promise.all([alice.client.realtime.whenOpen(), bob.client.realtime.whenOpen()]);
alice.client.realtime.typing(room.id, true);
const first: Message = await alice.client.realtime.send(room.id, "hello from a packed SDK");
const second: Message = await alice.client.realtime.send(room.id, "second");
const delivered = await received;

const page: MessagePage = await bob.client.api.messages.list.query({ roomId: room.id });
const rooms: MyRoom[] = await bob.client.api.rooms.list.query();
const me: RouterOutputs["auth"]["me"] = await bob.client.api.auth.me.query();

console.log(
  JSON.stringify({
    typing: await typing,
    seqs: [first.seq, second.seq],
    delivered: delivered.map((message) => `${message.sender.username.split("-")[0]}: ${message.body}`),
    history: page.messages.map((message) => message.seq),
    bobSeesRoom: rooms.some((mine) => mine.id === room.id),
    me: me.id === bob.user.id,
    states,
  }),
);
await Promise.all([alice.client.logout(), bob.client.logout()]);
