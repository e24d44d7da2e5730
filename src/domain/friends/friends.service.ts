import { and, desc, eq, inArray, isNull, notExists, or, sql } from "drizzle-orm";
import type { BucketRule } from "../../config.ts";
import type { Database, Db } from "../../infra/db/database.ts";
import { friendRequests, friendships, userBlocks, users } from "../../infra/db/schema.ts";
import type { PresenceStore } from "../../infra/presence/presence-store.ts";
import type { RateLimiter } from "../../infra/rate-limit/rate-limit.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher } from "../events.ts";
import { encodeCursor } from "../rooms/page-cursor.ts";
import { requireNotBlocked } from "../users/blocking.ts";
import type { FriendPage, FriendRequest, FriendRequests, FriendState, ListFriendsInput } from "./friends.schema.ts";

export interface FriendService {
  /**
   * Asks `userId` to be friends; when they already asked me, this accepts. Already friends: nothing changes.
   * BAD_REQUEST for myself, NOT_FOUND for an unknown or deleted account, FORBIDDEN reason BLOCKED when either blocked
   * the other, TOO_MANY_REQUESTS past the per-user rate.
   */
  request(userId: string, otherId: string): Promise<{ state: FriendState }>;
  /** Accepts their request: NOT_FOUND when they did not ask. */
  accept(userId: string, otherId: string): Promise<{ state: FriendState }>;
  /** Refuses their request (they are not told why): NOT_FOUND when they did not ask. */
  decline(userId: string, otherId: string): Promise<{ state: FriendState }>;
  /** Withdraws my request: NOT_FOUND when I did not ask. */
  cancel(userId: string, otherId: string): Promise<{ state: FriendState }>;
  /** Ends the friendship, for both: NOT_FOUND when we are not friends. */
  remove(userId: string, otherId: string): Promise<{ state: FriendState }>;
  list(userId: string, input: ListFriendsInput): Promise<FriendPage>;
  requests(userId: string): Promise<FriendRequests>;
}

export interface FriendServiceDeps {
  database: Database;
  events: EventPublisher;
  rateLimiter: RateLimiter;
  /** Live presence (online/away) of friends; absent from the store is offline. */
  presence: PresenceStore;
  logger: Logger;
  requestRate: BucketRule;
}

/** What a change leaves, from each side; announced as `friend.updated` to both after the commit. */
interface Outcome {
  mine: FriendState;
  theirs: FriendState;
  changed: boolean;
}

const REQUESTS_SHOWN = 100;
const publicUser = { id: users.id, username: users.username, displayName: users.displayName };

/**
 * Friendships are two rows (one each way) and a request is one row; every change to a pair runs in one transaction
 * that first locks both users' rows (in id order, so two changes to the same pair queue instead of deadlocking, and
 * an account deletion waits or is waited for): two people asking each other at once end as friends, never as two
 * crossed requests.
 */
export function createFriendService(deps: FriendServiceDeps): FriendService {
  const { db } = deps.database;

  /** Locks both rows; NOT_FOUND when the other is unknown or deleted. */
  async function lockPair(tx: Db, userId: string, otherId: string): Promise<void> {
    const rows = await tx
      .select({ id: users.id, deletedAt: users.deletedAt })
      .from(users)
      .where(inArray(users.id, [userId, otherId]))
      .orderBy(users.id)
      .for("update");
    const other = rows.find((row) => row.id === otherId);
    if (!other || other.deletedAt !== null) throw new DomainError("NOT_FOUND", "no such user");
    if (!rows.some((row) => row.id === userId && row.deletedAt === null)) throw new DomainError("UNAUTHORIZED", "no such account");
  }

  async function areFriends(tx: Db, userId: string, otherId: string): Promise<boolean> {
    const [row] = await tx
      .select({ userId: friendships.userId })
      .from(friendships)
      .where(and(eq(friendships.userId, userId), eq(friendships.friendId, otherId)));
    return row !== undefined;
  }

  async function deleteRequest(tx: Db, fromUserId: string, toUserId: string): Promise<boolean> {
    const deleted = await tx
      .delete(friendRequests)
      .where(and(eq(friendRequests.fromUserId, fromUserId), eq(friendRequests.toUserId, toUserId)))
      .returning({ fromUserId: friendRequests.fromUserId });
    return deleted.length > 0;
  }

  async function befriend(tx: Db, userId: string, otherId: string): Promise<void> {
    await tx
      .insert(friendships)
      .values([
        { userId, friendId: otherId },
        { userId: otherId, friendId: userId },
      ])
      .onConflictDoNothing();
  }

  /** Runs `change` on the locked pair, then tells both people's devices where they stand. */
  async function commit(userId: string, otherId: string, change: (tx: Db) => Promise<Outcome>): Promise<{ state: FriendState }> {
    if (userId === otherId) throw new DomainError("BAD_REQUEST", "you cannot be your own friend");
    const outcome = await db.transaction(async (tx) => {
      await lockPair(tx, userId, otherId);
      return change(tx);
    });
    if (outcome.changed) {
      // Committed already: a lost event is reconciled by friends.list / friends.requests, so it fails nothing.
      const results = await Promise.allSettled([
        deps.events.toUser(userId, { type: "friend.updated", userId: otherId, state: outcome.mine }),
        deps.events.toUser(otherId, { type: "friend.updated", userId, state: outcome.theirs }),
      ]);
      for (const result of results) {
        if (result.status === "rejected") deps.logger.error("friend event not published", { error: result.reason });
      }
    }
    return { state: outcome.mine };
  }

  const friendsNow: Outcome = { mine: "friends", theirs: "friends", changed: true };
  const nothingNow: Outcome = { mine: "none", theirs: "none", changed: true };

  async function requestsOf(userId: string, direction: "incoming" | "outgoing"): Promise<FriendRequest[]> {
    const [mine, theirs] = direction === "incoming" ? [friendRequests.toUserId, friendRequests.fromUserId] : [friendRequests.fromUserId, friendRequests.toUserId];
    const rows = await db
      .select({ user: publicUser, createdAt: friendRequests.createdAt })
      .from(friendRequests)
      .innerJoin(users, eq(users.id, theirs))
      .where(and(eq(mine, userId), isNull(users.deletedAt)))
      .orderBy(desc(friendRequests.createdAt), desc(users.id))
      .limit(REQUESTS_SHOWN);
    return rows.map((row) => ({ user: row.user, createdAt: row.createdAt.toISOString() }));
  }

  return {
    async request(userId, otherId) {
      if (userId === otherId) throw new DomainError("BAD_REQUEST", "you cannot be your own friend");
      const decision = await deps.rateLimiter.consume(`friend-request:${userId}`, deps.requestRate);
      if (!decision.allowed) throw new DomainError("TOO_MANY_REQUESTS", "too many friend requests; try again later", decision.retryAfterSeconds);
      return commit(userId, otherId, async (tx) => {
        await requireNotBlocked(tx, userId, otherId, "send a friend request to");
        if (await areFriends(tx, userId, otherId)) return { ...friendsNow, changed: false };
        // They asked first: asking back is saying yes.
        if (await deleteRequest(tx, otherId, userId)) {
          await befriend(tx, userId, otherId);
          return friendsNow;
        }
        const inserted = await tx
          .insert(friendRequests)
          .values({ fromUserId: userId, toUserId: otherId })
          .onConflictDoNothing()
          .returning({ fromUserId: friendRequests.fromUserId });
        return { mine: "outgoing", theirs: "incoming", changed: inserted.length > 0 };
      });
    },

    async accept(userId, otherId) {
      return commit(userId, otherId, async (tx) => {
        if (!(await deleteRequest(tx, otherId, userId))) throw new DomainError("NOT_FOUND", "no friend request from this user");
        await requireNotBlocked(tx, userId, otherId, "befriend");
        await befriend(tx, userId, otherId);
        return friendsNow;
      });
    },

    async decline(userId, otherId) {
      return commit(userId, otherId, async (tx) => {
        if (!(await deleteRequest(tx, otherId, userId))) throw new DomainError("NOT_FOUND", "no friend request from this user");
        return nothingNow;
      });
    },

    async cancel(userId, otherId) {
      return commit(userId, otherId, async (tx) => {
        if (!(await deleteRequest(tx, userId, otherId))) throw new DomainError("NOT_FOUND", "no friend request to this user");
        return nothingNow;
      });
    },

    async remove(userId, otherId) {
      return commit(userId, otherId, async (tx) => {
        const deleted = await tx
          .delete(friendships)
          .where(
            or(
              and(eq(friendships.userId, userId), eq(friendships.friendId, otherId)),
              and(eq(friendships.userId, otherId), eq(friendships.friendId, userId)),
            ),
          )
          .returning({ userId: friendships.userId });
        if (deleted.length === 0) throw new DomainError("NOT_FOUND", "you are not friends with this user");
        return nothingNow;
      });
    },

    async list(userId, input) {
      const before = input.cursor ?? null;
      const rows = await db
        .select({
          user: publicUser,
          lastSeenAt: users.lastSeenAt,
          since: friendships.createdAt,
          sinceKey: sql<string>`${friendships.createdAt}::text`,
        })
        .from(friendships)
        .innerJoin(users, eq(users.id, friendships.friendId))
        .where(
          and(
            eq(friendships.userId, userId),
            isNull(users.deletedAt),
            // A block between us hides the friend (and their presence) even if the friendship rows outlived it.
            notExists(
              db
                .select({ one: sql`1` })
                .from(userBlocks)
                .where(
                  or(
                    and(eq(userBlocks.blockerId, userId), eq(userBlocks.blockedId, friendships.friendId)),
                    and(eq(userBlocks.blockerId, friendships.friendId), eq(userBlocks.blockedId, userId)),
                  ),
                ),
            ),
            before
              ? sql`(${friendships.createdAt}, ${friendships.friendId}) < (${before[0]}::timestamptz, ${before[1]}::uuid)`
              : undefined,
          ),
        )
        .orderBy(desc(friendships.createdAt), desc(friendships.friendId))
        .limit(input.limit + 1);
      const page = rows.slice(0, input.limit);
      const live = await deps.presence.statuses(page.map((row) => row.user.id)).catch((error: unknown) => {
        deps.logger.warn("presence store unreachable", { error });
        throw new DomainError("UNAVAILABLE", "presence is unavailable; try again shortly");
      });
      const last = rows.length > input.limit ? rows[input.limit - 1] : undefined;
      return {
        items: page.map((row) => {
          const status = live.get(row.user.id);
          return {
            user: row.user,
            since: row.since.toISOString(),
            status: status ?? "offline",
            lastSeenAt: status ? null : (row.lastSeenAt?.toISOString() ?? null),
          };
        }),
        nextCursor: last ? encodeCursor([last.sinceKey, last.user.id]) : null,
      };
    },

    async requests(userId) {
      const [incoming, outgoing] = await Promise.all([requestsOf(userId, "incoming"), requestsOf(userId, "outgoing")]);
      return { incoming, outgoing };
    },
  };
}
