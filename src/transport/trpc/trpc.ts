import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import type { AuthSession } from "../../domain/auth/auth.schema.ts";
import { DomainError } from "../../lib/domain-error.ts";
import type { TrpcContext } from "./context.ts";
import { errorIdOf, toTRPCError } from "./errors.ts";

const t = initTRPC.context<TrpcContext>().create({
  errorFormatter({ shape, error }) {
    const zodError = error.cause instanceof ZodError ? error.cause : null;
    const domainError = error.cause instanceof DomainError ? error.cause : null;
    // An unexpected error's message may be anything (a failed query with its parameters, a driver's internals):
    // the client gets a generic line and an id that is also on the server's log line about it.
    const internal = error.code === "INTERNAL_SERVER_ERROR";
    return {
      ...shape,
      // zod's own message is its issue list as JSON; say it in one readable line instead.
      message: internal
        ? "internal error"
        : zodError
          ? zodError.issues.map((issue) => `${issue.path.join(".") || "input"}: ${issue.message}`).join("; ")
          : shape.message,
      data: {
        ...shape.data,
        // Never leak stacks to clients.
        stack: undefined,
        /** Field-level messages for BAD_REQUEST caused by input validation. */
        issues: zodError ? zodError.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })) : null,
        retryAfterSeconds: domainError?.retryAfterSeconds ?? null,
        /** A finer cause the client can act on (ROOM_FULL, ROOM_LIMIT); null when the code says it all. */
        reason: domainError?.reason ?? null,
        /** Only for INTERNAL_SERVER_ERROR: quote it to the operator, who finds it in the server log. */
        errorId: internal ? errorIdOf(error) : null,
      },
    };
  },
});

export const router = t.router;

/**
 * One log line and one count per call — also for each call inside a batch — with its path, outcome and duration.
 * Unexpected errors are logged here with their id and cause; typed refusals are answers, not incidents.
 */
const observeCall = t.middleware(async ({ ctx, path, type, next }) => {
  const started = performance.now();
  const result = await next();
  const seconds = (performance.now() - started) / 1000;
  const outcome = result.ok ? "ok" : result.error.code;
  ctx.metrics?.calls.inc({ procedure: path, outcome });
  ctx.metrics?.callSeconds.observe({ procedure: path }, seconds);
  const fields = { path, type, outcome, ms: Math.round(seconds * 10_000) / 10 };
  if (!result.ok && result.error.code === "INTERNAL_SERVER_ERROR") {
    ctx.logger.error("call failed", { ...fields, errorId: errorIdOf(result.error), error: result.error.cause ?? result.error });
  } else {
    ctx.logger.info("call", fields);
  }
  return result;
});

/** Maps DomainError (and anything unexpected) to a typed tRPC error exactly once. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw toTRPCError(result.error);
  return result;
});

const procedure = t.procedure.use(observeCall).use(mapErrors);

/** Calls anyone may make; each is charged to the client address's call budget. */
export const publicProcedure = procedure.use(async ({ ctx, next }) => {
  await ctx.chargeCall(null);
  return next();
});

/** Calls for a signed-in user; each is charged to that user's call budget. */
export const authedProcedure = procedure.use(async ({ ctx, next }) => {
  const session: AuthSession | null = await ctx.authenticate();
  if (!session) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first" });
  await ctx.chargeCall(session);
  return next({ ctx: { session } });
});

export const createCallerFactory = t.createCallerFactory;
