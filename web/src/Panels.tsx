import type { MemberRole, Message } from "@parley/client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { fieldsOf } from "./App.tsx";
import { MemberActions, RoomTools, useMyRole } from "./Moderation.tsx";
import { parley, trpcClient } from "./parley.ts";
import { usePresence } from "./presence.ts";
import { highlightParts } from "./timeline.ts";
import { useTRPC } from "./trpc.ts";

const ROLE_ORDER: Record<MemberRole, number> = { owner: 0, admin: 1, moderator: 2, member: 3 };

/**
 * The room's members (first 200) by role, each with a presence dot: presence.get for the people listed, then the
 * room's `presence` events in place; joins, leaves and role changes re-read the list.
 */
export function MembersPanel({ roomId }: { roomId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const members = useQuery(trpc.rooms.members.queryOptions({ roomId, limit: 200 }, { staleTime: Infinity }));
  const statusOf = usePresence(members.data?.items.map((member) => member.user.id) ?? []);
  const myRole = useMyRole(roomId);
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: Infinity }));

  useEffect(() => {
    const reread = (event: { roomId: string }): void => {
      if (event.roomId === roomId) void queryClient.invalidateQueries(trpc.rooms.members.queryFilter({ roomId, limit: 200 }));
    };
    const offs = [parley.realtime.on("member.joined", reread), parley.realtime.on("member.left", reread), parley.realtime.on("member.role", reread)];
    return () => offs.forEach((off) => off());
  }, [roomId, queryClient, trpc]);

  const sorted = [...(members.data?.items ?? [])].sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.user.username.localeCompare(b.user.username));
  return (
    <aside className="panel members" aria-labelledby="members-heading" data-testid="members-panel">
      <h3 id="members-heading">Members{members.data ? ` (${members.data.items.length}${members.data.nextCursor ? "+" : ""})` : ""}</h3>
      <ul>
        {sorted.map((member) => {
          const status = statusOf(member.user.id);
          return (
            <li key={member.user.id} data-testid="member" data-user-id={member.user.id} data-presence={status}>
              <span className={`dot dot-${status}`} role="img" aria-label={status} />
              <bdi className="member-name">{member.user.displayName || member.user.username}</bdi>
              {member.role !== "member" && <span className="role">{member.role}</span>}
              {myRole && me.data && <MemberActions roomId={roomId} member={member} myRole={myRole} meId={me.data.id} />}
            </li>
          );
        })}
      </ul>
      <InviteForm roomId={roomId} />
      <RoomTools roomId={roomId} />
      <p className="notice" role="alert">
        {members.error?.message}
      </p>
    </aside>
  );
}

/** Search across my rooms (messages.search); a result opens its room at the message. */
export function SearchPanel({ onOpen, onClose }: { onOpen: (message: Message) => void; onClose: () => void }) {
  const trpc = useTRPC();
  const [query, setQuery] = useState("");
  const [has, setHas] = useState<"" | "link" | "attachment">("");
  const results = useQuery(trpc.messages.search.queryOptions({ query, ...(has ? { has } : {}) }, { enabled: query.length > 0 }));
  const rooms = useQuery(trpc.rooms.list.queryOptions(undefined, { staleTime: Infinity }));
  const roomName = (roomId: string): string => rooms.data?.find((room) => room.id === roomId)?.name ?? "";
  return (
    <section className="panel search" aria-labelledby="search-heading" data-testid="search-panel">
      <div className="panel-head">
        <h3 id="search-heading">Search messages</h3>
        <button type="button" onClick={onClose} aria-label="Close search">
          ✕
        </button>
      </div>
      <form
        role="search"
        onSubmit={(event) => {
          const form = fieldsOf(event);
          setQuery(form.get("query").trim());
          const kind = form.get("has");
          setHas(kind === "link" || kind === "attachment" ? kind : "");
        }}
      >
        <label className="grow">
          <span className="visually-hidden">Search text</span>
          <input name="query" type="search" maxLength={200} placeholder="Search" required data-testid="search-query" />
        </label>
        <label>
          <span className="visually-hidden">Only messages with</span>
          <select name="has" defaultValue="">
            <option value="">Any</option>
            <option value="link">With a link</option>
            <option value="attachment">With a file</option>
          </select>
        </label>
        <button type="submit" data-testid="search-submit">
          Search
        </button>
      </form>
      {results.data && (
        <ol className="hits" data-testid="search-results">
          {results.data.hits.length === 0 && <li className="hint">Nothing found.</li>}
          {results.data.hits.map((hit) => (
            <li key={hit.message.id} data-testid="search-hit">
              <button type="button" onClick={() => onOpen(hit.message)}>
                <span className="meta">
                  <bdi className="sender">{hit.message.sender.displayName || hit.message.sender.username}</bdi> in{" "}
                  <bdi>{roomName(hit.message.roomId) || "a room"}</bdi>
                  <time dateTime={hit.message.createdAt}>{new Date(hit.message.createdAt).toLocaleString()}</time>
                </span>
                <span className="body" dir="auto">
                  {highlightParts(hit.snippet.text, hit.snippet.highlights).map((part, index) =>
                    part.hit ? <mark key={index}>{part.text}</mark> : <span key={index}>{part.text}</span>,
                  )}
                </span>
              </button>
            </li>
          ))}
        </ol>
      )}
      <p className="notice" role="alert">
        {results.error?.message}
      </p>
    </section>
  );
}

/** Invite someone by username (users.search for the exact name, then rooms.invite): they accept or decline. */
function InviteForm({ roomId }: { roomId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [done, setDone] = useState("");
  const invite = useMutation({
    mutationFn: async (username: string) => {
      const found = await queryClient.fetchQuery(trpc.users.search.queryOptions({ query: username, limit: 20 }));
      const user = found.find((candidate) => candidate.username.toLowerCase() === username.toLowerCase());
      if (!user) throw new Error(`nobody is called ${username}`);
      await trpcClient.rooms.invite.mutate({ roomId, userId: user.id });
      return { user };
    },
    onSuccess: ({ user }) => setDone(`Invited ${user.displayName || user.username}.`),
  });
  return (
    <form
      className="invite"
      onSubmit={(event) => {
        setDone("");
        invite.mutate(fieldsOf(event).get("username").trim());
        event.currentTarget.reset();
      }}
    >
      <label className="grow">
        <span className="visually-hidden">Username to invite</span>
        <input name="username" placeholder="Invite by username" maxLength={64} required data-testid="invite-username" />
      </label>
      <button type="submit" disabled={invite.isPending} data-testid="invite-submit">
        Invite
      </button>
      <p className="hint" role="status">
        {done}
      </p>
      <p className="notice" role="alert">
        {invite.error?.message}
      </p>
    </form>
  );
}
