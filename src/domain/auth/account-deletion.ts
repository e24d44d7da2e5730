import { and, eq, inArray, isNull, or, type SQL } from "drizzle-orm";
import type { Database } from "../../infra/db/database.ts";
import { files, friendRequests, friendships, roomInvitations, userBlocks, users } from "../../infra/db/schema.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { Logger } from "../../lib/logger.ts";
import type { EventPublisher } from "../events.ts";
import { disposeFiles } from "../files/file-disposal.ts";
import type { AuthSession, DeleteAccountInput, RequestMeta } from "./auth.schema.ts";
import { verifyPassword } from "./password.ts";
import type { SessionStore } from "./sessions.ts";

/** "Delete my account". */
export interface AccountDeletion {
  /**
   * UNAUTHORIZED for a wrong password (counted like a failed login). Then: every session ends and its sockets close;
   * the account leaves every room (account-departure.ts; UNAVAILABLE, nothing deleted, if some room could not be
   * left); the row becomes a tombstone (see `tombstone`) so messages keep their sender; friendships, friend requests,
   * blocks both ways and pending invitations go, and so do their avatar and uploads never sent (their objects
   * through the outbox). Messages stay with their bodies: the conversations they belong to
   * stay readable for everyone else in them.
   */
  deleteAccount(session: AuthSession, input: DeleteAccountInput, meta: RequestMeta): Promise<{ deleted: true }>;
}

export interface AccountDeletionDeps {
  database: Database;
  sessions: SessionStore;
  events: EventPublisher;
  clock: Clock;
  logger: Logger;
  announceRevoked(family: { sessionId: string; userId: string }, reason: string): Promise<void>;
  limitPasswordCheck(userId: string, meta: RequestMeta, check: () => Promise<boolean>): Promise<boolean>;
  leaveEveryRoom(userId: string): Promise<{ failed: number }>;
}

/** Not a PHC string: no password verifies against it. */
const UNUSABLE_PASSWORD_HASH = "!deleted";

/**
 * What is left of a deleted account: nothing that identifies the person, and names nobody can register (a
 * username longer than registration allows, an address in the reserved `.invalid` domain), unique by the id.
 */
function tombstone(userId: string, now: Date) {
  return {
    email: `deleted+${userId}@invalid`,
    username: `deleted-${userId}`,
    displayName: "Deleted user",
    passwordHash: UNUSABLE_PASSWORD_HASH,
    emailVerifiedAt: null,
    bio: "",
    statusText: "",
    statusEmoji: "",
    statusExpiresAt: null,
    timezone: null,
    dmPolicy: "nobody",
    avatarFileId: null,
    deletedAt: now,
  };
}

export function createAccountDeletion(deps: AccountDeletionDeps): AccountDeletion {
  const { database, sessions, logger } = deps;

  const announceAll = (userId: string, sessionIds: string[]): Promise<unknown> =>
    Promise.all(sessionIds.map((sessionId) => deps.announceRevoked({ sessionId, userId }, "account-deleted")));

  /** Ends every live session of the user, the caller's too, and closes their sockets on every instance. */
  const endEverySession = async (userId: string, current: string): Promise<void> => {
    const others = await sessions.revokeAllBut(userId, current);
    await sessions.revoke(current);
    await announceAll(userId, [...others, current]);
  };

  return {
    async deleteAccount(session, input, meta) {
      const { userId } = session;
      const [row] = await database.db
        .select({ passwordHash: users.passwordHash })
        .from(users)
        .where(and(eq(users.id, userId), isNull(users.deletedAt)))
        .limit(1);
      if (!row) throw new DomainError("UNAUTHORIZED", "invalid or expired access token");
      const matches = await deps.limitPasswordCheck(userId, meta, () => verifyPassword(row.passwordHash, input.password.normalize("NFKC")));
      if (!matches) {
        logger.info("account deletion refused", { reason: "wrong-password", userId });
        throw new DomainError("UNAUTHORIZED", "wrong password");
      }
      // Sessions first, then the rooms, then the row: should anything before the tombstone fail, the account is
      // signed out but intact (perhaps in fewer rooms), and signing in again to retry still works.
      await endEverySession(userId, session.sessionId);
      const { failed } = await deps.leaveEveryRoom(userId);
      if (failed > 0) {
        throw new DomainError("UNAVAILABLE", "your account could not leave every room and was not deleted; sign in and try again");
      }
      const { befriended, blockers } = await database.db.transaction(async (tx) => {
        // The row lock orders this after (or before) any friends.* change to the same people.
        await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for("update");
        await tx.update(users).set(tombstone(userId, deps.clock.now())).where(eq(users.id, userId));
        // Files that were only theirs go (their avatar, uploads never sent); files sent with messages stay with them.
        await disposeFiles(
          tx,
          and(eq(files.ownerId, userId), isNull(files.messageId), inArray(files.purpose, ["attachment", "avatar"])) as SQL,
          `files.deleteObjects:account:${userId}`,
        );
        const friends = await tx.delete(friendships).where(eq(friendships.userId, userId)).returning({ otherId: friendships.friendId });
        await tx.delete(friendships).where(eq(friendships.friendId, userId));
        const requests = await tx
          .delete(friendRequests)
          .where(or(eq(friendRequests.fromUserId, userId), eq(friendRequests.toUserId, userId)))
          .returning({ from: friendRequests.fromUserId, to: friendRequests.toUserId });
        const blocks = await tx
          .delete(userBlocks)
          .where(or(eq(userBlocks.blockerId, userId), eq(userBlocks.blockedId, userId)))
          .returning({ blockerId: userBlocks.blockerId });
        await tx.delete(roomInvitations).where(or(eq(roomInvitations.inviteeId, userId), eq(roomInvitations.inviterId, userId)));
        return {
          befriended: [...friends.map((friend) => friend.otherId), ...requests.map((request) => (request.from === userId ? request.to : request.from))],
          blockers: blocks.map((block) => block.blockerId).filter((blockerId) => blockerId !== userId),
        };
      });
      // A sign-in that raced the revocation (it still knew the password) ends here: its account is gone now.
      await announceAll(userId, await sessions.revokeAllBut(userId, session.sessionId));
      // Committed already: a lost event is reconciled by the next friends.* or users.blocked read, so it fails nothing.
      const told = await Promise.allSettled([
        ...[...new Set(befriended)].map((otherId) => deps.events.toUser(otherId, { type: "friend.updated", userId, state: "none" })),
        // Whoever had blocked it keeps their devices' blocked sets true (the block is gone with the account).
        ...blockers.map((blockerId) => deps.events.toUser(blockerId, { type: "block.updated", userId, blocked: false })),
      ]);
      for (const result of told) {
        if (result.status === "rejected") logger.error("user event not published", { error: result.reason });
      }
      logger.info("account deleted", { userId });
      return { deleted: true };
    },
  };
}
