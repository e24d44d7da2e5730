import { users } from "../../src/infra/db/schema.ts";
import { hashPassword } from "../../src/domain/auth/password.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import type { Database } from "../../src/infra/db/database.ts";

export const TEST_PASSWORD = "correct horse battery staple";

let passwordHash: Promise<string> | null = null;

let counter = 0;

/** A unique username (3–32 of [a-z0-9_.-]) for this test run. */
export function uniqueUsername(prefix = "user"): string {
  counter += 1;
  return `${prefix}_${counter}_${Math.random().toString(36).slice(2, 8)}`.slice(0, 32);
}

/**
 * Inserts a user whose password is TEST_PASSWORD. For suites about rooms and messages, where the account
 * itself is not under test; auth suites register through `auth.register`. The hash is computed once per file.
 */
export async function createUser(
  database: Database,
  overrides: { username?: string; displayName?: string; email?: string } = {},
): Promise<UserPublic> {
  passwordHash ??= hashPassword(TEST_PASSWORD);
  const username = overrides.username ?? uniqueUsername();
  const [row] = await database.db
    .insert(users)
    .values({
      username,
      email: overrides.email ?? `${username}@example.test`,
      displayName: overrides.displayName ?? username,
      passwordHash: await passwordHash,
    })
    .returning({ id: users.id, username: users.username, displayName: users.displayName });
  if (!row) throw new Error("user insert returned nothing");
  return row;
}
