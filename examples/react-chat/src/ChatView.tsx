import type { RealtimeState, UserProfile } from "@parley/client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, useSyncExternalStore } from "react";
import { fieldsOf } from "./AuthView.tsx";
import { parley } from "./parley.ts";
import { RoomView } from "./RoomView.tsx";
import { useTRPC } from "./trpc.ts";

/** Rooms on the left (with unread counts), the open room on the right; the open room is kept in the URL's #hash. */
export function ChatView({ me, onLogout }: { me: UserProfile; onLogout: () => void }) {
  const [roomId, setRoomId] = useState(() => decodeURIComponent(location.hash.slice(1)));
  useEffect(() => {
    history.replaceState(null, "", roomId ? `#${encodeURIComponent(roomId)}` : location.pathname + location.search);
  }, [roomId]);

  return (
    <div className="chat" data-testid="chat-view">
      <header>
        <h1>Parley</h1>
        <ConnectionState />
        <span className="spacer" />
        <bdi data-testid="current-user">{me.username}</bdi>
        <button type="button" onClick={onLogout} data-testid="logout">
          Log out
        </button>
      </header>
      <nav>
        <RoomList openRoomId={roomId} onOpen={setRoomId} />
        <NewRoom onOpen={setRoomId} />
      </nav>
      {roomId ? <RoomView key={roomId} roomId={roomId} me={me} /> : <main className="empty">Open or create a room.</main>}
    </div>
  );
}

function ConnectionState() {
  const state: RealtimeState = useSyncExternalStore(
    (changed) => parley.realtime.on("state", changed),
    () => parley.realtime.state,
  );
  return (
    <span className="badge" data-testid="connection-state" data-state={state}>
      {state}
    </span>
  );
}

function RoomList({ openRoomId, onOpen }: { openRoomId: string; onOpen: (roomId: string) => void }) {
  const trpc = useTRPC();
  // Kept current by the cache bridge (last message, unread count, order): never stale, never polled.
  const rooms = useQuery(trpc.rooms.list.queryOptions(undefined, { staleTime: Infinity }));
  return (
    <ul className="rooms" data-testid="room-list">
      {rooms.data?.map((room) => (
        <li key={room.id} data-testid="room-item" data-room-id={room.id} data-unread={room.unread}>
          <button type="button" aria-current={room.id === openRoomId} onClick={() => onOpen(room.id)}>
            <bdi className="room-name">{room.name || room.peer?.username}</bdi>
            {room.unread > 0 && (
              <span className="count" data-testid="unread-count">
                {room.unread}
              </span>
            )}
            <small dir="auto" data-testid="last-message">
              {room.lastMessage ? `${room.lastMessage.sender.username}: ${room.lastMessage.body}` : ""}
            </small>
          </button>
        </li>
      ))}
    </ul>
  );
}

/** Create a public room, or join one by the id someone shared. */
function NewRoom({ onOpen }: { onOpen: (roomId: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const opened = async (room: { id: string }): Promise<void> => {
    await queryClient.invalidateQueries(trpc.rooms.list.queryFilter());
    onOpen(room.id);
  };
  const create = useMutation(trpc.rooms.create.mutationOptions({ onSuccess: opened }));
  const join = useMutation(trpc.rooms.join.mutationOptions({ onSuccess: opened }));
  const error = create.error ?? join.error;

  return (
    <div className="new-room">
      <form
        onSubmit={(event) => {
          const form = fieldsOf(event);
          create.mutate({ name: form.get("name"), kind: "public" });
          event.currentTarget.reset();
        }}
      >
        <input name="name" placeholder="new room" required data-testid="create-room-name" />
        <button type="submit" data-testid="create-room-submit">
          Create
        </button>
      </form>
      <form
        onSubmit={(event) => {
          const form = fieldsOf(event);
          join.mutate({ roomId: form.get("roomId").trim() });
          event.currentTarget.reset();
        }}
      >
        <input name="roomId" placeholder="room id to join" required data-testid="join-room-id" />
        <button type="submit" data-testid="join-room-submit">
          Join
        </button>
      </form>
      <p className="notice" role="alert">
        {error?.message}
      </p>
    </div>
  );
}
