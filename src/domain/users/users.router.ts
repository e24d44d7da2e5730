import { authedProcedure, router } from "../../transport/trpc/trpc.ts";
import { BlockedUsersInput, BlockUserInput, GetUserInput, SearchUsersInput, UpdateMeInput } from "./users.schema.ts";

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
  block: authedProcedure
    .input(BlockUserInput)
    .mutation(({ ctx, input }) => ctx.services.blocks.block(ctx.session.userId, input.userId)),
  unblock: authedProcedure
    .input(BlockUserInput)
    .mutation(({ ctx, input }) => ctx.services.blocks.unblock(ctx.session.userId, input.userId)),
  blocked: authedProcedure
    .input(BlockedUsersInput)
    .query(({ ctx, input }) => ctx.services.blocks.blocked(ctx.session.userId, input)),
});
