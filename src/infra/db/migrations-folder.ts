import { fileURLToPath } from "node:url";

/** drizzle/ at the repository root, resolved from this file so the cwd does not matter. */
export const migrationsFolder = fileURLToPath(new URL("../../../drizzle", import.meta.url));
