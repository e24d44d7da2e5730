import { authedProcedure, router } from "../../transport/trpc/trpc.ts";
import { CreateUploadInput, FileIdInput, FileUrlInput } from "./files.schema.ts";

export const filesRouter = router({
  createUpload: authedProcedure
    .input(CreateUploadInput)
    .mutation(({ ctx, input }) => ctx.services.files.createUpload(ctx.session.userId, input)),
  complete: authedProcedure.input(FileIdInput).mutation(({ ctx, input }) => ctx.services.files.complete(ctx.session.userId, input.fileId)),
  url: authedProcedure.input(FileUrlInput).query(({ ctx, input }) => ctx.services.files.url(ctx.session.userId, input)),
});
