import { authedProcedure, router } from "../../transport/trpc/trpc.ts";
import { ListMessagesInput, SendMessageInput } from "./messages.schema.ts";

export const messagesRouter = router({
  /** Resolves with the committed message, also for a retry with the same clientMsgId. */
  send: authedProcedure
    .input(SendMessageInput)
    .mutation(async ({ ctx, input }) => (await ctx.services.messages.send(ctx.session.userId, input)).message),
  list: authedProcedure
    .input(ListMessagesInput)
    .query(({ ctx, input }) => ctx.services.messages.list(ctx.session.userId, input)),
});
