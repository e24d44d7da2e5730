import { useMutation } from "@tanstack/react-query";
import { fieldsOf } from "./App.tsx";
import { useTRPC } from "./trpc.ts";

/**
 * "Forgot password?" on the sign-in screen: auth.requestPasswordReset emails a link to the server's
 * /reset-password page. The answer is the same whether or not the address has an account, and so is this text.
 */
export function ForgotPassword({ onBack }: { onBack: () => void }) {
  const trpc = useTRPC();
  const request = useMutation(trpc.auth.requestPasswordReset.mutationOptions());
  return (
    <form
      aria-label="Reset password"
      data-testid="forgot-form"
      onSubmit={(event) => {
        request.mutate({ email: fieldsOf(event).get("email") });
      }}
    >
      <h2 className="forgot-heading">Forgot your password?</h2>
      <p className="hint">We email you a link to choose a new password; it works for 30 minutes.</p>
      <label>
        Email
        <input name="email" type="email" autoComplete="email" maxLength={254} required data-testid="forgot-email" />
      </label>
      <button type="submit" className="primary" disabled={request.isPending} data-testid="forgot-submit">
        Email me a link
      </button>
      <button type="button" className="link-button" onClick={onBack} data-testid="forgot-back">
        Back to sign in
      </button>
      <p className="ok" role="status" data-testid="forgot-result">
        {request.isSuccess ? "If an account has this address, a link to reset its password is on its way. Check your email." : ""}
      </p>
      <p className="notice" role="alert" data-testid="forgot-error">
        {request.error?.message}
      </p>
    </form>
  );
}
