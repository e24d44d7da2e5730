import type { MemberRole, RoomMember, RoomRestriction } from "@parley/client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type KeyboardEvent, useEffect, useState } from "react";
import { fieldsOf } from "./App.tsx";
import { nameOf } from "./audit-text.ts";
import { InviteLinks } from "./InviteLinks.tsx";
import { parley } from "./parley.ts";
import { ReportButton, ReportsQueue } from "./Reports.tsx";
import { formatDuration, grantableRoles, may, outranks } from "./roles.ts";
import { AuditLog, RoomSettings } from "./RoomSettings.tsx";
import { useTRPC } from "./trpc.ts";

/** How long a mute or ban may be picked to last ("" : until lifted). */
const DURATIONS = [600, 3600, 86_400, 7 * 86_400];

/** My role in the room, as `rooms.list` holds it (the cache bridge follows my `member.role`). */
export function useMyRole(roomId: string): MemberRole | undefined {
  const trpc = useTRPC();
  const listed = useQuery(trpc.rooms.list.queryOptions(undefined, { staleTime: Infinity, select: (rooms) => rooms.find((room) => room.id === roomId) }));
  return listed.data?.role;
}

/** A `<details>` menu closes with Escape, its summary focused again. */
export function closeOnEscape(event: KeyboardEvent<HTMLDetailsElement>): void {
  if (event.key !== "Escape" || !event.currentTarget.open) return;
  event.currentTarget.open = false;
  event.currentTarget.querySelector("summary")?.focus();
}

/**
 * What I may do to one member, by my role and theirs (roles.ts): give a role, hand over the room, mute or unmute,
 * remove, ban with a reason and a duration; anyone may report someone else. The server decides; its refusal shows.
 */
export function MemberActions({ roomId, member, myRole, meId }: { roomId: string; member: RoomMember; myRole: MemberRole; meId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const name = nameOf(member.user);
  const mutes = useQuery(trpc.rooms.mutes.queryOptions({ roomId }, { enabled: may(myRole, "mute"), staleTime: 30_000 }));
  const muted = mutes.data?.items.find((mute) => mute.user.id === member.user.id);
  const restrictionsChanged = async (): Promise<void> => {
    await Promise.all([queryClient.invalidateQueries(trpc.rooms.mutes.queryFilter({ roomId })), queryClient.invalidateQueries(trpc.rooms.bans.queryFilter({ roomId }))]);
  };
  const options = { onSuccess: restrictionsChanged };
  const setRole = useMutation(trpc.rooms.setRole.mutationOptions());
  const transfer = useMutation(trpc.rooms.transferOwnership.mutationOptions());
  const kick = useMutation(trpc.rooms.kick.mutationOptions());
  const mute = useMutation(trpc.rooms.mute.mutationOptions(options));
  const unmute = useMutation(trpc.rooms.unmute.mutationOptions(options));
  const ban = useMutation(trpc.rooms.ban.mutationOptions(options));
  const error = setRole.error ?? transfer.error ?? kick.error ?? mute.error ?? unmute.error ?? ban.error;

  const me = member.user.id === meId;
  const above = !me && outranks(myRole, member.role);
  const roles = above && may(myRole, "setRoles") ? grantableRoles(myRole) : [];
  const canRestrict = above && (may(myRole, "kick") || may(myRole, "mute") || may(myRole, "ban"));
  return (
    <>
      {muted && (
        <span className="role muted" data-testid="member-muted" title={muted.expiresAt ? `until ${new Date(muted.expiresAt).toLocaleString()}` : "until unmuted"}>
          muted
        </span>
      )}
      {!me && (
        <details className="member-menu" onKeyDown={closeOnEscape}>
          <summary aria-label={`Actions for ${name}`} data-testid="member-actions">
            ⋯
          </summary>
          <div className="member-menu-body">
            {roles.length > 0 && (
              <label>
                Role
                <select value={member.role} onChange={(event) => setRole.mutate({ roomId, userId: member.user.id, role: event.target.value as MemberRole })} data-testid="member-role">
                  {[...new Set([member.role, ...roles])].map((role) => (
                    <option key={role} value={role}>
                      {role}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {above && may(myRole, "transferOwnership") && member.role !== "owner" && (
              <button
                type="button"
                onClick={() => {
                  if (confirm(`Make ${name} the owner? You become an admin.`)) transfer.mutate({ roomId, userId: member.user.id });
                }}
                data-testid="member-transfer"
              >
                Transfer ownership
              </button>
            )}
            {canRestrict && (
              <form
                className="restrict"
                aria-label={`Restrict ${name}`}
                onSubmit={(event) => {
                  const form = fieldsOf(event);
                  const reason = form.get("reason").trim();
                  const seconds = Number(form.get("duration"));
                  const input = { roomId, userId: member.user.id, ...(reason ? { reason } : {}), ...(seconds ? { durationSeconds: seconds } : {}) };
                  const action = (event.nativeEvent as SubmitEvent).submitter?.getAttribute("value");
                  if (action === "mute") mute.mutate(input);
                  else if (action === "ban") ban.mutate(input);
                  else if (action === "kick") kick.mutate({ roomId, userId: member.user.id });
                }}
              >
                <label>
                  Reason (optional)
                  <input name="reason" maxLength={500} data-testid="restrict-reason" />
                </label>
                <label>
                  For
                  <select name="duration" defaultValue="" data-testid="restrict-duration">
                    <option value="">until lifted</option>
                    {DURATIONS.map((seconds) => (
                      <option key={seconds} value={seconds}>
                        {formatDuration(seconds)}
                      </option>
                    ))}
                  </select>
                </label>
                <span className="actions">
                  {may(myRole, "mute") &&
                    (muted ? (
                      <button type="button" onClick={() => unmute.mutate({ roomId, userId: member.user.id })} data-testid="member-unmute">
                        Unmute
                      </button>
                    ) : (
                      <button type="submit" value="mute" data-testid="member-mute">
                        Mute
                      </button>
                    ))}
                  {may(myRole, "kick") && (
                    <button type="submit" value="kick" data-testid="member-kick">
                      Remove
                    </button>
                  )}
                  {may(myRole, "ban") && (
                    <button type="submit" value="ban" className="danger" data-testid="member-ban">
                      Ban
                    </button>
                  )}
                </span>
              </form>
            )}
            <ReportButton target={{ userId: member.user.id, roomId }} name={name} />
            <p className="notice" role="alert">
              {error?.message}
            </p>
          </div>
        </details>
      )}
    </>
  );
}

type Tool = "settings" | "links" | "restrictions" | "reports" | "audit";

/** The room's tools below its members, each for the roles that may use it: one open at a time. */
export function RoomTools({ roomId }: { roomId: string }) {
  const trpc = useTRPC();
  const myRole = useMyRole(roomId);
  const room = useQuery(trpc.rooms.get.queryOptions({ roomId }, { staleTime: Infinity }));
  const [open, setOpen] = useState<Tool | null>(null);
  const kind = room.data?.kind;
  const linksAllowed = (kind === "private" || kind === "group") && (may(myRole, "invite") || room.data?.settings.membersCanInvite === true);
  const tools: [Tool, string, boolean][] = [
    ["settings", "Settings", may(myRole, "changeSettings") && kind !== "direct"],
    ["links", "Invite links", linksAllowed],
    ["restrictions", "Bans & mutes", may(myRole, "ban") && kind !== "direct"],
    ["reports", "Reports", may(myRole, "handleReports")],
    ["audit", "Audit log", may(myRole, "readAuditLog")],
  ];
  const shown = tools.filter(([, , allowed]) => allowed);
  if (shown.length === 0) return null;
  return (
    <div className="room-tools" data-testid="room-tools">
      <div className="tabs" role="group" aria-label="Room tools">
        {shown.map(([tool, label]) => (
          <button key={tool} type="button" aria-pressed={open === tool} onClick={() => setOpen((current) => (current === tool ? null : tool))} data-testid={`tool-${tool}`}>
            {label}
          </button>
        ))}
      </div>
      <div onKeyDown={(event) => event.key === "Escape" && setOpen(null)}>
        {open === "settings" && <RoomSettings roomId={roomId} />}
        {open === "links" && <InviteLinks roomId={roomId} />}
        {open === "restrictions" && <Restrictions roomId={roomId} />}
        {open === "reports" && <ReportsQueue roomId={roomId} />}
        {open === "audit" && <AuditLog roomId={roomId} />}
      </div>
    </div>
  );
}

/** Bans and mutes in force, each with who imposed it, why, until when, and a way to lift it. */
function Restrictions({ roomId }: { roomId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const bans = useQuery(trpc.rooms.bans.queryOptions({ roomId }));
  const mutes = useQuery(trpc.rooms.mutes.queryOptions({ roomId }));
  const lifted = async (): Promise<void> => {
    await Promise.all([queryClient.invalidateQueries(trpc.rooms.mutes.queryFilter({ roomId })), queryClient.invalidateQueries(trpc.rooms.bans.queryFilter({ roomId }))]);
  };
  const unban = useMutation(trpc.rooms.unban.mutationOptions({ onSuccess: lifted }));
  const unmute = useMutation(trpc.rooms.unmute.mutationOptions({ onSuccess: lifted }));
  const list = (title: string, testId: string, items: RoomRestriction[] | undefined, lift: (userId: string) => void, liftLabel: string) => (
    <section aria-label={title} data-testid={testId}>
      <h4>{title}</h4>
      {items?.length === 0 && <p className="hint">None.</p>}
      <ul className="restrictions">
        {items?.map((item) => (
          <li key={item.user.id} data-testid="restriction" data-user-id={item.user.id}>
            <span className="grow">
              <bdi>{nameOf(item.user)}</bdi>
              {item.reason && (
                <>
                  : <span dir="auto">{item.reason}</span>
                </>
              )}{" "}
              <small className="hint">{item.expiresAt ? `until ${new Date(item.expiresAt).toLocaleString()}` : "until lifted"}</small>
            </span>
            <button type="button" onClick={() => lift(item.user.id)} aria-label={`${liftLabel} ${nameOf(item.user)}`}>
              {liftLabel}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
  return (
    <section className="tool" aria-label="Bans and mutes">
      {list("Banned", "bans", bans.data?.items, (userId) => unban.mutate({ roomId, userId }), "Unban")}
      {list("Muted", "mutes", mutes.data?.items, (userId) => unmute.mutate({ roomId, userId }), "Unmute")}
      <p className="notice" role="alert">
        {(bans.error ?? mutes.error ?? unban.error ?? unmute.error)?.message}
      </p>
    </section>
  );
}

/** I was removed or banned from a room (`room.membership` on my user topic): which, and what the room was called. */
export interface Removal {
  roomId: string;
  name: string;
  how: "removed" | "banned";
}

/** The latest removal of me from a room, live; `dismiss` forgets it. */
export function useRemoval(): { removal: Removal | null; dismiss: () => void } {
  const [removal, setRemoval] = useState<Removal | null>(null);
  useEffect(
    () =>
      parley.realtime.on("room.membership", (event) => {
        if (event.membership === "removed" || event.membership === "banned") setRemoval({ roomId: event.roomId, name: event.room?.name ?? "", how: event.membership });
        else if (event.membership === "joined") setRemoval((current) => (current?.roomId === event.roomId ? null : current));
      }),
    [],
  );
  return { removal, dismiss: () => setRemoval(null) };
}

/** Stands where the room was: it is gone from my list, and there is nothing to send to. */
export function RemovalNotice({ removal, onClose }: { removal: Removal; onClose: () => void }) {
  const room = removal.name ? <bdi>{removal.name}</bdi> : "this room";
  return (
    <main className="empty removal" data-testid="removal-notice" data-how={removal.how}>
      <p role="alert">
        {removal.how === "banned" ? "You were banned from " : "You were removed from "}
        {room}.
      </p>
      <button type="button" onClick={onClose} autoFocus>
        OK
      </button>
    </main>
  );
}
