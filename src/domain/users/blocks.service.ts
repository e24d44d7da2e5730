import { and, desc, eq, or, sql } from "drizzle-orm";
import type { BucketRule } from "../../config.ts";
import type { Database } from "../../infra/db/database.ts";
import { friendRequests, friendships, roomInvitations, userBlocks, users } from "../../infra/db/schema.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher } from "../events.ts";
import { encodeCursor } from "../rooms/page-cursor.ts";
import type { Page } from "../rooms/rooms.schema.ts";
import type { BlockedUser, BlockedUsersInput } from "./users.schema.ts";

/**
 * users.block, users.unblock, users.blocked — and who a user's sockets must not see the presence and typing of.
 * What a block does everywhere else is listed in README "Blocking".
 */
export interface BlockService {
  /**
   * Blocks `userId` for me; idempotent (blocking again changes nothing and keeps the first time). In the same
   * transaction: our friendship and friend requests either way, and pending invitations between us, are gone.
   * BAD_REQUEST for myself, NOT_FOUND for an unknown user, TOO_MANY_REQUESTS past the per-user rate.
   */
  block(blockerId: string, userId: string): Promise<void>;
  /** NOT_FOUND when I have not blocked `userId`. Does not bring back what blocking removed. */
  unblock(blockerId: string, userId: string): Promise<void>;
  /** The people I blocked, most recent first. */
  blocked(blockerId: string, input: BlockedUsersInput): Promise<Page<BlockedUser>>;
  /** Everyone I blocked or who blocked me: whose presence and typing my sockets must not get (and who must not get mine). */
  hiddenFrom(userId: string): Promise<Set<string>>;
}

export interface BlockServiceDeps {
  database: Database;
  events: EventPublisher;
  rateLimiter: RateLimiter;
  logger: Logger;
  blockRate: BucketRule;
}

export function createBlockService(deps: BlockServiceDeps): BlockService {
  const { db } = deps.database;
  const { events, logger } = deps;

  /**
   * After the commit: my devices learn the change (block.updated), and the other side's sockets re-read what they
   * hide (blocks.changed — it names nobody, so the blocked user is not told who blocked them). A failed publish does
   * not undo the block: the user's sockets read their block set again when they reconnect.
   */
  async function announce(blockerId: string, userId: string, blocked: boolean): Promise<void> {
    const results = await Promise.allSettled([
      events.toUser(blockerId, { type: "block.updated", userId, blocked }),
      events.toUser(userId, { type: "blocks.changed" }),
    ]);
    for (const result of results) {
      if (result.status === "rejected") logger.warn("block change not announced", { blockerId, userId, blocked, error: result.reason });
    }
  }

  return {
    async block(blockerId, userId) {
      if (blockerId === userId) throw new DomainError("BAD_REQUEST", "you cannot block yourself");
      const decision = await deps.rateLimiter.consume(`block:${blockerId}`, deps.blockRate);
      if (!decision.allowed) throw new DomainError("TOO_MANY_REQUESTS", "blocking too often", decision.retryAfterSeconds);
      const outcome = await db.transaction(async (tx): Promise<{ status: "blocked"; withdrawn: { id: string; inviteeId: string }[] } | { status: "already" | "no_user" }> => {
        // Both people's rows, in id order as friends.* takes them: a friend request or acceptance racing the block
        // waits for it (and then finds the block) instead of leaving a request behind it.
        const locked = await tx
          .select({ id: users.id })
          .from(users)
          .where(or(eq(users.id, blockerId), eq(users.id, userId)))
          .orderBy(users.id)
          .for("update");
        if (!locked.some((row) => row.id === userId)) return { status: "no_user" };
        const inserted = await tx
          .insert(userBlocks)
          .values({ blockerId, blockedId: userId })
          .onConflictDoNothing()
          .returning({ blockedId: userBlocks.blockedId });
        if (inserted.length === 0) return { status: "already" };
        await tx
          .delete(friendships)
          .where(
            or(
              and(eq(friendships.userId, blockerId), eq(friendships.friendId, userId)),
              and(eq(friendships.userId, userId), eq(friendships.friendId, blockerId)),
            ),
          );
        await tx
          .delete(friendRequests)
          .where(
            or(
              and(eq(friendRequests.fromUserId, blockerId), eq(friendRequests.toUserId, userId)),
              and(eq(friendRequests.fromUserId, userId), eq(friendRequests.toUserId, blockerId)),
            ),
          );
        const withdrawn = await tx
          .delete(roomInvitations)
          .where(
            or(
              and(eq(roomInvitations.inviterId, blockerId), eq(roomInvitations.inviteeId, userId)),
              and(eq(roomInvitations.inviterId, userId), eq(roomInvitations.inviteeId, blockerId)),
            ),
          )
          .returning({ id: roomInvitations.id, inviteeId: roomInvitations.inviteeId });
        return { status: "blocked", withdrawn };
      });
      if (outcome.status === "no_user") throw new DomainError("NOT_FOUND", "no such user");
      if (outcome.status !== "blocked") return;
      await announce(blockerId, userId, true);
      // The invitee's devices drop an invitation the block withdrew, as they do a cancelled one.
      const told = await Promise.allSettled(
        outcome.withdrawn.map((invitation) =>
          events.toUser(invitation.inviteeId, { type: "invitation.removed", invitationId: invitation.id, reason: "cancelled" }),
        ),
      );
      for (const result of told) if (result.status === "rejected") logger.warn("withdrawn invitation not announced", { error: result.reason });
    },
    async unblock(blockerId, userId) {
      const removed = await db
        .delete(userBlocks)
        .where(and(eq(userBlocks.blockerId, blockerId), eq(userBlocks.blockedId, userId)))
        .returning({ blockedId: userBlocks.blockedId });
      if (removed.length === 0) throw new DomainError("NOT_FOUND", "you have not blocked this user");
      await announce(blockerId, userId, false);
    },
    async blocked(blockerId, input) {
      // The cursor keeps created_at as Postgres prints it: a JS Date would drop the microseconds and repeat rows.
      const before = input.cursor ?? null;
      const rows = await db
        .select({
          user: { id: users.id, username: users.username, displayName: users.displayName },
          createdAt: userBlocks.createdAt,
          createdAtKey: sql<string>`${userBlocks.createdAt}::text`,
        })
        .from(userBlocks)
        .innerJoin(users, eq(users.id, userBlocks.blockedId))
        .where(
          and(
            eq(userBlocks.blockerId, blockerId),
            before ? sql`(${userBlocks.createdAt}, ${userBlocks.blockedId}) < (${before[0]}::timestamptz, ${before[1]}::uuid)` : undefined,
          ),
        )
        .orderBy(desc(userBlocks.createdAt), desc(userBlocks.blockedId))
        .limit(input.limit + 1);
      const last = rows.length > input.limit ? rows[input.limit - 1] : undefined;
      return {
        items: rows.slice(0, input.limit).map((row) => ({ user: row.user, blockedAt: row.createdAt.toISOString() })),
        nextCursor: last ? encodeCursor([last.createdAtKey, last.user.id]) : null,
      };
    },
    async hiddenFrom(userId) {
      // Two index ranges: the primary key (blocker first) and user_blocks_blocked_idx.
      const rows = await db
        .select({ blockerId: userBlocks.blockerId, blockedId: userBlocks.blockedId })
        .from(userBlocks)
        .where(or(eq(userBlocks.blockerId, userId), eq(userBlocks.blockedId, userId)));
      return new Set(rows.map((row) => (row.blockerId === userId ? row.blockedId : row.blockerId)));
    },
  };
}
