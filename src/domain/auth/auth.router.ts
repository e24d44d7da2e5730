import { router } from "../../transport/trpc/trpc.ts";

export const authRouter = router({});
