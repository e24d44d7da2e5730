import { authedProcedure, router } from "../../transport/trpc/trpc.ts";
import { MarkInput, MessageStatusInput } from "../receipts/receipts.schema.ts";
import { SearchMessagesInput } from "../search/search.schema.ts";
import { ListMessagesInput, SendMessageInput } from "./messages.schema.ts";

export const messagesRouter = router({
  /** Resolves with the committed message, also for a retry with the same clientMsgId. */
  send: authedProcedure
    .input(SendMessageInput)
    .mutation(async ({ ctx, input }) => (await ctx.services.messages.send(ctx.session.userId, input)).message),
  list: authedProcedure
    .input(ListMessagesInput)
    .query(({ ctx, input }) => ctx.services.messages.list(ctx.session.userId, input)),
  /** Full-text search across every room the caller is a member of, best first (see README, Search). */
  search: authedProcedure
    .input(SearchMessagesInput)
    .query(({ ctx, input }) => ctx.services.search.search(ctx.session.userId, input)),
  /** Moves the caller's read watermark (never backwards); returns the new unread count. */
  markRead: authedProcedure
    .input(MarkInput)
    .mutation(({ ctx, input }) => ctx.services.receipts.markRead(ctx.session.userId, input)),
  /** Moves the delivered watermark; the SDK reports it over the socket, this is for HTTP-only clients. */
  markDelivered: authedProcedure
    .input(MarkInput)
    .mutation(({ ctx, input }) => ctx.services.receipts.markDelivered(ctx.session.userId, input)),
  /** Sent / delivered / read, per member, for one message. */
  status: authedProcedure
    .input(MessageStatusInput)
    .query(({ ctx, input }) => ctx.services.receipts.status(ctx.session.userId, input)),
});
