import { and, asc, eq, isNull, like, notExists, or, sql } from "drizzle-orm";
import type { Database } from "../../infra/db/database.ts";
import { userBlocks, users } from "../../infra/db/schema.ts";
import type { Clock } from "../../lib/clock.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { requireAvatarFile, retireAvatarFile } from "../files/avatars.ts";
import { likePattern } from "./like-pattern.ts";
import { profileColumns, publicProfileColumns, toProfile, toPublicProfile } from "./user-profile.ts";
import type { UpdateMeInput, UserProfile, UserPublic, UserPublicProfile } from "./users.schema.ts";

export interface UserService {
  /** The public profile; a deleted account reads as `deleted: true` with its placeholder name. NOT_FOUND for an unknown id. */
  get(viewerId: string, userId: string): Promise<UserPublicProfile>;
  /**
   * Prefix match on username or display name, case-insensitive; at most `limit` results. Never deleted accounts,
   * never anyone who blocked the viewer or whom the viewer blocked.
   */
  search(viewerId: string, input: { query: string; limit: number }): Promise<UserPublic[]>;
  /**
   * The caller's own settings and profile. An avatarFileId must name a ready file of purpose "avatar" the caller
   * uploaded (NOT_FOUND, BAD_REQUEST: requireAvatarFile); the avatar it replaces (or null clears) is deleted.
   */
  updateMe(userId: string, input: UpdateMeInput): Promise<UserProfile>;
}

const userPublicColumns = { id: users.id, username: users.username, displayName: users.displayName };

/** Any signed-in user may look up and search any other: nothing beyond the public profile is ever returned. */
export function createUserService(deps: { database: Database; clock: Clock }): UserService {
  const { db } = deps.database;
  const { clock } = deps;

  /** The status columns an update writes: null clears them, a status sets all three. */
  const statusColumns = (
    status: UpdateMeInput["status"],
  ): { statusText: string; statusEmoji: string; statusExpiresAt: Date | null } | Record<string, never> => {
    if (status === undefined) return {};
    if (status === null) return { statusText: "", statusEmoji: "", statusExpiresAt: null };
    const expiresAt = status.expiresInSeconds === undefined ? null : new Date(clock.now().getTime() + status.expiresInSeconds * 1000);
    return { statusText: status.text, statusEmoji: status.emoji, statusExpiresAt: expiresAt };
  };

  return {
    async get(_viewerId, userId) {
      const [user] = await db.select(publicProfileColumns).from(users).where(eq(users.id, userId));
      if (!user) throw new DomainError("NOT_FOUND", "no such user");
      return toPublicProfile(user, clock.now());
    },
    async search(viewerId, input) {
      // lower() on both sides, in SQL, so the pattern is folded exactly like the indexed expressions.
      const pattern = sql`lower(${likePattern(input.query, "prefix")})`;
      return db
        .select(userPublicColumns)
        .from(users)
        .where(
          and(
            or(like(sql`lower(${users.username})`, pattern), like(sql`lower(${users.displayName})`, pattern)),
            isNull(users.deletedAt),
            // A block hides each from the other's search, whoever blocked.
            notExists(
              db
                .select({ one: sql`1` })
                .from(userBlocks)
                .where(
                  or(
                    and(eq(userBlocks.blockerId, viewerId), eq(userBlocks.blockedId, users.id)),
                    and(eq(userBlocks.blockerId, users.id), eq(userBlocks.blockedId, viewerId)),
                  ),
                ),
            ),
          ),
        )
        .orderBy(asc(users.username))
        .limit(input.limit);
    },
    async updateMe(userId, input) {
      const row = await db.transaction(async (tx) => {
        // The row's lock: two avatar changes at once each retire what the other set, never leave one behind.
        const [before] = await tx
          .select({ avatarFileId: users.avatarFileId })
          .from(users)
          .where(and(eq(users.id, userId), isNull(users.deletedAt)))
          .for("update");
        if (!before) return undefined;
        const avatarFileId = input.avatarFileId;
        if (avatarFileId) await requireAvatarFile(tx, userId, avatarFileId, { purpose: "avatar" });
        if (avatarFileId !== undefined && before.avatarFileId !== null && before.avatarFileId !== avatarFileId) {
          await retireAvatarFile(tx, before.avatarFileId);
        }
        const [updated] = await tx
          .update(users)
          .set({
            ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
            ...(input.privateReceipts !== undefined ? { privateReceipts: input.privateReceipts } : {}),
            ...(input.bio !== undefined ? { bio: input.bio } : {}),
            ...statusColumns(input.status),
            ...(input.timezone !== undefined ? { timezone: input.timezone } : {}),
            ...(input.dmPolicy !== undefined ? { dmPolicy: input.dmPolicy } : {}),
            ...(avatarFileId !== undefined ? { avatarFileId } : {}),
          })
          .where(eq(users.id, userId))
          .returning(profileColumns);
        return updated;
      });
      if (!row) throw new DomainError("UNAUTHORIZED", "no such account");
      return toProfile(row, clock.now());
    },
  };
}
