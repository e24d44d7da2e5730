/**
 * Cheap readers for the few fields the load generator needs from Parley's frames. A full JSON.parse per delivery
 * would make the load generator, not the server, the bottleneck. `JSON.stringify` writes an event's own fields
 * before the nested message, so the first occurrence of each field is the event's.
 */
export const MESSAGE_CREATED = '{"type":"message.created"';
export const ACK = '{"type":"ack"';
export const ERROR = '{"type":"error"';

function integerAfter(data: string, field: string): number {
  const at = data.indexOf(field);
  return at < 0 ? -1 : Number.parseInt(data.slice(at + field.length, at + field.length + 20), 10);
}

export function seqOf(data: string): number {
  return integerAfter(data, '"seq":');
}

export function roomIdOf(data: string): string {
  const at = data.indexOf('"roomId":"') + 10;
  return data.slice(at, at + 36);
}

/** Bench bodies and client ids end in the send's index: `…"body":"t123 …"`, `"clientMsgId":"m00000123"`. */
export function bodyIndexOf(data: string): number {
  return integerAfter(data, '"body":"t');
}

export function ackIndexOf(data: string): number {
  return integerAfter(data, '"clientMsgId":"m');
}

export function clientMsgId(index: number): string {
  return `m${String(index).padStart(8, "0")}`;
}

/** A ~100-character body, about a chat line, led by the send index. */
export function benchBody(index: number): string {
  return `t${index} ${"lorem ipsum dolor sit amet ".repeat(4)}`.slice(0, 100);
}

/** The position a `ready` event reports for a room (0 for a fresh room). */
export function readyPosition(ready: string | null, roomId: string): number {
  if (ready === null) return 0;
  const event = JSON.parse(ready) as { rooms?: { roomId: string; lastSeq: number }[] };
  return event.rooms?.find((room) => room.roomId === roomId)?.lastSeq ?? 0;
}
