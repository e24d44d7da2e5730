import type { RoomMember } from "@parley/client";
import { useQuery } from "@tanstack/react-query";
import { type KeyboardEvent, type RefObject, type SyntheticEvent, useId, useState } from "react";
import { insertMention, mentionAt } from "./timeline.ts";
import { useTRPC } from "./trpc.ts";

/** The most suggestions shown at once. */
const SHOWN = 6;

export interface MentionCompletion {
  open: boolean;
  listId: string;
  activeId: string | undefined;
  candidates: RoomMember[];
  active: number;
  /** Re-reads the mention under the caret (on input and on caret moves). */
  follow: (event: SyntheticEvent<HTMLTextAreaElement>) => void;
  /** Arrows move, Enter or Tab insert, Escape closes; true when the key was the completion's. */
  onKeyDown: (event: KeyboardEvent<HTMLTextAreaElement>) => boolean;
  choose: (member: RoomMember) => void;
  close: () => void;
}

/**
 * `@ann` completion in a composer: the room's members (rooms.members, shared with the members panel) whose username
 * or display name starts with what follows the @. Choosing one writes `@username ` — the form the server resolves
 * as a mention (src/domain/messages/mentions.ts).
 */
export function useMentionCompletion(roomId: string, input: RefObject<HTMLTextAreaElement | null>): MentionCompletion {
  const trpc = useTRPC();
  const listId = useId();
  const [typed, setTyped] = useState<{ query: string; start: number } | null>(null);
  const [active, setActive] = useState(0);
  const members = useQuery(trpc.rooms.members.queryOptions({ roomId, limit: 200 }, { staleTime: Infinity, enabled: typed !== null }));
  const candidates = typed
    ? (members.data?.items ?? [])
        .filter(({ user }) => user.username.startsWith(typed.query) || user.displayName.toLowerCase().startsWith(typed.query))
        .sort((a, b) => a.user.username.localeCompare(b.user.username))
        .slice(0, SHOWN)
    : [];
  const open = candidates.length > 0;
  const at = Math.min(active, Math.max(candidates.length - 1, 0));

  const close = (): void => setTyped(null);
  const choose = (member: RoomMember): void => {
    const box = input.current;
    if (!box || !typed) return;
    const next = insertMention(box.value, box.selectionStart ?? box.value.length, typed.start, member.user.username);
    box.value = next.text;
    box.setSelectionRange(next.caret, next.caret);
    box.focus();
    close();
  };
  return {
    open,
    listId,
    activeId: open ? `${listId}-${at}` : undefined,
    candidates,
    active: at,
    follow: (event) => {
      const box = event.currentTarget;
      const found = mentionAt(box.value, box.selectionStart ?? box.value.length);
      setTyped((current) => (found && current?.query === found.query && current.start === found.start ? current : found));
      if (!found || found.query !== typed?.query) setActive(0);
    },
    onKeyDown: (event) => {
      if (!open || event.nativeEvent.isComposing) return false;
      const member = candidates[at];
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        setActive((at + (event.key === "ArrowDown" ? 1 : candidates.length - 1)) % candidates.length);
      } else if ((event.key === "Enter" || event.key === "Tab") && member) {
        choose(member);
      } else if (event.key === "Escape") {
        close();
      } else {
        return false;
      }
      event.preventDefault();
      return true;
    },
    choose,
    close,
  };
}

/** The suggestions under the composer; the textarea keeps the focus (aria-activedescendant points into this list). */
export function MentionList({ mention }: { mention: MentionCompletion }) {
  if (!mention.open) return null;
  return (
    <ul className="mention-list" role="listbox" id={mention.listId} aria-label="Members to mention" data-testid="mention-list">
      {mention.candidates.map((member, index) => (
        <li
          key={member.user.id}
          id={`${mention.listId}-${index}`}
          role="option"
          aria-selected={index === mention.active}
          data-testid="mention-option"
          // mousedown, not click: the textarea must not lose its caret before the mention goes in.
          onMouseDown={(event) => {
            event.preventDefault();
            mention.choose(member);
          }}
        >
          <bdi>{member.user.displayName || member.user.username}</bdi> <span className="username">@{member.user.username}</span>
        </li>
      ))}
    </ul>
  );
}
