import { TRPCError } from "@trpc/server";
import { DomainError } from "../../lib/domain-error.ts";
import type { TrpcContext } from "../../transport/trpc/context.ts";
import { authedProcedure, publicProcedure, router } from "../../transport/trpc/trpc.ts";
import type { UserProfile } from "../users/users.schema.ts";
import {
  ChangePasswordInput,
  DeleteAccountInput,
  type IssuedTokens,
  LoginInput,
  LogoutInput,
  RefreshInput,
  RefreshToken,
  RegisterInput,
  RevokeSessionInput,
  WsTicketInput,
} from "./auth.schema.ts";
import { ChangeEmailInput, RequestPasswordResetInput, ResetPasswordInput, VerifyEmailInput } from "../email/account-email.schema.ts";

export interface SignedIn {
  user: UserProfile;
  accessToken: string;
  accessTokenExpiresAt: string;
  /** Only when the client asked for `refreshTokenIn: "body"`; browsers get it as an HttpOnly cookie instead. */
  refreshToken?: string;
  refreshTokenExpiresAt: string;
}

/** The refresh token goes where the client asked: an HttpOnly cookie by default, the body only on request. */
function deliver(ctx: TrpcContext, tokens: IssuedTokens, refreshTokenIn: "cookie" | "body"): SignedIn {
  const { refreshToken, ...rest } = tokens;
  if (refreshTokenIn === "body") return { ...rest, refreshToken };
  ctx.refreshCookie.set(refreshToken, new Date(tokens.refreshTokenExpiresAt));
  return rest;
}

/** The cookie is ambient: only a request from an allowed origin may act on it (CSRF). */
function requireAllowedOrigin(ctx: TrpcContext): void {
  if (!ctx.hasAllowedOrigin()) {
    throw new TRPCError({ code: "FORBIDDEN", message: "the refresh cookie may only be used from an allowed origin" });
  }
}

export const authRouter = router({
  register: publicProcedure
    .input(RegisterInput)
    .mutation(async ({ ctx, input }) => deliver(ctx, await ctx.services.auth.register(input, ctx.meta), input.refreshTokenIn)),

  login: publicProcedure
    .input(LoginInput)
    .mutation(async ({ ctx, input }) => deliver(ctx, await ctx.services.auth.login(input, ctx.meta), input.refreshTokenIn)),

  refresh: publicProcedure.input(RefreshInput).mutation(async ({ ctx, input }) => {
    if (input.refreshToken !== undefined) {
      return deliver(ctx, await ctx.services.auth.refresh(input.refreshToken, ctx.meta), input.refreshTokenIn);
    }
    requireAllowedOrigin(ctx);
    const raw = ctx.refreshCookie.read();
    const cookie = RefreshToken.safeParse(raw);
    if (!cookie.success) {
      if (raw !== null) ctx.refreshCookie.clear();
      throw new TRPCError({ code: "UNAUTHORIZED", message: "no refresh token" });
    }
    // A refused cookie is not cleared: when two tabs race, the loser's answer can arrive after the winner's
    // Set-Cookie, and clearing would delete the fresh cookie and sign every tab out. A dead cookie is harmless.
    return deliver(ctx, await ctx.services.auth.refresh(cookie.data, ctx.meta), input.refreshTokenIn);
  }),

  /**
   * Ends the session named by the body's refresh token, else the cookie's, else the bearer token's. Idempotent:
   * with nothing (left) to end it still succeeds, because the caller's goal — no usable session — holds.
   */
  logout: publicProcedure.input(LogoutInput).mutation(async ({ ctx, input }): Promise<{ loggedOut: true }> => {
    if (input.refreshToken !== undefined) {
      await ctx.services.auth.logout({ refreshToken: input.refreshToken });
      return { loggedOut: true };
    }
    const cookie = ctx.refreshCookie.read();
    if (cookie !== null) {
      requireAllowedOrigin(ctx);
      await ctx.services.auth.logout({ refreshToken: cookie });
      ctx.refreshCookie.clear();
      return { loggedOut: true };
    }
    const session = await ctx.authenticate().catch((error: unknown) => {
      // An access token that no longer verifies belongs to a session that is already over.
      if (error instanceof DomainError && error.code === "UNAUTHORIZED") return null;
      throw error;
    });
    if (session) await ctx.services.auth.logout({ session });
    return { loggedOut: true };
  }),

  me: authedProcedure.query(({ ctx }) => ctx.services.auth.me(ctx.session)),

  sessions: authedProcedure.query(({ ctx }) => ctx.services.auth.listSessions(ctx.session)),

  /** Its sockets close on every instance and its tokens stop working; revoking the current session is a logout. */
  revokeSession: authedProcedure
    .input(RevokeSessionInput)
    .mutation(({ ctx, input }) => ctx.services.auth.revokeSession(ctx.session, input.sessionId)),

  revokeOtherSessions: authedProcedure.mutation(({ ctx }) => ctx.services.auth.revokeOtherSessions(ctx.session)),

  changePassword: authedProcedure
    .input(ChangePasswordInput)
    .mutation(({ ctx, input }) => ctx.services.auth.changePassword(ctx.session, input, ctx.meta)),

  /** The token from an email's link: verifies the address, or confirms an email change (see README "Email"). */
  verifyEmail: publicProcedure.input(VerifyEmailInput).mutation(({ ctx, input }) => ctx.services.auth.verifyEmail(input, ctx.meta)),

  resendVerification: authedProcedure.mutation(({ ctx }) => ctx.services.auth.resendVerification(ctx.session)),

  /** The same answer whether or not the address has an account. */
  requestPasswordReset: publicProcedure
    .input(RequestPasswordResetInput)
    .mutation(({ ctx, input }) => ctx.services.auth.requestPasswordReset(input, ctx.meta)),

  /** Signs out every session of the account (their sockets close); the user signs in with the new password. */
  resetPassword: publicProcedure.input(ResetPasswordInput).mutation(({ ctx, input }) => ctx.services.auth.resetPassword(input, ctx.meta)),

  changeEmail: authedProcedure.input(ChangeEmailInput).mutation(({ ctx, input }) => ctx.services.auth.changeEmail(ctx.session, input, ctx.meta)),

  /** Ends every session and socket of the account at once; see README "Deleting an account". */
  deleteAccount: authedProcedure
    .input(DeleteAccountInput)
    .mutation(({ ctx, input }) => ctx.services.auth.deleteAccount(ctx.session, input, ctx.meta)),

  /**
   * A one-time ticket for `/ws?ticket=…`; a mutation, so it is minted only by POST. A lone instance without Redis
   * refuses it (retryable, with when) while it drains: its tickets die with it — and, unlike a refused upgrade, a
   * refused call is something a browser can read.
   */
  wsTicket: authedProcedure.input(WsTicketInput).mutation(({ ctx, input }) => {
    const drainingFor = ctx.drainingFor();
    if (drainingFor !== null) throw new DomainError("UNAVAILABLE", "this server is restarting; reconnect shortly", drainingFor);
    return ctx.services.auth.issueWsTicket(ctx.session, input.resume);
  }),
});
