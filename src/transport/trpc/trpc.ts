import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import type { AuthSession } from "../../domain/auth/auth.schema.ts";
import type { TrpcContext } from "./context.ts";
import { toTRPCError } from "./errors.ts";

const t = initTRPC.context<TrpcContext>().create({
  errorFormatter({ shape, error }) {
    const zodError = error.cause instanceof ZodError ? error.cause : null;
    return {
      ...shape,
      // zod's own message is its issue list as JSON; say it in one readable line instead.
      message: zodError ? zodError.issues.map((issue) => `${issue.path.join(".") || "input"}: ${issue.message}`).join("; ") : shape.message,
      data: {
        ...shape.data,
        // Never leak stacks to clients.
        stack: undefined,
        /** Field-level messages for BAD_REQUEST caused by input validation. */
        issues: zodError ? zodError.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })) : null,
        retryAfterSeconds:
          error.cause && "retryAfterSeconds" in error.cause && typeof error.cause.retryAfterSeconds === "number"
            ? error.cause.retryAfterSeconds
            : null,
      },
    };
  },
});

export const router = t.router;

/** Maps DomainError (and anything unexpected) to a typed tRPC error exactly once. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw toTRPCError(result.error);
  return result;
});

export const publicProcedure = t.procedure.use(mapErrors);

export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const session: AuthSession | null = await ctx.authenticate();
  if (!session) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first" });
  return next({ ctx: { session } });
});

export const createCallerFactory = t.createCallerFactory;
