import type { Message } from "@parley/client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { parley } from "./parley.ts";
import { useTRPC } from "./trpc.ts";

/**
 * The room's pinned messages (`messages.pinned`) in a disclosure in the room header; picking one shows it in the
 * timeline. Pins and unpins arrive as room events: the list is read again when one does.
 */
export function PinnedList({ roomId, onOpen }: { roomId: string; onOpen: (message: Message) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const pinned = useQuery(trpc.messages.pinned.queryOptions({ roomId }, { staleTime: Infinity }));
  useEffect(() => {
    const reread = (event: { roomId: string }): void => {
      if (event.roomId === roomId) void queryClient.invalidateQueries(trpc.messages.pinned.queryFilter({ roomId }));
    };
    const offs = [parley.realtime.on("message.pinned", reread), parley.realtime.on("message.unpinned", reread), parley.realtime.on("message.deleted", reread)];
    return () => offs.forEach((off) => off());
  }, [roomId, queryClient, trpc]);

  const items = pinned.data ?? [];
  return (
    <details className="pinned" data-testid="pinned">
      <summary data-testid="pinned-toggle">
        📌 <span className="pinned-label">Pinned </span>({items.length})
      </summary>
      <div className="pinned-popover">
        {items.length === 0 ? (
          <p className="hint">Nothing pinned yet.</p>
        ) : (
          <ul aria-label="Pinned messages">
            {items.map((message) => (
              <li key={message.id} data-testid="pinned-item">
                <button
                  type="button"
                  className="link"
                  onClick={(event) => {
                    event.currentTarget.closest("details")?.removeAttribute("open");
                    onOpen(message);
                  }}
                >
                  <bdi className="sender">{message.sender.displayName || message.sender.username}</bdi>:{" "}
                  <span dir="auto">{message.body.slice(0, 140) || "(attachment)"}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
        <p className="notice" role="alert">
          {pinned.error?.message}
        </p>
      </div>
    </details>
  );
}
