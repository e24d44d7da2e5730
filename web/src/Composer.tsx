import type { Message } from "@parley/client";
import { useEffect, useRef, useState } from "react";
import { EmojiPicker } from "./EmojiPicker.tsx";
import { MentionList, useMentionCompletion } from "./mentions.tsx";
import { parley } from "./parley.ts";
import { pending } from "./sending.ts";

interface Upload {
  key: string;
  name: string;
  progress: number;
  fileId?: string;
  error?: string;
}

/**
 * The send box: text (Enter sends, Shift+Enter a new line), a reply target, attachments uploaded as they are picked,
 * @mention completion from the room's members and an emoji picker. In a thread panel it sends into the thread.
 */
export function Composer({ roomId, replyTo, onReplyDone, threadRootId, label = "Message" }: { roomId: string; replyTo: Message | null; onReplyDone: () => void; threadRootId?: string; label?: string }) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const input = useRef<HTMLTextAreaElement>(null);
  const lastTyping = useRef(0);
  const change = (key: string, patch: Partial<Upload>): void => setUploads((all) => all.map((upload) => (upload.key === key ? { ...upload, ...patch } : upload)));

  const mention = useMentionCompletion(roomId, input);
  useEffect(() => {
    if (replyTo) input.current?.focus();
  }, [replyTo]);
  /** Puts text where the caret is (an emoji from the picker) and keeps typing there. */
  const insertText = (text: string): void => {
    const box = input.current;
    if (!box) return;
    const at = box.selectionStart ?? box.value.length;
    box.setRangeText(text, at, box.selectionEnd ?? at, "end");
    box.focus();
  };

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
    pending.send({ roomId, body, ...(replyTo ? { replyTo: replyTo.id } : {}), ...(threadRootId ? { threadRootId } : {}), ...(attachments.length ? { attachments } : {}) });
    parley.realtime.typing(roomId, false);
    lastTyping.current = 0;
    if (input.current) input.current.value = "";
    mention.close();
    setUploads([]);
    onReplyDone();
  };

  return (
    <form
      className="composer"
      aria-label={threadRootId ? "Reply in this thread" : "Send a message"}
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
        <EmojiPicker onPick={insertText} />
        <label className="grow mention-host">
          <span className="visually-hidden">{label}</span>
          <textarea
            ref={input}
            name="body"
            rows={1}
            maxLength={4000}
            placeholder={label}
            data-testid={threadRootId ? "thread-input" : "message-input"}
            aria-autocomplete="list"
            aria-controls={mention.open ? mention.listId : undefined}
            aria-activedescendant={mention.activeId}
            onSelect={mention.follow}
            onInput={(event) => {
              mention.follow(event);
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
              if (mention.onKeyDown(event)) return;
              if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
                event.preventDefault();
                submit();
              }
            }}
          />
          <MentionList mention={mention} />
        </label>
        <button type="submit" className="primary" disabled={uploading} data-testid={threadRootId ? "thread-send" : "message-send"}>
          Send
        </button>
      </div>
    </form>
  );
}
