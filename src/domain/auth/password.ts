import { hash, verify } from "@node-rs/argon2";

/** OWASP's Argon2id minimum: 19 MiB, 2 iterations, 1 lane. Argon2id is the library default (see stack.md). */
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`). Hashing runs off the main thread. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

/** False for a wrong password and for a malformed hash; never throws on user input. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}
