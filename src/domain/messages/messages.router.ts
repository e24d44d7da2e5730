import { authedProcedure, router } from "../../transport/trpc/trpc.ts";
import { MarkInput, MessageStatusInput } from "../receipts/receipts.schema.ts";
import { SearchMessagesInput } from "../search/search.schema.ts";
import {
  EditMessageInput,
  ListMessagesInput,
  MessageRef,
  PinnedInput,
  ReactionInput,
  ReactorsInput,
  SendMessageInput,
  ThreadInput,
} from "./messages.schema.ts";

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
  /** Each change below is a room event with the room's next seq; it answers the message after it. */
  edit: authedProcedure
    .input(EditMessageInput)
    .mutation(({ ctx, input }) => ctx.services.messageChanges.edit(ctx.session.userId, input)),
  delete: authedProcedure
    .input(MessageRef)
    .mutation(({ ctx, input }) => ctx.services.messageChanges.delete(ctx.session.userId, input)),
  react: authedProcedure
    .input(ReactionInput)
    .mutation(({ ctx, input }) => ctx.services.messageChanges.react(ctx.session.userId, input)),
  unreact: authedProcedure
    .input(ReactionInput)
    .mutation(({ ctx, input }) => ctx.services.messageChanges.unreact(ctx.session.userId, input)),
  pin: authedProcedure
    .input(MessageRef)
    .mutation(({ ctx, input }) => ctx.services.messageChanges.pin(ctx.session.userId, input)),
  unpin: authedProcedure
    .input(MessageRef)
    .mutation(({ ctx, input }) => ctx.services.messageChanges.unpin(ctx.session.userId, input)),
  thread: authedProcedure
    .input(ThreadInput)
    .query(({ ctx, input }) => ctx.services.messages.thread(ctx.session.userId, input)),
  edits: authedProcedure
    .input(MessageRef)
    .query(({ ctx, input }) => ctx.services.messages.edits(ctx.session.userId, input)),
  reactors: authedProcedure
    .input(ReactorsInput)
    .query(({ ctx, input }) => ctx.services.messages.reactors(ctx.session.userId, input)),
  pinned: authedProcedure
    .input(PinnedInput)
    .query(({ ctx, input }) => ctx.services.messages.pinned(ctx.session.userId, input)),
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
