import { z } from "zod";
import type { UserPublic } from "../users/users.schema.ts";
import type { Message } from "../messages/messages.schema.ts";

export type RoomKind = "public" | "private" | "direct" | "group";
export type MemberRole = "owner" | "admin" | "member";

export interface Room {
  id: string;
  kind: RoomKind;
  name: string;
  description: string;
  createdAt: string;
  /** Seq of the newest message (0 when empty). */
  lastSeq: number;
}

/** A room as its member sees it in `rooms.list`. */
export interface MyRoom extends Room {
  role: MemberRole;
  lastMessage: Message | null;
  /** Direct rooms only: the other person (direct rooms have an empty `name`; clients show the peer). */
  peer: UserPublic | null;
  /** My watermarks: everything up to these seqs reached one of my devices / was read. */
  readSeq: number;
  deliveredSeq: number;
  /** Messages after `readSeq` sent by others. */
  unread: number;
}

export interface RoomMember {
  user: UserPublic;
  role: MemberRole;
  joinedAt: string;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null when there is none. */
  nextCursor: string | null;
}

export const RoomId = z.uuid();

/** Names are shown to people: NFC, trimmed, 1–80 chars, no control or bidi-override/invisible characters. */
const roomName = z
  .string()
  .transform((value) => value.normalize("NFC").trim())
  .pipe(
    z
      .string()
      .min(1, "name must not be empty")
      .max(80, "name must be at most 80 characters")
      .refine((value) => !/[\p{Cc}\u200B-\u200F\u202A-\u202E\u2060-\u2069\u061C\uFEFF]/u.test(value), {
        message: "name must not contain control, bidi-override or zero-width characters",
      })
      .refine((value) => value.isWellFormed(), { message: "name must be well-formed Unicode (no lone surrogates)" }),
  );

const description = z
  .string()
  .transform((value) => value.normalize("NFC").trim())
  .pipe(
    z
      .string()
      .max(500, "description must be at most 500 characters")
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .refine((value) => !/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/.test(value), { message: "description must not contain control characters" })
      .refine((value) => value.isWellFormed(), { message: "description must be well-formed Unicode (no lone surrogates)" }),
  );

/** Opaque to clients (see page-cursor.ts); long enough for a discover cursor carrying an 80-character name. */
const cursor = z.string().min(1).max(600);

export const CreateRoomInput = z.strictObject({
  name: roomName,
  kind: z.enum(["public", "private"]),
  description: description.optional(),
});
export type CreateRoomInput = z.infer<typeof CreateRoomInput>;

export const OpenDirectInput = z.strictObject({ userId: z.uuid() });
export const RoomRef = z.strictObject({ roomId: RoomId });
export const DiscoverRoomsInput = z.strictObject({
  query: z.string().trim().max(80).optional(),
  cursor: cursor.optional(),
  limit: z.number().int().min(1).max(100).default(50),
});
export type DiscoverRoomsInput = z.infer<typeof DiscoverRoomsInput>;
export const InviteInput = z.strictObject({ roomId: RoomId, userId: z.uuid() });
export const KickInput = z.strictObject({ roomId: RoomId, userId: z.uuid() });
export const UpdateRoomInput = z
  .strictObject({ roomId: RoomId, name: roomName.optional(), description: description.optional() })
  .refine((input) => input.name !== undefined || input.description !== undefined, {
    message: "change at least one of name, description",
  });
export type UpdateRoomInput = z.infer<typeof UpdateRoomInput>;
export const MembersInput = z.strictObject({
  roomId: RoomId,
  cursor: cursor.optional(),
  limit: z.number().int().min(1).max(200).default(100),
});
export type MembersInput = z.infer<typeof MembersInput>;
