import { type KeyboardEvent, useRef, useState } from "react";

/** A small built-in set of common emoji: enough for everyday use without an emoji database. */
export const COMMON_EMOJI = [
  "😀", "😂", "🙂", "😉", "😍", "😘", "😎", "🤔", "😅", "😭", "😡", "😱",
  "👍", "👎", "👏", "🙏", "💪", "👋", "🤝", "✌️", "👀", "🎉", "🔥", "❤️",
  "💯", "✅", "❌", "⭐", "☕", "🍕", "🚀", "💡",
];
const COLUMNS = 8;

/**
 * A button that opens a grid of emoji; picking one inserts it where the caret is. Keyboard: arrows move in the grid,
 * Enter or Space picks, Escape closes and returns to the button.
 */
export function EmojiPicker({ onPick }: { onPick: (emoji: string) => void }) {
  const [open, setOpen] = useState(false);
  const toggle = useRef<HTMLButtonElement>(null);
  const grid = useRef<HTMLDivElement>(null);
  const focusAt = (index: number): void => grid.current?.querySelectorAll<HTMLButtonElement>("button")[index]?.focus();
  const close = (): void => {
    setOpen(false);
    toggle.current?.focus();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>): void => {
    const buttons = [...(grid.current?.querySelectorAll("button") ?? [])];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    const move = moves[event.key];
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
    } else if (move !== undefined) {
      event.preventDefault();
      focusAt(Math.min(Math.max(at + move, 0), buttons.length - 1));
    }
  };
  return (
    <span
      className="emoji-picker"
      onBlur={(event) => {
        // Closed when the focus leaves the picker (a click elsewhere, Tab past it).
        if (!event.currentTarget.contains(event.relatedTarget)) setOpen(false);
      }}
    >
      <button
        ref={toggle}
        type="button"
        aria-label="Insert emoji"
        aria-expanded={open}
        aria-haspopup="dialog"
        onClick={() => {
          setOpen((shown) => !shown);
          requestAnimationFrame(() => focusAt(0));
        }}
        data-testid="emoji-toggle"
      >
        🙂
      </button>
      {open && (
        <div ref={grid} className="emoji-grid" role="dialog" aria-label="Emoji" onKeyDown={onKeyDown} data-testid="emoji-grid">
          {COMMON_EMOJI.map((emoji) => (
            <button
              key={emoji}
              type="button"
              aria-label={emoji}
              onClick={() => {
                setOpen(false);
                onPick(emoji);
              }}
              data-testid="emoji-option"
            >
              {emoji}
            </button>
          ))}
        </div>
      )}
    </span>
  );
}
