import { authedProcedure, router } from "../../transport/trpc/trpc.ts";
import { GetPresenceInput, SetPresenceInput } from "./presence.schema.ts";

export const presenceRouter = router({
  get: authedProcedure
    .input(GetPresenceInput)
    .query(({ ctx, input }) => ctx.services.presence.get(ctx.session.userId, input.userIds)),
  set: authedProcedure
    .input(SetPresenceInput)
    .mutation(({ ctx, input }) => ctx.services.presence.set(ctx.session.userId, input.status)),
});
