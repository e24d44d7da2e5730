import type { MyRoom, PresenceStatus, RealtimeState, UserProfile } from "@parley/client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, useSyncExternalStore } from "react";
import { AccountView } from "./AccountView.tsx";
import { fieldsOf } from "./App.tsx";
import { inviteTokenIn, JoinByLink, useInviteToken } from "./InviteLinks.tsx";
import { RemovalNotice, useRemoval } from "./Moderation.tsx";
import { SearchPanel } from "./Panels.tsx";
import { parley } from "./parley.ts";
import { usePresence } from "./presence.ts";
import { type JumpRequest, RoomView } from "./RoomView.tsx";
import { roomTitle } from "./timeline.ts";
import { useTRPC } from "./trpc.ts";

/** What the badge says for each state of the SDK's connection. */
export const CONNECTION_LABELS: Record<RealtimeState, string> = {
  idle: "connecting",
  connecting: "connecting",
  open: "online",
  reconnecting: "reconnecting",
  closed: "offline",
};

/** The narrow layout's breakpoint (style.css). */
const NARROW = "(max-width: 700px)";

/** Rooms on the side, the open room beside them (on a narrow screen one or the other); the open room is the URL's #hash. */
export function ChatView({ me, onLogout, onDeleted }: { me: UserProfile; onLogout: () => void; onDeleted: () => void }) {
  const [joinToken, forgetJoinToken] = useInviteToken();
  const [roomId, setRoomId] = useState(() => (inviteTokenIn(location.hash) ? "" : decodeURIComponent(location.hash.slice(1))));
  const { removal, dismiss } = useRemoval();
  const [account, setAccount] = useState(false);
  useEffect(() => setAccount(false), [roomId]); // opening a room puts the account screen away
  const [searching, setSearching] = useState(false);
  const [jumpTo, setJumpTo] = useState<JumpRequest | null>(null);
  useEffect(() => {
    if (joinToken) return; // the join screen keeps its address: a reload stays on it
    history.replaceState(null, "", roomId ? `#${encodeURIComponent(roomId)}` : location.pathname + location.search);
  }, [roomId, joinToken]);

  return (
    <div className="chat" data-testid="chat-view" data-room-open={roomId || account ? "true" : "false"} data-searching={searching ? "true" : "false"}>
      <header className="topbar">
        <h1>Parley</h1>
        <ConnectionState />
        <span className="spacer" />
        <button type="button" aria-pressed={searching} onClick={() => setSearching((shown) => !shown)} data-testid="toggle-search">
          Search
        </button>
        <bdi className="me" data-testid="current-user" title={me.displayName}>
          {me.username}
        </bdi>
        <button type="button" aria-pressed={account} onClick={() => setAccount((shown) => !shown)} data-testid="open-account">
          Account
        </button>
        <button type="button" onClick={onLogout} data-testid="logout">
          Sign out
        </button>
      </header>
      <nav className="sidebar" aria-label="Rooms">
        {searching && (
          <SearchPanel
            onOpen={(message) => {
              setRoomId(message.roomId);
              setJumpTo({ roomId: message.roomId, seq: message.seq, threadRootId: message.alsoInRoom ? null : message.threadRootId });
              // On a narrow screen the results stand where the room would be: make way for it.
              if (matchMedia(NARROW).matches) setSearching(false);
            }}
            onClose={() => setSearching(false)}
          />
        )}
        <Invitations onOpen={setRoomId} />
        <RoomList openRoomId={roomId} onOpen={(id) => (setRoomId(id), setAccount(false))} />
        <NewRoom onOpen={setRoomId} />
        <NewConversation onOpen={setRoomId} />
        <Discover onOpen={setRoomId} />
      </nav>
      {account ? (
        <AccountView onClose={() => setAccount(false)} onDeleted={onDeleted} />
      ) : joinToken ? (
        <JoinByLink token={joinToken} onJoined={(id) => (forgetJoinToken(), setRoomId(id))} onCancel={forgetJoinToken} />
      ) : removal && removal.roomId === roomId ? (
        <RemovalNotice removal={removal} onClose={() => (dismiss(), setRoomId(""))} />
      ) : roomId ? (
        <RoomView key={roomId} roomId={roomId} me={me} jumpTo={jumpTo?.roomId === roomId ? jumpTo : null} onClose={() => setRoomId("")} />
      ) : (
        <main className="empty" data-testid="no-room">
          <p>Open a room, or create or join one.</p>
        </main>
      )}
    </div>
  );
}

function ConnectionState() {
  const state: RealtimeState = useSyncExternalStore(
    (changed) => parley.realtime.on("state", changed),
    () => parley.realtime.state,
  );
  const nextAttemptAt = useSyncExternalStore(
    (changed) => {
      const offRetry = parley.realtime.on("retry", changed);
      const offState = parley.realtime.on("state", changed);
      return () => (offRetry(), offState());
    },
    () => parley.realtime.nextAttemptAt,
  );
  const seconds = useCountdown(state === "reconnecting" ? nextAttemptAt : null);
  const label = seconds === null ? CONNECTION_LABELS[state] : `reconnecting in ${seconds} s`;
  return (
    <span className="connection-area">
      <span className="badge connection" role="status" aria-label={`Connection: ${label}`} data-testid="connection-state" data-state={CONNECTION_LABELS[state]}>
        {label}
      </span>
      {seconds !== null && (
        <button type="button" className="link-button" onClick={() => parley.realtime.reconnectNow()}>
          Retry now
        </button>
      )}
    </span>
  );
}

/** Whole seconds until `at` (epoch ms), ticking; null when there is nothing to count down to. */
function useCountdown(at: number | null): number | null {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (at === null) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [at]);
  return at === null ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

function RoomList({ openRoomId, onOpen }: { openRoomId: string; onOpen: (roomId: string) => void }) {
  const trpc = useTRPC();
  // Kept current by the cache bridge (last message, unread and mention counts, order): never stale, never polled.
  const rooms = useQuery(trpc.rooms.list.queryOptions(undefined, { staleTime: Infinity }));
  const statusOf = usePresence(rooms.data?.flatMap((room) => (room.kind === "direct" && room.peer ? [room.peer.id] : [])) ?? []);
  return (
    <section aria-labelledby="rooms-heading">
      <h2 id="rooms-heading">Rooms</h2>
      {rooms.data?.length === 0 && <p className="hint">No rooms yet.</p>}
      <ul className="rooms" data-testid="room-list">
        {rooms.data?.map((room) => (
          <RoomItem key={room.id} room={room} open={room.id === openRoomId} onOpen={onOpen} presence={room.kind === "direct" && room.peer ? statusOf(room.peer.id) : null} />
        ))}
      </ul>
    </section>
  );
}

function RoomItem({ room, open, onOpen, presence }: { room: MyRoom; open: boolean; onOpen: (roomId: string) => void; presence: PresenceStatus | null }) {
  const last = room.lastMessage;
  const preview = !last ? "" : last.deletedAt ? "Message deleted" : last.senderBlocked ? "Message from someone you blocked" : last.body || (last.attachments.length ? "Attachment" : "");
  return (
    <li data-testid="room-item" data-room-id={room.id} data-unread={room.unread} data-kind={room.kind}>
      {/* No aria-label: the name a screen reader says is the visible text, counts spelled out (WCAG 2.5.3). */}
      <button type="button" aria-current={open ? "page" : undefined} onClick={() => onOpen(room.id)}>
        <span className="room-line">
          {presence ? (
            <span className={`kind dot dot-${presence}`} role="img" aria-label={presence} data-testid="peer-presence" data-presence={presence} />
          ) : (
            <span className={`kind kind-${room.kind}`} aria-hidden="true">
              {room.kind === "group" ? "+" : room.kind === "private" ? "*" : room.kind === "direct" ? "@" : "#"}
            </span>
          )}
          <bdi className="room-name">{roomTitle(room)}</bdi>
          {room.unreadMentions > 0 && (
            <span className="count mention" data-testid="mention-count">
              @{room.unreadMentions}
              <span className="visually-hidden"> mentioning you</span>
            </span>
          )}
          {room.unread > 0 && (
            <span className="count" data-testid="unread-count">
              {room.unread}
              <span className="visually-hidden"> unread</span>
            </span>
          )}
        </span>
        <small className="preview" data-testid="last-message">
          {last && (
            <>
              <bdi>{last.sender.displayName || last.sender.username}</bdi>: <span dir="auto">{preview}</span>
            </>
          )}
        </small>
      </button>
    </li>
  );
}

function Invitations({ onOpen }: { onOpen: (roomId: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const invitations = useQuery(trpc.rooms.invitations.queryOptions(undefined, { staleTime: Infinity }));
  const refresh = async (): Promise<void> => {
    await Promise.all([queryClient.invalidateQueries(trpc.rooms.invitations.queryFilter()), queryClient.invalidateQueries(trpc.rooms.list.queryFilter())]);
  };
  const accept = useMutation(trpc.rooms.acceptInvite.mutationOptions({ onSuccess: async (room) => { await refresh(); onOpen(room.id); } }));
  const decline = useMutation(trpc.rooms.declineInvite.mutationOptions({ onSuccess: refresh }));
  if (!invitations.data?.length) return null;
  return (
    <section aria-labelledby="invitations-heading" className="invitations" data-testid="invitations">
      <h2 id="invitations-heading">Invitations</h2>
      <ul>
        {invitations.data.map((invitation) => (
          <li key={invitation.id} data-testid="invitation">
            <span>
              <bdi>{invitation.inviter ? invitation.inviter.displayName || invitation.inviter.username : "Someone"}</bdi> invited you to{" "}
              <bdi>{invitation.room.name || "a group"}</bdi>
            </span>
            <span className="actions">
              <button type="button" onClick={() => accept.mutate({ invitationId: invitation.id })} data-testid="invitation-accept">
                Accept
              </button>
              <button type="button" onClick={() => decline.mutate({ invitationId: invitation.id })} data-testid="invitation-decline">
                Decline
              </button>
            </span>
          </li>
        ))}
      </ul>
      <p className="notice" role="alert">
        {(accept.error ?? decline.error)?.message}
      </p>
    </section>
  );
}

/** Create a public or private room. */
function NewRoom({ onOpen }: { onOpen: (roomId: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(
    trpc.rooms.create.mutationOptions({
      onSuccess: async (room) => {
        await queryClient.invalidateQueries(trpc.rooms.list.queryFilter());
        onOpen(room.id);
      },
    }),
  );
  return (
    <section aria-labelledby="new-room-heading" className="new-room">
      <h2 id="new-room-heading">New room</h2>
      <form
        onSubmit={(event) => {
          const form = fieldsOf(event);
          create.mutate({ name: form.get("name").trim(), kind: form.get("kind") === "private" ? "private" : "public" });
          event.currentTarget.reset();
        }}
      >
        <label className="grow">
          <span className="visually-hidden">Room name</span>
          <input name="name" placeholder="Room name" maxLength={80} required data-testid="create-room-name" />
        </label>
        <label>
          <span className="visually-hidden">Visibility</span>
          <select name="kind" data-testid="create-room-kind">
            <option value="public">Public</option>
            <option value="private">Private</option>
          </select>
        </label>
        <button type="submit" disabled={create.isPending} data-testid="create-room-submit">
          Create
        </button>
      </form>
      <p className="notice" role="alert">
        {create.error?.message}
      </p>
    </section>
  );
}

/** A direct message with someone found by name (rooms.openDirect), or a group of several (rooms.createGroup). */
function NewConversation({ onOpen }: { onOpen: (roomId: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [query, setQuery] = useState("");
  const [picked, setPicked] = useState<ReadonlyMap<string, string>>(new Map());
  const found = useQuery(trpc.users.search.queryOptions({ query, limit: 10 }, { enabled: query.length > 0 }));
  const opened = async (room: { id: string }): Promise<void> => {
    await queryClient.invalidateQueries(trpc.rooms.list.queryFilter());
    setPicked(new Map());
    onOpen(room.id);
  };
  const direct = useMutation(trpc.rooms.openDirect.mutationOptions({ onSuccess: opened }));
  const group = useMutation(trpc.rooms.createGroup.mutationOptions({ onSuccess: opened }));
  const toggle = (id: string, name: string): void =>
    setPicked((current) => {
      const next = new Map(current);
      if (next.has(id)) next.delete(id);
      else next.set(id, name);
      return next;
    });
  return (
    <section aria-labelledby="people-heading" className="people">
      <h2 id="people-heading">People</h2>
      <form role="search" onSubmit={(event) => setQuery(fieldsOf(event).get("query").trim())}>
        <label className="grow">
          <span className="visually-hidden">Find people by name</span>
          <input name="query" type="search" placeholder="Find people" maxLength={64} data-testid="people-query" />
        </label>
        <button type="submit" aria-label="Find people" data-testid="people-submit">
          Find
        </button>
      </form>
      {found.data && (
        <ul className="discovered" data-testid="people-results">
          {found.data.length === 0 && <li className="hint">Nobody found.</li>}
          {found.data.map((user) => {
            const name = user.displayName || user.username;
            return (
              <li key={user.id} data-testid="person" data-user-id={user.id}>
                <label className="grow">
                  <input type="checkbox" checked={picked.has(user.id)} onChange={() => toggle(user.id, name)} aria-label={`Add ${name} to a new group`} />
                  <bdi className="room-name">{name}</bdi>
                </label>
                <button type="button" onClick={() => direct.mutate({ userId: user.id })} aria-label={`Message ${name}`} data-testid="person-message">
                  Message
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {picked.size > 0 && (
        <form
          onSubmit={(event) => {
            const name = fieldsOf(event).get("name").trim();
            group.mutate({ userIds: [...picked.keys()], ...(name ? { name } : {}) });
          }}
        >
          <label className="grow">
            <span className="visually-hidden">Group name (optional)</span>
            <input name="name" placeholder="Group name (optional)" maxLength={80} />
          </label>
          <button type="submit" disabled={picked.size < 2} title={picked.size < 2 ? "Pick two people or more" : undefined} data-testid="create-group">
            Group of {picked.size + 1}
          </button>
        </form>
      )}
      <p className="notice" role="alert">
        {(found.error ?? direct.error ?? group.error)?.message}
      </p>
    </section>
  );
}

/** Public rooms by name (rooms.discover), to join. */
function Discover({ onOpen }: { onOpen: (roomId: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [query, setQuery] = useState<string | null>(null);
  const found = useQuery(trpc.rooms.discover.queryOptions(query ? { query } : {}, { enabled: query !== null }));
  const mine = useQuery(trpc.rooms.list.queryOptions(undefined, { staleTime: Infinity, select: (rooms) => new Set(rooms.map((room) => room.id)) }));
  const join = useMutation(
    trpc.rooms.join.mutationOptions({
      onSuccess: async (room) => {
        await queryClient.invalidateQueries(trpc.rooms.list.queryFilter());
        onOpen(room.id);
      },
    }),
  );
  return (
    <section aria-labelledby="discover-heading" className="discover">
      <h2 id="discover-heading">Public rooms</h2>
      <form
        role="search"
        onSubmit={(event) => {
          setQuery(fieldsOf(event).get("query").trim());
        }}
      >
        <label className="grow">
          <span className="visually-hidden">Find public rooms by name</span>
          <input name="query" type="search" placeholder="Find public rooms" maxLength={80} data-testid="discover-query" />
        </label>
        <button type="submit" aria-label="Find rooms" data-testid="discover-submit">
          Find
        </button>
      </form>
      {found.data && (
        <ul className="discovered" data-testid="discover-results">
          {found.data.items.length === 0 && <li className="hint">No public rooms found.</li>}
          {found.data.items.map((room) => (
            <li key={room.id} data-testid="discovered-room" data-room-id={room.id}>
              <bdi className="room-name">{room.name}</bdi>
              {room.description && <small dir="auto">{room.description}</small>}
              {mine.data?.has(room.id) ? (
                <button type="button" onClick={() => onOpen(room.id)}>
                  Open
                </button>
              ) : (
                <button type="button" onClick={() => join.mutate({ roomId: room.id })} data-testid="discover-join" aria-label={`Join ${room.name}`}>
                  Join
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <p className="notice" role="alert">
        {(found.error ?? join.error)?.message}
      </p>
    </section>
  );
}
