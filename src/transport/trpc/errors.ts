import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import { DomainError, type DomainErrorCode } from "../../lib/domain-error.ts";

const CODE: Record<DomainErrorCode, TRPC_ERROR_CODE_KEY> = {
  BAD_REQUEST: "BAD_REQUEST",
  UNAUTHORIZED: "UNAUTHORIZED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  TOO_MANY_REQUESTS: "TOO_MANY_REQUESTS",
  UNAVAILABLE: "SERVICE_UNAVAILABLE",
};

/** The one DomainError → tRPC mapping. A TRPCError wrapping a DomainError is unwrapped first. */
export function toTRPCError(error: TRPCError): TRPCError {
  const cause = error.cause;
  if (cause instanceof DomainError) {
    return new TRPCError({ code: CODE[cause.code], message: cause.message, cause });
  }
  return error;
}

/**
 * Ids of unexpected errors, keyed by the error object: the log line (written by the call middleware or the
 * adapter's onError) and the client's answer (the error formatter) see the same object and so the same id.
 * A WeakMap holds nothing alive and carries no state between requests.
 */
const errorIds = new WeakMap<object, string>();

export function errorIdOf(error: object): string {
  let id = errorIds.get(error);
  if (!id) {
    id = crypto.randomUUID();
    errorIds.set(error, id);
  }
  return id;
}

/**
 * Whether an id was already given out for this error. The adapter's onError runs before the formatter, so there it
 * means exactly "the call middleware logged it" — and the adapter need not log it again.
 */
export function hasErrorId(error: object): boolean {
  return errorIds.has(error);
}
