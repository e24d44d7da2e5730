import type { LocalFanout, SocketHandle } from "./socket.ts";

/** Topics for runtimes without native ones (Deno, Node): Map<topic, Set<socket>>, keyed by the native socket. */
export function createMemoryFanout(): LocalFanout {
  const topics = new Map<string, Map<unknown, SocketHandle>>();
  return {
    subscribe: (socket, topic) => {
      let members = topics.get(topic);
      if (!members) topics.set(topic, (members = new Map()));
      members.set(socket.raw, socket);
    },
    unsubscribe: (socket, topic) => {
      const members = topics.get(topic);
      if (!members) return;
      members.delete(socket.raw);
      if (members.size === 0) topics.delete(topic);
    },
    publish: (topic, data) => {
      const members = topics.get(topic);
      if (!members) return 0;
      for (const socket of members.values()) socket.sendPublished(data);
      return members.size;
    },
  };
}
