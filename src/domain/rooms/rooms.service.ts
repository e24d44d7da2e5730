import type { Database } from "../../infra/db/database.ts";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher } from "../events.ts";
import type {
  CreateRoomInput,
  DiscoverRoomsInput,
  MemberRole,
  MembersInput,
  MyRoom,
  Page,
  Room,
  RoomMember,
} from "./rooms.schema.ts";

export interface RoomService {
  /** The creator becomes owner. */
  create(userId: string, input: CreateRoomInput): Promise<Room>;
  /** One direct room per pair; calling again returns the same room. BAD_REQUEST for yourself, NOT_FOUND for no such user. */
  openDirect(userId: string, otherUserId: string): Promise<Room>;
  /** My rooms, newest activity first, each with its last message and last seq. */
  list(userId: string): Promise<MyRoom[]>;
  /** Public rooms, optionally filtered by name; keyset-paginated. */
  discover(userId: string, input: DiscoverRoomsInput): Promise<Page<Room>>;
  /** Members see any room; anyone may see a public room; otherwise FORBIDDEN (never revealing existence). */
  get(userId: string, roomId: string): Promise<Room>;
  /** Public rooms only; idempotent for members. */
  join(userId: string, roomId: string): Promise<Room>;
  /** Private (and group) rooms, by owner/admin. */
  invite(userId: string, input: { roomId: string; userId: string }): Promise<void>;
  /** Leaving a direct room is refused; the last owner of a room with other members must hand over first. */
  leave(userId: string, roomId: string): Promise<void>;
  members(userId: string, input: MembersInput): Promise<Page<RoomMember>>;
  /** The caller's role, or FORBIDDEN "not a member of this room" (also for rooms that do not exist). */
  requireMember(userId: string, roomId: string): Promise<MemberRole>;
  /** Ids of every room the user belongs to (realtime subscribes the socket to these). */
  roomIdsOf(userId: string): Promise<string[]>;
  /** Distinct ids of people who share at least one room with the user (presence audience). */
  roomPeersOf(userId: string): Promise<string[]>;
}

export interface RoomServiceDeps {
  database: Database;
  events: EventPublisher;
  clock: Clock;
  logger: Logger;
}

export function createRoomService(deps: RoomServiceDeps): RoomService {
  void deps;
  throw new Error("not implemented yet");
}
