import type { Attachment, Message, UserProfile } from "@parley/client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useThumbnailUrl } from "./file-urls.ts";
import { ReportButton } from "./Reports.tsx";
import { linkify } from "./timeline.ts";
import { useTRPC } from "./trpc.ts";

const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "👀"];

export interface MessageActions {
  onReply: (message: Message) => void;
  /** Opens the message's thread (absent inside a thread panel). */
  onThread?: (message: Message) => void;
  /** Shows a message of this room in the timeline by its seq (a quote's target). */
  onJump?: (messageId: string) => void;
  /** Whether I may pin and unpin (moderators and up). */
  canPin: boolean;
}

/** Where a virtualised list measures a row: its element and its index (history-list.tsx). */
export interface RowMeasure {
  ref?: (element: HTMLElement | null) => void;
  index?: number;
}

/** One message: sender, time, quote, body or attachments, reactions, thread summary, and its actions. */
export function MessageItem({
  message,
  me,
  highlighted = false,
  actions,
  row = {},
}: {
  message: Message;
  me: UserProfile;
  highlighted?: boolean;
  actions: MessageActions;
  row?: RowMeasure;
}) {
  const { onReply, onThread, onJump, canPin } = actions;
  const trpc = useTRPC();
  const [editing, setEditing] = useState(false);
  const edit = useMutation(trpc.messages.edit.mutationOptions({ onSuccess: () => setEditing(false) }));
  const remove = useMutation(trpc.messages.delete.mutationOptions());
  const react = useMutation(trpc.messages.react.mutationOptions());
  const unreact = useMutation(trpc.messages.unreact.mutationOptions());
  const pin = useMutation(trpc.messages.pin.mutationOptions());
  const unpin = useMutation(trpc.messages.unpin.mutationOptions());
  // The SDK's blocked set learns it from block.updated; the bridge then re-reads what the block changes.
  const block = useMutation(trpc.users.block.mutationOptions());
  const mine = message.sender.id === me.id;
  const senderName = message.sender.displayName || message.sender.username;
  const mentioned = message.mentions.includes(me.id) || message.mentionsRoom;
  const time = new Date(message.createdAt);
  const error = edit.error ?? remove.error ?? react.error ?? unreact.error ?? block.error ?? pin.error ?? unpin.error;
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
      ref={row.ref}
      data-index={row.index}
      className={`message${mine ? " mine" : ""}${mentioned ? " mentioned" : ""}${highlighted ? " highlighted" : ""}`}
      data-testid="message"
      data-highlighted={highlighted ? "true" : undefined}
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
        {message.pinned && (
          <span className="pin-mark" data-testid="pinned-mark">
            📌<span className="visually-hidden"> pinned</span>
          </span>
        )}
      </div>
      {message.replyTo && (
        <blockquote className="quote" data-testid="reply-quote">
          <button type="button" className="link" disabled={!onJump} onClick={() => message.replyTo && onJump?.(message.replyTo.messageId)} title="Show the quoted message">
            <bdi>{message.replyTo.sender.displayName || message.replyTo.sender.username}</bdi>:{" "}
            <span dir="auto">{message.replyTo.deleted ? "Message deleted" : message.replyTo.excerpt}</span>
          </button>
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
      {message.thread && message.thread.replyCount > 0 && onThread && (
        <button type="button" className="thread-summary link" onClick={() => onThread(message)} data-testid="thread-summary">
          {message.thread.replyCount === 1 ? "1 reply" : `${message.thread.replyCount} replies`}
        </button>
      )}
      {!message.deletedAt && !editing && (
        <div className="actions" role="group" aria-label="Message actions">
          <button type="button" onClick={() => onReply(message)} data-testid="message-reply">
            Reply
          </button>
          {onThread && (
            // "Thread", not "Reply in thread": the name must not contain "Reply", which names the quoting reply.
            <button type="button" onClick={() => onThread(message)} title="Reply in a thread" data-testid="message-thread">
              Thread
            </button>
          )}
          {canPin && (
            <button
              type="button"
              onClick={() => (message.pinned ? unpin : pin).mutate({ messageId: message.id })}
              data-testid={message.pinned ? "message-unpin" : "message-pin"}
            >
              {message.pinned ? "Unpin" : "Pin"}
            </button>
          )}
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
          {!mine && <ReportButton target={{ messageId: message.id }} name={senderName} />}
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
  const thumbnailUrl = useThumbnailUrl(attachment.thumbnail ? attachment.fileId : null);
  const open = async (): Promise<void> => {
    // Signed URLs last 5 minutes: ask for one when it is wanted, not when the message is drawn.
    const { url } = await queryClient.fetchQuery(trpc.files.url.queryOptions({ fileId: attachment.fileId }, { staleTime: 60_000 }));
    window.open(url, "_blank", "noopener,noreferrer");
  };
  return (
    <li className="attachment" data-testid="attachment">
      {attachment.thumbnail && (
        <button type="button" className="thumb" onClick={() => void open()} aria-label={`Open image ${attachment.filename}`}>
          {thumbnailUrl ? (
            <img src={thumbnailUrl} alt={attachment.filename} onLoad={keepAtBottom} width={attachment.thumbnail.width} height={attachment.thumbnail.height} data-testid="attachment-image" />
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
