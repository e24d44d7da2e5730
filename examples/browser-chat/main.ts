/**
 * A small chat page on the Parley SDK, with no framework. The API is `?api=<base URL>` (default
 * http://localhost:3000), and the refresh token is an HttpOnly cookie, so a reload signs in again through
 * `restore()`. Chat text is shown only through `textContent`, each message body in its own bidi isolate.
 */
import {
  createParleyClient,
  type Message,
  type MyRoom,
  type Room,
  type UserProfile,
  type UserPublic,
} from "../../client-sdk/src/index.ts";

const apiUrl = new URLSearchParams(location.search).get("api") ?? "http://localhost:3000";
const client = createParleyClient({ url: apiUrl, onError: (error) => showError(`connection: ${describe(error)}`) });

/** How often a typist repeats `typing: true`, and how long after their last keystroke they count as stopped. */
const TYPING_REPEAT_MS = 2000;
const TYPING_IDLE_MS = 3000;
/** Someone else's indicator goes away this long after their last `typing` (a closed tab never sends `false`). */
const TYPING_SHOWN_MS = 5000;
const HISTORY_PAGE = 50;

const ui = {
  state: element<HTMLElement>("connection-state"),
  currentUser: element<HTMLElement>("current-user"),
  logout: element<HTMLButtonElement>("logout"),
  error: element<HTMLElement>("app-error"),
  loading: element<HTMLElement>("loading"),
  authView: element<HTMLElement>("auth-view"),
  registerForm: element<HTMLFormElement>("register-form"),
  loginForm: element<HTMLFormElement>("login-form"),
  chatView: element<HTMLElement>("chat-view"),
  createRoomForm: element<HTMLFormElement>("create-room-form"),
  joinRoomForm: element<HTMLFormElement>("join-room-form"),
  roomList: element<HTMLUListElement>("room-list"),
  roomView: element<HTMLElement>("room-view"),
  roomName: element<HTMLElement>("room-name"),
  roomId: element<HTMLElement>("room-id"),
  olderHint: element<HTMLElement>("older-hint"),
  messages: element<HTMLOListElement>("messages"),
  typing: element<HTMLElement>("typing-indicator"),
  sendForm: element<HTMLFormElement>("send-form"),
  input: element<HTMLInputElement>("message-input"),
};

/** The room on screen: what is rendered (by seq), and our sends still waiting for their ack. */
interface OpenRoom {
  room: Room;
  rendered: Map<number, HTMLLIElement>;
  pending: { body: string; item: HTMLLIElement }[];
  /** The first page of history is on screen: from here on, gaps are filled by `catchUp`. */
  loaded: boolean;
}

let me: UserProfile | null = null;
let current: OpenRoom | null = null;
const names = new Map<string, string>();
const typists = new Map<string, ReturnType<typeof setTimeout>>();
let ownTyping: { roomId: string; sentAt: number; idle: ReturnType<typeof setTimeout> } | null = null;

// ---- realtime ---------------------------------------------------------------------------------------------

client.realtime.on("state", ({ state, reason }) => {
  ui.state.textContent = state;
  ui.state.dataset.state = state;
  ui.state.title = reason ?? "realtime connection";
});
client.realtime.on("message.created", ({ roomId, message }) => {
  names.set(message.sender.id, nameOf(message.sender));
  if (current?.room.id !== roomId) return markUnread(roomId);
  showMessage(current, message);
  setTyping(message.sender.id, false);
});
client.realtime.on("typing", ({ roomId, userId, active }) => {
  if (roomId === current?.room.id && userId !== me?.id) setTyping(userId, active);
});
client.realtime.on("room.membership", ({ roomId, membership }) => {
  void act(null, refreshRooms);
  if (current?.room.id !== roomId) return;
  const opened = current;
  if (membership === "joined") void act(null, () => catchUp(opened));
  else closeRoom();
});
client.realtime.on("resumed", ({ roomId, recovered, reset }) => {
  const opened = current;
  if (recovered || opened?.room.id !== roomId) return;
  // A reset: the room's history was rewritten (a restored database), so what is on screen belongs to another
  // epoch of it — load it afresh. Otherwise more was missed than the server replays: page the gap from history.
  void act(null, () => (reset ? openRoom(opened.room) : catchUp(opened)));
});

// ---- signing in and out -----------------------------------------------------------------------------------

ui.registerForm.addEventListener("submit", (event) =>
  void act(event, async () => {
    const form = ui.registerForm;
    signedIn(await client.register({ email: field(form, "email"), username: field(form, "username"), password: field(form, "password") }));
    form.reset();
  }),
);
ui.loginForm.addEventListener("submit", (event) =>
  void act(event, async () => {
    signedIn(await client.login({ login: field(ui.loginForm, "login"), password: field(ui.loginForm, "password") }));
    ui.loginForm.reset();
  }),
);
ui.logout.addEventListener("click", (event) =>
  void act(event, async () => {
    try {
      await client.logout();
    } finally {
      signedOut();
    }
  }),
);

function signedIn(user: UserProfile): void {
  me = user;
  names.set(user.id, nameOf(user));
  ui.currentUser.textContent = nameOf(user);
  ui.loading.hidden = true;
  ui.authView.hidden = true;
  ui.chatView.hidden = false;
  ui.logout.hidden = false;
  client.realtime.connect();
  void act(null, refreshRooms);
  const roomId = decodeURIComponent(location.hash.slice(1));
  if (roomId) void act(null, async () => openRoom(await client.api.rooms.get.query({ roomId })));
}

function signedOut(): void {
  me = null;
  closeRoom();
  ui.currentUser.textContent = "";
  ui.roomList.replaceChildren();
  ui.loading.hidden = true;
  ui.chatView.hidden = true;
  ui.logout.hidden = true;
  ui.authView.hidden = false;
}

// ---- rooms ------------------------------------------------------------------------------------------------

ui.createRoomForm.addEventListener("submit", (event) =>
  void act(event, async () => {
    const room = await client.api.rooms.create.mutate({ name: field(ui.createRoomForm, "name"), kind: "public" });
    ui.createRoomForm.reset();
    await Promise.all([refreshRooms(), openRoom(room)]);
  }),
);
ui.joinRoomForm.addEventListener("submit", (event) =>
  void act(event, async () => {
    const room = await client.api.rooms.join.mutate({ roomId: field(ui.joinRoomForm, "roomId").trim() });
    ui.joinRoomForm.reset();
    await Promise.all([refreshRooms(), openRoom(room)]);
  }),
);

async function refreshRooms(): Promise<void> {
  const rooms = await client.api.rooms.list.query();
  ui.roomList.replaceChildren(...rooms.map(roomItem));
}

function roomItem(room: MyRoom): HTMLLIElement {
  const button = document.createElement("button");
  button.type = "button";
  button.setAttribute("data-testid", "room-item");
  button.dataset.roomId = room.id;
  button.setAttribute("aria-current", String(room.id === current?.room.id));
  const label = document.createElement("bdi");
  label.textContent = room.peer ? nameOf(room.peer) : room.name;
  button.append(label);
  button.addEventListener("click", (event) => void act(event, () => openRoom(room)));
  const item = document.createElement("li");
  item.append(button);
  return item;
}

function markUnread(roomId: string): void {
  const button = ui.roomList.querySelector<HTMLButtonElement>(`[data-room-id="${CSS.escape(roomId)}"]`);
  if (button) button.dataset.unread = "true";
}

/** Shows a room: the last page of history first, then the live stream from where that page ends. */
async function openRoom(room: Room): Promise<void> {
  stopOwnTyping();
  const opened: OpenRoom = { room, rendered: new Map(), pending: [], loaded: false };
  current = opened;
  clearTypists();
  history.replaceState(null, "", `#${encodeURIComponent(room.id)}`);
  ui.roomName.textContent = room.name;
  ui.roomId.textContent = room.id;
  ui.messages.replaceChildren();
  ui.roomView.hidden = false;
  for (const button of ui.roomList.querySelectorAll<HTMLButtonElement>("[data-room-id]")) {
    button.setAttribute("aria-current", String(button.dataset.roomId === room.id));
    if (button.dataset.roomId === room.id) delete button.dataset.unread;
  }
  const page = await client.api.messages.list.query({ roomId: room.id, limit: HISTORY_PAGE });
  if (current !== opened) return; // another room was opened meanwhile
  for (const message of page.messages) showMessage(opened, message);
  ui.olderHint.hidden = !page.hasOlder;
  opened.loaded = true;
  client.realtime.advance(room.id, page.messages.at(-1)?.seq ?? 0);
}

/** Fetches what follows the newest message on screen (after joining, or a resume past the server's budget). */
async function catchUp(opened: OpenRoom): Promise<void> {
  if (!opened.loaded) return; // openRoom's own history request is still on its way
  const after = Math.max(0, ...opened.rendered.keys());
  const page = await client.api.messages.list.query({ roomId: opened.room.id, after, limit: 100 });
  for (const message of page.messages) showMessage(opened, message);
  client.realtime.advance(opened.room.id, Math.max(0, ...opened.rendered.keys()));
}

function closeRoom(): void {
  stopOwnTyping();
  current = null;
  clearTypists();
  ui.roomView.hidden = true;
  ui.messages.replaceChildren();
  history.replaceState(null, "", location.pathname + location.search);
}

// ---- messages ---------------------------------------------------------------------------------------------

ui.sendForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const opened = current;
  const body = ui.input.value;
  if (!opened || !me || body.trim() === "") return;
  ui.input.value = "";
  stopOwnTyping();
  const item = messageItem(me, body);
  setStatus(item, "pending", "sending…");
  ui.messages.append(item);
  // The server stores the body NFC-normalised and trimmed; compare in that form when our own message comes back.
  const entry = { body: body.normalize("NFC").trim(), item };
  opened.pending.push(entry);
  client.realtime.send(opened.room.id, body).then(
    (message) => {
      if (!opened.pending.includes(entry)) return; // its message.created already arrived and claimed it
      opened.pending.splice(opened.pending.indexOf(entry), 1);
      if (opened.rendered.has(message.seq)) item.remove();
      else place(opened, item, message);
    },
    (error: unknown) => {
      if (opened.pending.includes(entry)) opened.pending.splice(opened.pending.indexOf(entry), 1);
      setStatus(item, "failed", `not sent: ${describe(error)}`);
    },
  );
});

/** Puts a message in seq order, once; our own message claims its pending line instead of adding another. */
function showMessage(opened: OpenRoom, message: Message): void {
  if (opened.rendered.has(message.seq)) return;
  const mine = message.sender.id === me?.id ? opened.pending.findIndex((entry) => entry.body === message.body) : -1;
  const claimed = mine >= 0 ? opened.pending.splice(mine, 1)[0] : undefined;
  place(opened, claimed?.item ?? messageItem(message.sender, message.body), message);
}

function place(opened: OpenRoom, item: HTMLLIElement, message: Message): void {
  setStatus(item, "sent", new Date(message.createdAt).toLocaleTimeString());
  item.dataset.seq = String(message.seq);
  opened.rendered.set(message.seq, item);
  if (current !== opened) return;
  const next = [...ui.messages.children].find(
    (other) => other instanceof HTMLElement && (other.dataset.status === "pending" || Number(other.dataset.seq) > message.seq),
  );
  ui.messages.insertBefore(item, next ?? null);
}

/** One message line. User text only ever goes through `textContent`; the body is a bidi isolate (`dir="auto"`). */
function messageItem(sender: UserPublic, body: string): HTMLLIElement {
  const item = document.createElement("li");
  item.className = "message";
  item.setAttribute("data-testid", "message");
  const who = document.createElement("bdi");
  who.className = "sender";
  who.setAttribute("data-testid", "message-sender");
  who.textContent = nameOf(sender);
  const status = document.createElement("span");
  status.className = "status";
  status.setAttribute("data-testid", "message-status");
  const text = document.createElement("p");
  text.className = "body";
  text.dir = "auto";
  text.setAttribute("data-testid", "message-body");
  text.textContent = body;
  item.append(who, " ", status, text);
  return item;
}

function setStatus(item: HTMLLIElement, status: "pending" | "sent" | "failed", label: string): void {
  item.dataset.status = status;
  const shown = item.querySelector<HTMLElement>("[data-testid=message-status]");
  if (shown) shown.textContent = label;
}

// ---- typing -----------------------------------------------------------------------------------------------

ui.input.addEventListener("input", () => {
  if (!current || ui.input.value === "") return stopOwnTyping();
  const roomId = current.room.id;
  if (ownTyping && ownTyping.roomId !== roomId) stopOwnTyping();
  const now = Date.now();
  let sentAt = ownTyping?.sentAt ?? 0;
  if (now - sentAt >= TYPING_REPEAT_MS) {
    client.realtime.typing(roomId, true);
    sentAt = now;
  }
  clearTimeout(ownTyping?.idle);
  ownTyping = { roomId, sentAt, idle: setTimeout(stopOwnTyping, TYPING_IDLE_MS) };
});

function stopOwnTyping(): void {
  if (!ownTyping) return;
  clearTimeout(ownTyping.idle);
  client.realtime.typing(ownTyping.roomId, false);
  ownTyping = null;
}

function setTyping(userId: string, active: boolean): void {
  clearTimeout(typists.get(userId));
  typists.delete(userId);
  if (active) {
    typists.set(userId, setTimeout(() => setTyping(userId, false), TYPING_SHOWN_MS));
    if (!names.has(userId)) void act(null, () => learnName(userId));
  }
  renderTypists();
}

function clearTypists(): void {
  for (const timer of typists.values()) clearTimeout(timer);
  typists.clear();
  renderTypists();
}

function renderTypists(): void {
  const who = [...typists.keys()].map((userId) => names.get(userId) ?? "someone");
  ui.typing.textContent = who.length === 0 ? "" : `${who.join(", ")} ${who.length === 1 ? "is" : "are"} typing…`;
}

async function learnName(userId: string): Promise<void> {
  names.set(userId, nameOf(await client.api.users.get.query({ userId })));
  renderTypists();
}

// ---- small pieces -----------------------------------------------------------------------------------------

function element<T extends HTMLElement>(testId: string): T {
  const found = document.querySelector<T>(`[data-testid="${testId}"]`);
  if (!found) throw new Error(`index.html has no [data-testid="${testId}"]`);
  return found;
}

function field(form: HTMLFormElement, name: string): string {
  const value = new FormData(form).get(name);
  return typeof value === "string" ? value : "";
}

function nameOf(user: UserPublic): string {
  return user.displayName || user.username;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function showError(message: string): void {
  ui.error.textContent = message;
}

/**
 * Runs an action — a user's (with its event) or a background one — so that a failure is shown on the page instead
 * of becoming an unhandled rejection. A user's action also clears the last error, and its form does not navigate.
 */
async function act(event: Event | null, action: () => Promise<void>): Promise<void> {
  if (event) {
    event.preventDefault();
    showError("");
  }
  try {
    await action();
  } catch (error) {
    showError(describe(error));
  }
}

// A reload keeps you signed in: the HttpOnly refresh cookie is exchanged for a new access token.
void act(null, async () => {
  try {
    if (await client.restore()) return signedIn(await client.api.auth.me.query());
  } catch (error) {
    signedOut();
    throw error;
  }
  signedOut();
});
