import { authedProcedure, router } from "../../transport/trpc/trpc.ts";
import { ReportInput, ReportsInput, ResolveInput } from "./moderation.schema.ts";

export const moderationRouter = router({
  report: authedProcedure.input(ReportInput).mutation(({ ctx, input }) => ctx.services.moderation.report(ctx.session.userId, input)),
  reports: authedProcedure.input(ReportsInput).query(({ ctx, input }) => ctx.services.moderation.reports(ctx.session.userId, input)),
  resolve: authedProcedure.input(ResolveInput).mutation(({ ctx, input }) => ctx.services.moderation.resolve(ctx.session.userId, input)),
});
