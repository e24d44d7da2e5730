import { router } from "../../transport/trpc/trpc.ts";

export const usersRouter = router({});
