import { TRPCError } from "@trpc/server";
import { expect } from "vitest";
import { ZodError } from "zod";
import type { Services } from "../../src/domain/services.ts";
import { createCaller } from "../../src/transport/trpc/app-router.ts";
import { createInnerContext } from "../../src/transport/trpc/context.ts";
import { DomainError } from "../../src/lib/domain-error.ts";

export type Caller = ReturnType<typeof createCaller>;

/** The tRPC API as the signed-in `userId` calls it (in-process, through the real routers and middleware). */
export function callerFor(services: Services, userId: string): Caller {
  return createCaller(createInnerContext({ services, session: { userId, sessionId: "s" } }));
}

/** The rejection of `promise`, which must reject. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("expected a rejection"),
    (error: unknown) => error,
  );
}

/** The TRPCError a procedure call rejects with. */
export async function trpcError(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

/** Asserts BAD_REQUEST from input validation and returns the zod issue messages. */
export async function inputIssues(promise: Promise<unknown>): Promise<string[]> {
  const error = await trpcError(promise);
  expect(error.code).toBe("BAD_REQUEST");
  expect(error.cause).toBeInstanceOf(ZodError);
  return (error.cause as ZodError).issues.map((issue) => issue.message);
}

/** The DomainError a service call rejects with. */
export async function domainError(promise: Promise<unknown>): Promise<DomainError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

/** What an outsider gets for a private room, and for a room that does not exist: exactly the same. */
export const NOT_A_MEMBER = { code: "FORBIDDEN", message: "not a member of this room" } as const;
