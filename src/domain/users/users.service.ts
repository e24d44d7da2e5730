import type { Database } from "../../infra/db/database.ts";
import type { UserPublic } from "./users.schema.ts";

export interface UserService {
  /** NOT_FOUND for an unknown id. */
  get(viewerId: string, userId: string): Promise<UserPublic>;
  /** Prefix match on username or display name, case-insensitive; at most `limit` results. */
  search(viewerId: string, input: { query: string; limit: number }): Promise<UserPublic[]>;
}

export function createUserService(deps: { database: Database }): UserService {
  void deps;
  throw new Error("not implemented yet");
}
