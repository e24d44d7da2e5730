import type { Room } from "@parley/client";
import { useMutation, useQueries, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { fieldsOf } from "./App.tsx";
import { auditParts } from "./audit-text.ts";
import { useThumbnailUrl } from "./file-urls.ts";
import { parley, type trpcClient } from "./parley.ts";
import { formatDuration } from "./roles.ts";
import { useTRPC } from "./trpc.ts";

/** Slow mode choices, up to the server's ceiling of six hours (MAX_SLOW_MODE_SECONDS). */
const SLOW_MODES = [0, 5, 10, 30, 60, 300, 900, 3600, 21_600];

type SettingsInput = NonNullable<Parameters<typeof trpcClient.rooms.update.mutate>[0]["settings"]>;

/**
 * The room's name, description, avatar and settings (rooms.update), for admins and owners. Only what changed is
 * sent; the cached room follows `room.updated` for everyone, this form included.
 */
export function RoomSettings({ roomId }: { roomId: string }) {
  const trpc = useTRPC();
  const room = useQuery(trpc.rooms.get.queryOptions({ roomId }, { staleTime: Infinity }));
  const [saved, setSaved] = useState(false);
  const update = useMutation(trpc.rooms.update.mutationOptions({ onSuccess: () => setSaved(true) }));
  if (!room.data) return <p className="notice" role="alert">{room.error?.message}</p>;
  const current = room.data;
  return (
    <section className="tool settings" aria-labelledby="settings-heading" data-testid="room-settings">
      <h4 id="settings-heading">Room settings</h4>
      <RoomAvatar room={current} />
      <form
        className="settings-form"
        key={`${current.name}|${current.description}|${JSON.stringify(current.settings)}`}
        onSubmit={(event) => {
          setSaved(false);
          const form = fieldsOf(event);
          const name = form.get("name").trim();
          const description = form.get("description").trim();
          const maxMembers = form.get("maxMembers").trim();
          const wanted: Required<SettingsInput> = {
            slowModeSeconds: Number(form.get("slowModeSeconds")),
            postPolicy: form.get("postPolicy") === "moderators" ? "moderators" : "everyone",
            historyVisibility: form.get("historyVisibility") === "sinceJoin" ? "sinceJoin" : "all",
            attachmentsAllowed: form.get("attachmentsAllowed") === "on",
            membersCanInvite: form.get("membersCanInvite") === "on",
            maxMembers: maxMembers ? Number(maxMembers) : null,
          };
          const settings = Object.fromEntries((Object.keys(wanted) as (keyof SettingsInput)[]).filter((key) => wanted[key] !== current.settings[key]).map((key) => [key, wanted[key]]));
          update.mutate({
            roomId,
            ...(name !== current.name ? { name } : {}),
            ...(description !== current.description ? { description } : {}),
            ...(Object.keys(settings).length ? { settings } : {}),
          });
        }}
      >
        <label>
          Name
          <input name="name" defaultValue={current.name} maxLength={80} required={current.kind !== "group"} data-testid="settings-name" />
        </label>
        <label>
          Description
          <textarea name="description" defaultValue={current.description} maxLength={500} rows={2} data-testid="settings-description" />
        </label>
        <label>
          Slow mode
          <select name="slowModeSeconds" defaultValue={current.settings.slowModeSeconds} data-testid="settings-slow-mode">
            {[...new Set([...SLOW_MODES, current.settings.slowModeSeconds])].sort((a, b) => a - b).map((seconds) => (
              <option key={seconds} value={seconds}>
                {seconds ? `one message every ${formatDuration(seconds)}` : "off"}
              </option>
            ))}
          </select>
        </label>
        <label>
          Who may post
          <select name="postPolicy" defaultValue={current.settings.postPolicy} data-testid="settings-post-policy">
            <option value="everyone">Everyone</option>
            <option value="moderators">Moderators and up (announcements)</option>
          </select>
        </label>
        <label>
          New members read
          <select name="historyVisibility" defaultValue={current.settings.historyVisibility}>
            <option value="all">All earlier messages</option>
            <option value="sinceJoin">Only what comes after they join</option>
          </select>
        </label>
        <label>
          Member limit (empty: the server's)
          <input name="maxMembers" type="number" min={2} max={1_000_000} defaultValue={current.settings.maxMembers ?? ""} />
        </label>
        <label className="check">
          <input type="checkbox" name="attachmentsAllowed" defaultChecked={current.settings.attachmentsAllowed} />
          Attachments allowed
        </label>
        <label className="check">
          <input type="checkbox" name="membersCanInvite" defaultChecked={current.settings.membersCanInvite} />
          Members may invite
        </label>
        <button type="submit" className="primary" disabled={update.isPending} data-testid="settings-save">
          Save
        </button>
        <p className="hint" role="status" data-testid="settings-saved">
          {saved ? "Saved." : ""}
        </p>
        <p className="notice" role="alert">
          {update.error?.message}
        </p>
      </form>
    </section>
  );
}

/** The room's picture: uploaded as a "roomAvatar" file, then set with rooms.update; removable. */
function RoomAvatar({ room }: { room: Room }) {
  const trpc = useTRPC();
  const [uploading, setUploading] = useState<string | null>(null);
  const thumbnailUrl = useThumbnailUrl(room.avatarFileId);
  const update = useMutation(trpc.rooms.update.mutationOptions());
  const upload = useMutation({
    mutationFn: (file: File) => parley.upload({ file, purpose: "roomAvatar", roomId: room.id }),
    onMutate: (file) => setUploading(file.name),
    onSettled: () => setUploading(null),
    onSuccess: (file) => update.mutate({ roomId: room.id, avatarFileId: file.id }),
  });
  return (
    <div className="room-avatar" data-testid="room-avatar">
      {thumbnailUrl ? <img src={thumbnailUrl} alt="Room avatar" width={48} height={48} data-testid="room-avatar-image" /> : <span className="hint">No picture.</span>}
      <label className="attach">
        {uploading ? `Uploading ${uploading}…` : "Choose picture"}
        <input
          type="file"
          accept="image/*"
          onChange={(event) => {
            const file = event.currentTarget.files?.[0];
            if (file) upload.mutate(file);
            event.currentTarget.value = "";
          }}
          data-testid="room-avatar-input"
        />
      </label>
      {room.avatarFileId && (
        <button type="button" onClick={() => update.mutate({ roomId: room.id, avatarFileId: null })}>
          Remove picture
        </button>
      )}
      <p className="notice" role="alert">
        {(upload.error ?? update.error)?.message}
      </p>
    </div>
  );
}

/** Who did what, newest first (rooms.auditLog), a page at a time. */
export function AuditLog({ roomId }: { roomId: string }) {
  const trpc = useTRPC();
  // Plain queries per page: the audit log's input is strict, and an infinite query would add a `direction` to it.
  const first = useQuery(trpc.rooms.auditLog.queryOptions({ roomId, limit: 50 }));
  const [cursors, setCursors] = useState<string[]>([]);
  const older = useQueries({ queries: cursors.map((cursor) => trpc.rooms.auditLog.queryOptions({ roomId, limit: 50, cursor })) });
  const pages = [first, ...older];
  const entries = pages.flatMap((page) => page.data?.items ?? []);
  const nextCursor = pages.at(-1)?.data?.nextCursor ?? null;
  const fetching = pages.some((page) => page.isFetching);
  const error = pages.find((page) => page.error)?.error;
  return (
    <section className="tool" aria-labelledby="audit-heading" data-testid="audit-log">
      <div className="panel-head">
        <h4 id="audit-heading">Audit log</h4>
        <button type="button" onClick={() => (setCursors([]), void first.refetch())} disabled={fetching}>
          Refresh
        </button>
      </div>
      {first.data && entries.length === 0 && <p className="hint">Nothing yet.</p>}
      <ol className="audit">
        {entries.map((entry) => (
          <li key={entry.id} data-testid="audit-entry" data-action={entry.action}>
            <time dateTime={entry.at} className="hint">
              {new Date(entry.at).toLocaleString()}
            </time>{" "}
            <span dir="auto">
              {auditParts(entry).map((part, index) => (typeof part === "string" ? <span key={index}>{part}</span> : <bdi key={index}>{part.name}</bdi>))}
            </span>
          </li>
        ))}
      </ol>
      {nextCursor !== null && (
        <button type="button" onClick={() => setCursors((all) => (all.includes(nextCursor) ? all : [...all, nextCursor]))} disabled={fetching}>
          Older entries
        </button>
      )}
      <p className="notice" role="alert">
        {error?.message}
      </p>
    </section>
  );
}
