/** The only place topic names are built. A topic is both a Bun/in-memory fan-out topic and a bus channel suffix. */
export function roomTopic(roomId: string): string {
  return `room:${roomId}`;
}

export function userTopic(userId: string): string {
  return `user:${userId}`;
}

/** Every instance listens here, always: control events such as revoked sessions. */
export function instancesTopic(): string {
  return "instances";
}

export function roomIdOfTopic(topic: string): string | null {
  return topic.startsWith("room:") ? topic.slice(5) : null;
}
