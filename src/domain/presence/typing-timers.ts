/**
 * Server-side expiry of typing indicators, so one can never get stuck: the instance that received
 * `typing: true` for (room, user) arms a timer, reset by each refresh; if neither a refresh nor a stop arrives
 * in time, or the socket that started it closes, `expire` announces `typing: false`. Never stored anywhere:
 * this map is the only trace, and it dies with the process (clients also time indicators out themselves).
 */
export interface TypingTimers {
  /** `typing: true` arrived from this connection: (re)arm the expiry. */
  started(roomId: string, userId: string, connectionId: string): void;
  /** `typing: false` arrived: nothing left to expire. */
  stopped(roomId: string, userId: string): void;
  /** The connection closed: every indicator it was keeping alive expires now. */
  connectionClosed(userId: string, connectionId: string): void;
  /** Shutdown: drops every timer without announcing anything. */
  clear(): void;
}

interface Typing {
  connectionId: string;
  timer: ReturnType<typeof setTimeout>;
}

export function createTypingTimers(options: {
  timeoutMs: number;
  expire(roomId: string, userId: string): void;
}): TypingTimers {
  /** userId → roomId → the indicator this instance keeps alive */
  const byUser = new Map<string, Map<string, Typing>>();

  function remove(roomId: string, userId: string): Typing | undefined {
    const rooms = byUser.get(userId);
    const typing = rooms?.get(roomId);
    if (!rooms || !typing) return undefined;
    clearTimeout(typing.timer);
    rooms.delete(roomId);
    if (rooms.size === 0) byUser.delete(userId);
    return typing;
  }

  return {
    started(roomId, userId, connectionId) {
      remove(roomId, userId);
      const timer = setTimeout(() => {
        remove(roomId, userId);
        options.expire(roomId, userId);
      }, options.timeoutMs);
      timer.unref?.(); // a typing indicator must not keep the process alive
      let rooms = byUser.get(userId);
      if (!rooms) byUser.set(userId, (rooms = new Map()));
      rooms.set(roomId, { connectionId, timer });
    },
    stopped(roomId, userId) {
      remove(roomId, userId);
    },
    connectionClosed(userId, connectionId) {
      for (const [roomId, typing] of [...(byUser.get(userId) ?? [])]) {
        if (typing.connectionId !== connectionId) continue; // another device of the user refreshed it since
        remove(roomId, userId);
        options.expire(roomId, userId);
      }
    },
    clear() {
      for (const rooms of byUser.values()) for (const typing of rooms.values()) clearTimeout(typing.timer);
      byUser.clear();
    },
  };
}
