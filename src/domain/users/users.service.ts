import { asc, eq, like, or, sql } from "drizzle-orm";
import type { Database } from "../../infra/db/database.ts";
import { users } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import { likePattern } from "./like-pattern.ts";
import { profileColumns, toProfile } from "./user-profile.ts";
import type { UpdateMeInput, UserProfile, UserPublic } from "./users.schema.ts";

export interface UserService {
  /** NOT_FOUND for an unknown id. */
  get(viewerId: string, userId: string): Promise<UserPublic>;
  /** Prefix match on username or display name, case-insensitive; at most `limit` results. */
  search(viewerId: string, input: { query: string; limit: number }): Promise<UserPublic[]>;
  /** The caller's own settings: display name, private receipts. */
  updateMe(userId: string, input: UpdateMeInput): Promise<UserProfile>;
}

const userPublicColumns = { id: users.id, username: users.username, displayName: users.displayName };

/** Any signed-in user may look up and search any other: nothing beyond `UserPublic` is ever returned. */
export function createUserService(deps: { database: Database }): UserService {
  const { db } = deps.database;
  return {
    async get(_viewerId, userId) {
      const [user] = await db.select(userPublicColumns).from(users).where(eq(users.id, userId));
      if (!user) throw new DomainError("NOT_FOUND", "no such user");
      return user;
    },
    async search(_viewerId, input) {
      // lower() on both sides, in SQL, so the pattern is folded exactly like the indexed expressions.
      const pattern = sql`lower(${likePattern(input.query, "prefix")})`;
      return db
        .select(userPublicColumns)
        .from(users)
        .where(or(like(sql`lower(${users.username})`, pattern), like(sql`lower(${users.displayName})`, pattern)))
        .orderBy(asc(users.username))
        .limit(input.limit);
    },
    async updateMe(userId, input) {
      const [row] = await db
        .update(users)
        .set({
          ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
          ...(input.privateReceipts !== undefined ? { privateReceipts: input.privateReceipts } : {}),
        })
        .where(eq(users.id, userId))
        .returning(profileColumns);
      if (!row) throw new DomainError("UNAUTHORIZED", "no such account");
      return toProfile(row);
    },
  };
}
