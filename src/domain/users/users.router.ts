import { authedProcedure, router } from "../../transport/trpc/trpc.ts";
import { GetUserInput, SearchUsersInput, UpdateMeInput } from "./users.schema.ts";

export const usersRouter = router({
  get: authedProcedure
    .input(GetUserInput)
    .query(({ ctx, input }) => ctx.services.users.get(ctx.session.userId, input.userId)),
  search: authedProcedure
    .input(SearchUsersInput)
    .query(({ ctx, input }) => ctx.services.users.search(ctx.session.userId, input)),
  updateMe: authedProcedure
    .input(UpdateMeInput)
    .mutation(({ ctx, input }) => ctx.services.users.updateMe(ctx.session.userId, input)),
});
