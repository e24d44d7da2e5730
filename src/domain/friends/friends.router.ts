import { authedProcedure, router } from "../../transport/trpc/trpc.ts";
import { FriendTarget, ListFriendsInput } from "./friends.schema.ts";

/** Friend requests and friendships; each change reaches both people's devices as `friend.updated`. */
export const friendsRouter = router({
  request: authedProcedure
    .input(FriendTarget)
    .mutation(({ ctx, input }) => ctx.services.friends.request(ctx.session.userId, input.userId)),
  accept: authedProcedure
    .input(FriendTarget)
    .mutation(({ ctx, input }) => ctx.services.friends.accept(ctx.session.userId, input.userId)),
  decline: authedProcedure
    .input(FriendTarget)
    .mutation(({ ctx, input }) => ctx.services.friends.decline(ctx.session.userId, input.userId)),
  cancel: authedProcedure
    .input(FriendTarget)
    .mutation(({ ctx, input }) => ctx.services.friends.cancel(ctx.session.userId, input.userId)),
  remove: authedProcedure
    .input(FriendTarget)
    .mutation(({ ctx, input }) => ctx.services.friends.remove(ctx.session.userId, input.userId)),
  list: authedProcedure.input(ListFriendsInput).query(({ ctx, input }) => ctx.services.friends.list(ctx.session.userId, input)),
  requests: authedProcedure.query(({ ctx }) => ctx.services.friends.requests(ctx.session.userId)),
});
