import type { CreatedInviteLink } from "@parley/client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { fieldsOf } from "./App.tsx";
import { nameOf } from "./audit-text.ts";
import { parley } from "./parley.ts";
import { formatDuration } from "./roles.ts";
import { useTRPC } from "./trpc.ts";

/** How long a new link lasts: the server allows 5 minutes to 30 days. */
const EXPIRIES = [1800, 3600, 86_400, 7 * 86_400, 30 * 86_400];
const JOIN_PREFIX = "#join=";

/** The address that opens the app on a link's join screen: the token rides in the fragment, never sent to a server log. */
export function inviteUrl(token: string): string {
  return `${location.origin}/${JOIN_PREFIX}${token}`;
}

/** The invite token in a `#join=<token>` address, or null. */
export function inviteTokenIn(hash: string): string | null {
  return hash.startsWith(JOIN_PREFIX) ? decodeURIComponent(hash.slice(JOIN_PREFIX.length)) : null;
}

/**
 * The invite token the address carries, from the start or from a link opened while the app is (a new fragment
 * does not reload the page); the second function forgets it.
 */
export function useInviteToken(): [string | null, () => void] {
  const [token, setToken] = useState(() => inviteTokenIn(location.hash));
  useEffect(() => {
    const changed = (): void => {
      const next = inviteTokenIn(location.hash);
      if (next) setToken(next);
    };
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return [token, () => setToken(null)];
}

/** A private room's or group's invite links: make one (expiry, uses), copy it once, see them all, revoke. */
export function InviteLinks({ roomId }: { roomId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const links = useQuery(trpc.rooms.inviteLinks.queryOptions({ roomId }));
  const [created, setCreated] = useState<CreatedInviteLink | null>(null);
  const [copied, setCopied] = useState(false);
  const changed = (): Promise<void> => queryClient.invalidateQueries(trpc.rooms.inviteLinks.queryFilter({ roomId }));
  const create = useMutation(
    trpc.rooms.createInviteLink.mutationOptions({
      onSuccess: async (link) => {
        setCreated(link);
        setCopied(false);
        await changed();
      },
    }),
  );
  const revoke = useMutation(trpc.rooms.revokeInviteLink.mutationOptions({ onSuccess: changed }));
  // A join may have used a link: its count of uses is read again (links themselves raise no events).
  useEffect(
    () =>
      parley.realtime.on("member.joined", (event) => {
        if (event.roomId === roomId) void queryClient.invalidateQueries(trpc.rooms.inviteLinks.queryFilter({ roomId }));
      }),
    [roomId, queryClient, trpc],
  );
  const now = Date.now();
  return (
    <section className="tool" aria-labelledby="links-heading" data-testid="invite-links">
      <h4 id="links-heading">Invite links</h4>
      <form
        className="inline-form"
        onSubmit={(event) => {
          const form = fieldsOf(event);
          const maxUses = Number(form.get("maxUses"));
          create.mutate({ roomId, expiresInSeconds: Number(form.get("expiry")), ...(maxUses ? { maxUses } : {}) });
        }}
      >
        <label>
          Expires after
          <select name="expiry" defaultValue={7 * 86_400} data-testid="link-expiry">
            {EXPIRIES.map((seconds) => (
              <option key={seconds} value={seconds}>
                {formatDuration(seconds)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Uses (empty: any)
          <input name="maxUses" type="number" min={1} max={1000} data-testid="link-max-uses" />
        </label>
        <button type="submit" disabled={create.isPending} data-testid="link-create">
          Create link
        </button>
      </form>
      {created && (
        <div className="created-link" data-testid="created-link">
          <label className="grow">
            New link (shown once)
            <input readOnly value={inviteUrl(created.token)} onFocus={(event) => event.currentTarget.select()} data-testid="created-link-url" />
          </label>
          <button
            type="button"
            onClick={() => navigator.clipboard.writeText(inviteUrl(created.token)).then(() => setCopied(true), () => setCopied(false))}
            data-testid="created-link-copy"
          >
            {copied ? "Copied" : "Copy"}
          </button>
        </div>
      )}
      {links.data?.length === 0 && <p className="hint">No links yet.</p>}
      <ul className="links">
        {links.data?.map((link) => {
          const state = link.revokedAt ? "revoked" : Date.parse(link.expiresAt) <= now ? "expired" : link.maxUses !== null && link.uses >= link.maxUses ? "used up" : "active";
          return (
            <li key={link.id} data-testid="invite-link" data-state={state}>
              <span className="grow">
                By <bdi>{nameOf(link.createdBy)}</bdi>, {link.uses}
                {link.maxUses !== null ? ` of ${link.maxUses}` : ""} {link.uses === 1 ? "use" : "uses"},{" "}
                {state === "active" ? `expires ${new Date(link.expiresAt).toLocaleString()}` : state}
              </span>
              {state === "active" && (
                <button type="button" onClick={() => revoke.mutate({ linkId: link.id })} data-testid="invite-link-revoke">
                  Revoke
                </button>
              )}
            </li>
          );
        })}
      </ul>
      <p className="notice" role="alert">
        {(links.error ?? create.error ?? revoke.error)?.message}
      </p>
    </section>
  );
}

/**
 * Opened from an invite link (`/#join=<token>`), signed in (a signed-out visitor signs in first: the address keeps
 * the token): where it leads (rooms.inviteLinkRoom), then a Join button; a link that admits nobody says so.
 */
export function JoinByLink({ token, onJoined, onCancel }: { token: string; onJoined: (roomId: string) => void; onCancel: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const linked = useQuery(trpc.rooms.inviteLinkRoom.queryOptions({ token }, { staleTime: Infinity, retry: false }));
  const join = useMutation(
    trpc.rooms.joinByLink.mutationOptions({
      onSuccess: async (room) => {
        await queryClient.invalidateQueries(trpc.rooms.list.queryFilter());
        onJoined(room.id);
      },
    }),
  );
  return (
    <main className="empty join-link" data-testid="join-by-link" aria-labelledby="join-heading">
      <h2 id="join-heading">
        {linked.data ? (
          <>
            You are invited to <bdi data-testid="join-by-link-room">{linked.data.name || "a group"}</bdi>
          </>
        ) : (
          "An invite link"
        )}
      </h2>
      {linked.data && (
        <p className="hint">
          {linked.data.kind === "group" ? "A group" : "A private room"} with {linked.data.memberCount} {linked.data.memberCount === 1 ? "member" : "members"}
          {linked.data.member ? ", and you are one of them." : "."}
        </p>
      )}
      <span className="actions">
        {linked.data && (
          <button type="button" className="primary" onClick={() => join.mutate({ token })} disabled={join.isPending} data-testid="join-by-link-submit" autoFocus>
            {linked.data.member ? "Open it" : "Join"}
          </button>
        )}
        <button type="button" onClick={onCancel}>
          Not now
        </button>
      </span>
      <p className="notice" role="alert" data-testid="join-by-link-error">
        {(linked.error ?? join.error)?.message}
      </p>
    </main>
  );
}
