import type { Attachment, Message, UserProfile } from "@parley/client";
import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { MembersPanel } from "./Panels.tsx";
import { parley } from "./parley.ts";
import { usePending } from "./pending.ts";
import { pending } from "./sending.ts";
import { linkify, mergePages, nextOlderCursor, roomTitle, stillPending, withDateSeparators } from "./timeline.ts";
import { useTRPC } from "./trpc.ts";

const PAGE = 50;
const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "👀"];
/** Typing lasts this long unless repeated (the server's own timeout is of the same order). */
const TYPING_SHOWN_MS = 6000;

/**
 * One room: its newest page (`messages.list`, extended live by the cache bridge), older pages loaded on scrolling up,
 * my pending sends below them, a composer that sends through the SDK's outbox, and a read watermark that follows
 * what is shown.
 */
export function RoomView({ roomId, me, onClose }: { roomId: string; me: UserProfile; onClose: () => void }) {
  const trpc = useTRPC();
  const room = useQuery(trpc.rooms.get.queryOptions({ roomId }, { staleTime: Infinity }));
  const listed = useQuery(trpc.rooms.list.queryOptions(undefined, { staleTime: Infinity, select: (rooms) => rooms.find((r) => r.id === roomId) }));
  const newest = useQuery(trpc.messages.list.queryOptions({ roomId, limit: PAGE }, { staleTime: Infinity }));
  const [olderCursors, setOlderCursors] = useState<number[]>([]);
  const older = useQueries({
    queries: olderCursors.map((before) => trpc.messages.list.queryOptions({ roomId, limit: PAGE, before }, { staleTime: Infinity })),
  });
  const olderPages = older.map((query) => query.data);
  // The older pages change when one loads or the bridge edits one: their update times say when, in one stable key.
  const olderVersion = older.map((query) => query.dataUpdatedAt).join();
  const timeline = useMemo(() => mergePages(newest.data, olderPages), [newest.data, olderVersion]);
  const olderCursor = nextOlderCursor(newest.data, olderPages);
  const loadingOlder = older.some((query) => query.isFetching);
  const loadOlder = (): void => {
    if (olderCursor !== null && !loadingOlder) setOlderCursors((cursors) => (cursors.includes(olderCursor) ? cursors : [...cursors, olderCursor]));
  };

  const allPending = usePending(pending);
  const mine = stillPending(allPending, roomId, timeline);
  useEffect(() => pending.settle(new Set(timeline.map((message) => message.id))), [timeline]);

  // Everything on screen is read: move the watermark, and `unread.updated` zeroes the count on all my devices.
  const markRead = useMutation(trpc.messages.markRead.mutationOptions());
  const lastSeq = newest.data?.messages.at(-1)?.seq ?? 0;
  const readSeq = listed.data?.readSeq ?? 0;
  const { mutate: markReadUpTo } = markRead;
  useEffect(() => {
    if (lastSeq > readSeq) markReadUpTo({ roomId, seq: lastSeq });
  }, [roomId, lastSeq, readSeq, markReadUpTo]);

  // Stay at the bottom for new messages; keep the reading position when older ones are added above.
  const scroller = useRef<HTMLOListElement>(null);
  const anchor = useRef<{ height: number; top: number } | null>(null);
  const lastId = timeline.at(-1)?.id;
  useLayoutEffect(() => {
    const list = scroller.current;
    if (!list) return;
    if (anchor.current) {
      list.scrollTop = anchor.current.top + (list.scrollHeight - anchor.current.height);
      anchor.current = null;
    } else {
      list.scrollTop = list.scrollHeight;
    }
  }, [lastId, mine.length, timeline.length]);
  const onScroll = (): void => {
    const list = scroller.current;
    if (list && list.scrollTop < 40 && olderCursor !== null && !loadingOlder) {
      anchor.current = { height: list.scrollHeight, top: list.scrollTop };
      loadOlder();
    }
  };

  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [showMembers, setShowMembers] = useState(false);
  const typing = useTyping(roomId, me.id, timeline);
  const title = room.data ? (listed.data ? roomTitle(listed.data) : room.data.name) : "";
  const error = room.error ?? newest.error;

  return (
    <main className="room" data-testid="room-view" aria-labelledby="room-title">
      <header className="room-header">
        <button type="button" className="back" onClick={onClose} aria-label="Back to rooms" data-testid="room-back">
          ←
        </button>
        <h2 id="room-title">
          <bdi data-testid="room-name">{title}</bdi>
        </h2>
        <code className="room-id" data-testid="room-id" title="Room id (share it to let others join a public room)">
          {roomId}
        </code>
        <span className="spacer" />
        <button type="button" aria-pressed={showMembers} onClick={() => setShowMembers((shown) => !shown)} data-testid="toggle-members">
          Members
        </button>
      </header>
      {showMembers && <MembersPanel roomId={roomId} />}
      {room.data?.description && (
        <p className="description" dir="auto">
          {room.data.description}
        </p>
      )}
      <ol className="messages" ref={scroller} onScroll={onScroll} data-testid="messages" aria-label="Messages" tabIndex={0}>
        <li className="older">
          {olderCursor !== null ? (
            <button type="button" onClick={loadOlder} disabled={loadingOlder} data-testid="load-older">
              {loadingOlder ? "Loading…" : "Load older messages"}
            </button>
          ) : newest.data ? (
            <span className="hint">The beginning of the room.</span>
          ) : null}
        </li>
        {withDateSeparators(timeline).map((item) =>
          item.kind === "date" ? (
            <li key={item.key} className="date" data-testid="date-separator">
              <span>{item.label}</span>
            </li>
          ) : (
            <MessageItem key={item.key} message={item.message} me={me} onReply={setReplyTo} />
          ),
        )}
        {mine.map((entry) => (
          <li key={entry.clientMsgId} className="message mine pending" data-testid="pending-message" data-failed={entry.failed ? "true" : "false"}>
            <div className="meta">
              <bdi className="sender">{me.displayName || me.username}</bdi>
              <span className="status">{entry.failed ? "not sent" : "sending…"}</span>
            </div>
            <div className="body" dir="auto" data-testid="pending-body">
              {entry.body}
            </div>
            {entry.failed && (
              <div className="actions">
                <span className="notice">{entry.failed}</span>
                <button type="button" onClick={() => pending.retry(entry.clientMsgId)}>
                  Retry
                </button>
                <button type="button" onClick={() => pending.discard(entry.clientMsgId)}>
                  Discard
                </button>
              </div>
            )}
          </li>
        ))}
      </ol>
      <p className="typing" aria-live="polite" data-testid="typing">
        {typing}
      </p>
      <Composer roomId={roomId} replyTo={replyTo} onReplyDone={() => setReplyTo(null)} />
      <p className="notice" role="alert" data-testid="app-error">
        {error?.message}
      </p>
    </main>
  );
}

/** "Ann is typing…" from the room's `typing` events, each shown for a while unless repeated or stopped. */
function useTyping(roomId: string, myId: string, timeline: readonly Message[]): string {
  const [typers, setTypers] = useState<ReadonlyMap<string, number>>(new Map());
  useEffect(() => {
    setTypers(new Map());
    const off = parley.realtime.on("typing", (event) => {
      if (event.roomId !== roomId || event.userId === myId) return;
      setTypers((current) => {
        const next = new Map(current);
        if (event.active) next.set(event.userId, Date.now() + TYPING_SHOWN_MS);
        else next.delete(event.userId);
        return next;
      });
    });
    const offMessage = parley.realtime.on("message.created", (event) => {
      if (event.roomId === roomId) setTypers((current) => (current.has(event.message.sender.id) ? new Map([...current].filter(([id]) => id !== event.message.sender.id)) : current));
    });
    const timer = setInterval(() => setTypers((current) => (([...current.values()].some((until) => until < Date.now())) ? new Map([...current].filter(([, until]) => until >= Date.now())) : current)), 1000);
    return () => {
      off();
      offMessage();
      clearInterval(timer);
    };
  }, [roomId, myId]);
  if (typers.size === 0) return "";
  const names = [...typers.keys()].map((id) => {
    const sender = [...timeline].reverse().find((message) => message.sender.id === id)?.sender;
    return sender ? sender.displayName || sender.username : "Someone";
  });
  return names.length === 1 ? `${names[0]} is typing…` : `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are typing…`;
}

function MessageItem({ message, me, onReply }: { message: Message; me: UserProfile; onReply: (message: Message) => void }) {
  const trpc = useTRPC();
  const [editing, setEditing] = useState(false);
  const edit = useMutation(trpc.messages.edit.mutationOptions({ onSuccess: () => setEditing(false) }));
  const remove = useMutation(trpc.messages.delete.mutationOptions());
  const react = useMutation(trpc.messages.react.mutationOptions());
  const unreact = useMutation(trpc.messages.unreact.mutationOptions());
  // The SDK's blocked set learns it from block.updated; the bridge then re-reads what the block changes.
  const block = useMutation(trpc.users.block.mutationOptions());
  const mine = message.sender.id === me.id;
  const senderName = message.sender.displayName || message.sender.username;
  const mentioned = message.mentions.includes(me.id) || message.mentionsRoom;
  const time = new Date(message.createdAt);
  const error = edit.error ?? remove.error ?? react.error ?? unreact.error ?? block.error;
  const toggle = (emoji: string, reacted: boolean): void => (reacted ? unreact : react).mutate({ messageId: message.id, emoji });

  const content = message.deletedAt ? (
    <p className="body deleted">{message.deletedBy === "moderator" ? "Removed by a moderator" : "Message deleted"}</p>
  ) : editing ? (
    <form
      className="edit"
      onSubmit={(event) => {
        event.preventDefault();
        const body = String(new FormData(event.currentTarget).get("body") ?? "").trim();
        if (body) edit.mutate({ messageId: message.id, body });
      }}
    >
      <label className="grow">
        <span className="visually-hidden">Edit message</span>
        <textarea name="body" defaultValue={message.body} required maxLength={4000} data-testid="edit-input" onKeyDown={(event) => event.key === "Escape" && setEditing(false)} />
      </label>
      <button type="submit" data-testid="edit-save">Save</button>
      <button type="button" onClick={() => setEditing(false)}>Cancel</button>
    </form>
  ) : (
    <>
      {message.body && (
        <p className="body" dir="auto" data-testid="message-body">
          <Linkified text={message.body} />
        </p>
      )}
      {message.attachments.length > 0 && (
        <ul className="attachments">
          {message.attachments.map((attachment) => (
            <AttachmentView key={attachment.fileId} attachment={attachment} />
          ))}
        </ul>
      )}
    </>
  );

  return (
    <li
      className={`message${mine ? " mine" : ""}${mentioned ? " mentioned" : ""}`}
      data-testid="message"
      data-seq={message.seq}
      data-message-id={message.id}
      aria-label={`${senderName}, ${time.toLocaleTimeString()}`}
    >
      <div className="meta">
        <bdi className="sender" data-testid="message-sender" title={message.sender.username}>
          {senderName}
        </bdi>
        <time dateTime={message.createdAt}>{time.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })}</time>
        {message.editedAt && !message.deletedAt && <span className="edited">(edited)</span>}
      </div>
      {message.replyTo && (
        <blockquote className="quote" data-testid="reply-quote">
          <bdi>{message.replyTo.sender.displayName || message.replyTo.sender.username}</bdi>:{" "}
          <span dir="auto">{message.replyTo.deleted ? "Message deleted" : message.replyTo.excerpt}</span>
        </blockquote>
      )}
      {message.senderBlocked && !message.deletedAt ? (
        <details className="blocked" data-testid="blocked-message">
          <summary>Message from someone you blocked</summary>
          {content}
        </details>
      ) : (
        content
      )}
      {message.reactions.length > 0 && (
        <div className="reactions" data-testid="reactions">
          {message.reactions.map((reaction) => (
            <button
              key={reaction.emoji}
              type="button"
              className="reaction"
              aria-pressed={reaction.me}
              aria-label={`${reaction.emoji} ${reaction.count}${reaction.me ? ", yours (take it back)" : ""}`}
              onClick={() => toggle(reaction.emoji, reaction.me)}
              data-testid="reaction"
            >
              {reaction.emoji} {reaction.count}
            </button>
          ))}
        </div>
      )}
      {!message.deletedAt && !editing && (
        <div className="actions" role="group" aria-label="Message actions">
          <button type="button" onClick={() => onReply(message)} data-testid="message-reply">
            Reply
          </button>
          <details className="react-menu">
            <summary data-testid="message-react">React</summary>
            <span role="group" aria-label="Reactions">
              {QUICK_REACTIONS.map((emoji) => {
                const reacted = message.reactions.some((reaction) => reaction.emoji === emoji && reaction.me);
                return (
                  <button key={emoji} type="button" aria-label={`React ${emoji}`} onClick={() => toggle(emoji, reacted)} data-testid="react-emoji">
                    {emoji}
                  </button>
                );
              })}
            </span>
          </details>
          {!mine && !message.senderBlocked && (
            <button
              type="button"
              onClick={() => {
                if (confirm(`Block ${senderName}? Their messages will be collapsed and they cannot message you directly.`)) block.mutate({ userId: message.sender.id });
              }}
              aria-label={`Block ${senderName}`}
              data-testid="message-block"
            >
              Block
            </button>
          )}
          {mine && (
            <>
              <button type="button" onClick={() => setEditing(true)} data-testid="message-edit">
                Edit
              </button>
              <button
                type="button"
                onClick={() => {
                  if (confirm("Delete this message for everyone?")) remove.mutate({ messageId: message.id });
                }}
                data-testid="message-delete"
              >
                Delete
              </button>
            </>
          )}
        </div>
      )}
      {error && (
        <p className="notice" role="alert">
          {error.message}
        </p>
      )}
    </li>
  );
}

/** Text with its http(s) links clickable; everything else stays text. */
function Linkified({ text }: { text: string }) {
  return (
    <>
      {linkify(text).map((part, index) =>
        part.kind === "link" ? (
          <a key={index} href={part.href} target="_blank" rel="noopener noreferrer">
            {part.text}
          </a>
        ) : (
          <span key={index}>{part.text}</span>
        ),
      )}
    </>
  );
}

/** An image's thumbnail (its signed URL fetched when shown), or a download link fetched when asked for. */
function AttachmentView({ attachment }: { attachment: Attachment }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const thumbnail = useQuery(
    trpc.files.url.queryOptions({ fileId: attachment.fileId, variant: "thumbnail" }, { enabled: attachment.thumbnail !== null, staleTime: 4 * 60_000 }),
  );
  const open = async (): Promise<void> => {
    // Signed URLs last 5 minutes: ask for one when it is wanted, not when the message is drawn.
    const { url } = await queryClient.fetchQuery(trpc.files.url.queryOptions({ fileId: attachment.fileId }, { staleTime: 60_000 }));
    window.open(url, "_blank", "noopener,noreferrer");
  };
  return (
    <li className="attachment" data-testid="attachment">
      {attachment.thumbnail && (
        <button type="button" className="thumb" onClick={() => void open()} aria-label={`Open image ${attachment.filename}`}>
          {thumbnail.data ? (
            <img src={thumbnail.data.url} alt={attachment.filename} onLoad={keepAtBottom} width={attachment.thumbnail.width} height={attachment.thumbnail.height} data-testid="attachment-image" />
          ) : (
            <span className="placeholder">Loading image…</span>
          )}
        </button>
      )}
      {!attachment.thumbnail && (
        <button type="button" className="link" onClick={() => void open()} data-testid="attachment-download">
          ⬇ <bdi>{attachment.filename}</bdi> <small>({formatSize(attachment.size)})</small>
        </button>
      )}
    </li>
  );
}

/** An image that finished loading below the fold of a list scrolled to its end keeps the list at its end. */
function keepAtBottom(event: { currentTarget: HTMLElement }): void {
  const list = event.currentTarget.closest(".messages");
  if (list && list.scrollHeight - list.scrollTop - list.clientHeight < event.currentTarget.offsetHeight + 80) list.scrollTop = list.scrollHeight;
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

interface Upload {
  key: string;
  name: string;
  progress: number;
  fileId?: string;
  error?: string;
}

/** The send box: text (Enter sends, Shift+Enter a new line), a reply target, attachments uploaded as they are picked. */
function Composer({ roomId, replyTo, onReplyDone }: { roomId: string; replyTo: Message | null; onReplyDone: () => void }) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const input = useRef<HTMLTextAreaElement>(null);
  const lastTyping = useRef(0);
  const change = (key: string, patch: Partial<Upload>): void => setUploads((all) => all.map((upload) => (upload.key === key ? { ...upload, ...patch } : upload)));

  useEffect(() => {
    if (replyTo) input.current?.focus();
  }, [replyTo]);

  const attach = (files: FileList | null): void => {
    for (const file of files ?? []) {
      const key = crypto.randomUUID();
      setUploads((all) => [...all, { key, name: file.name, progress: 0 }]);
      parley
        .upload({ file, purpose: "attachment", roomId, onProgress: (sent, total) => change(key, { progress: total ? sent / total : 0 }) })
        .then(
          (info) => change(key, { fileId: info.id, progress: 1 }),
          (error: unknown) => change(key, { error: error instanceof Error ? error.message : String(error) }),
        );
    }
  };
  const uploading = uploads.some((upload) => !upload.fileId && !upload.error);
  const submit = (): void => {
    const body = input.current?.value.trim() ?? "";
    const attachments = uploads.flatMap((upload) => (upload.fileId ? [upload.fileId] : []));
    if ((!body && attachments.length === 0) || uploading) return;
    pending.send({ roomId, body, ...(replyTo ? { replyTo: replyTo.id } : {}), ...(attachments.length ? { attachments } : {}) });
    parley.realtime.typing(roomId, false);
    lastTyping.current = 0;
    if (input.current) input.current.value = "";
    setUploads([]);
    onReplyDone();
  };

  return (
    <form
      className="composer"
      aria-label="Send a message"
      onDragOver={(event) => {
        if (event.dataTransfer.types.includes("Files")) event.preventDefault();
      }}
      onDrop={(event) => {
        if (event.dataTransfer.files.length === 0) return;
        event.preventDefault();
        attach(event.dataTransfer.files);
      }}
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      {replyTo && (
        <div className="replying" data-testid="replying-to">
          Replying to <bdi>{replyTo.sender.displayName || replyTo.sender.username}</bdi>:{" "}
          <span dir="auto" className="excerpt">{replyTo.body.slice(0, 140)}</span>
          <button type="button" onClick={onReplyDone} aria-label="Cancel reply">
            ✕
          </button>
        </div>
      )}
      {uploads.length > 0 && (
        <ul className="uploads" data-testid="uploads">
          {uploads.map((upload) => (
            <li key={upload.key} data-testid="upload" data-ready={upload.fileId ? "true" : "false"}>
              <bdi>{upload.name}</bdi>{" "}
              {upload.error ? <span className="notice">{upload.error}</span> : <progress max={1} value={upload.progress} aria-label={`Uploading ${upload.name}`} />}
              <button type="button" aria-label={`Remove ${upload.name}`} onClick={() => setUploads((all) => all.filter((other) => other.key !== upload.key))}>
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="compose-row">
        <label className="attach">
          Attach<span className="visually-hidden"> files</span>
          <input type="file" multiple onChange={(event) => { attach(event.currentTarget.files); event.currentTarget.value = ""; }} data-testid="attach-input" />
        </label>
        <label className="grow">
          <span className="visually-hidden">Message</span>
          <textarea
            ref={input}
            name="body"
            rows={1}
            maxLength={4000}
            placeholder="Message"
            data-testid="message-input"
            onInput={() => {
              if (Date.now() - lastTyping.current > 3000) {
                lastTyping.current = Date.now();
                parley.realtime.typing(roomId, true);
              }
            }}
            onPaste={(event) => {
              // A pasted screenshot or file is attached; pasted text goes in as text.
              if (event.clipboardData.files.length === 0) return;
              event.preventDefault();
              attach(event.clipboardData.files);
            }}
            onKeyDown={(event) => {
              if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
                event.preventDefault();
                submit();
              }
            }}
          />
        </label>
        <button type="submit" className="primary" disabled={uploading} data-testid="message-send">
          Send
        </button>
      </div>
    </form>
  );
}
