import { and, eq, or } from "drizzle-orm";
import type { Db } from "../../infra/db/database.ts";
import { userBlocks } from "../../infra/db/schema.ts";
import { DomainError } from "../../lib/domain-error.ts";

/** Whether either of the two blocked the other (a block stops what passes between them in both directions). */
export async function blockedEitherWay(db: Db, a: string, b: string): Promise<boolean> {
  const [row] = await db
    .select({ blockerId: userBlocks.blockerId })
    .from(userBlocks)
    .where(
      or(
        and(eq(userBlocks.blockerId, a), eq(userBlocks.blockedId, b)),
        and(eq(userBlocks.blockerId, b), eq(userBlocks.blockedId, a)),
      ),
    )
    .limit(1);
  return row !== undefined;
}

/**
 * FORBIDDEN reason BLOCKED when either blocked the other. The message never says who blocked whom: a blocked user
 * learns only that they cannot reach this person.
 */
export async function requireNotBlocked(db: Db, a: string, b: string, action: string): Promise<void> {
  if (await blockedEitherWay(db, a, b)) throw new DomainError("FORBIDDEN", `you cannot ${action} this user`, { reason: "BLOCKED" });
}
