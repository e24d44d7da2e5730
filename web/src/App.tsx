import type { Credentials, Registration, UserProfile } from "@parley/client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { ChatView } from "./ChatView.tsx";
import { ForgotPassword } from "./ForgotPassword.tsx";
import { parley, startSession } from "./parley.ts";
import { keepPendingFor, pending } from "./sending.ts";
import { useTRPC } from "./trpc.ts";

type Status = "restoring" | "signed-out" | "signed-in";

/** Signed in or not. A reload signs in again from the HttpOnly refresh cookie (`restore()`), so it keeps the session. */
export function App() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<Status>("restoring");
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { enabled: status === "signed-in", staleTime: Infinity }));

  useEffect(() => {
    let current = true;
    void parley.restore().then((restored) => {
      if (current) setStatus(restored ? "signed-in" : "signed-out");
    });
    return () => {
      current = false;
    };
  }, []);

  useEffect(() => (status === "signed-in" ? startSession() : undefined), [status]);
  // Sends this person left unacknowledged on an earlier page go out now (same clientMsgIds: once each).
  const myId = status === "signed-in" ? me.data?.id : undefined;
  useEffect(() => {
    if (myId) pending.resume(keepPendingFor(myId));
  }, [myId]);

  const signedOut = (): void => {
    queryClient.clear(); // the next user must not see this one's rooms
    pending.clear();
    setStatus("signed-out");
  };
  /** The server already ended the session: the SDK forgets its tokens (its logout call may be refused, rightly). */
  const sessionEnded = (): void => void parley.logout().catch(() => undefined).finally(signedOut);
  // Revoked from another device (or by a password change, reset or deletion): the socket closes for good, and so
  // this page signs out rather than showing a chat that can no longer load.
  useEffect(
    () =>
      parley.realtime.on("state", ({ state, reason }) => {
        if (state === "closed" && (reason === "session revoked" || reason === "unauthenticated")) sessionEnded();
      }),
    [],
  );

  const signedIn = (user: UserProfile): void => {
    queryClient.setQueryData(trpc.auth.me.queryKey(), user);
    setStatus("signed-in");
  };
  const logout = useMutation({ mutationFn: () => parley.logout(), onSettled: signedOut });

  if (status === "restoring") return <p className="loading" role="status">Loading…</p>;
  if (status === "signed-out") return <AuthView onSignedIn={signedIn} />;
  if (!me.data) return <p className="notice" role="alert" data-testid="app-error">{me.error?.message ?? ""}</p>;
  return <ChatView me={me.data} onLogout={() => logout.mutate()} onDeleted={sessionEnded} />;
}

/** Sign up or sign in through the SDK, which keeps the tokens (and leaves the refresh cookie). */
function AuthView({ onSignedIn }: { onSignedIn: (user: UserProfile) => void }) {
  const [mode, setMode] = useState<"sign-in" | "sign-up" | "forgot">("sign-in");
  const register = useMutation({ mutationFn: (input: Registration) => parley.register(input), onSuccess: onSignedIn });
  const login = useMutation({ mutationFn: (input: Credentials) => parley.login(input), onSuccess: onSignedIn });
  const error = mode === "sign-up" ? register.error : mode === "sign-in" ? login.error : null;

  return (
    <main className="auth" data-testid="auth-view">
      <h1>Parley</h1>
      <div className="tabs" role="group" aria-label="Account">
        <button type="button" aria-pressed={mode === "sign-in"} onClick={() => setMode("sign-in")} data-testid="show-login">
          Sign in
        </button>
        <button type="button" aria-pressed={mode === "sign-up"} onClick={() => setMode("sign-up")} data-testid="show-register">
          Sign up
        </button>
      </div>
      {mode === "forgot" ? (
        <ForgotPassword onBack={() => setMode("sign-in")} />
      ) : mode === "sign-up" ? (
        <form
          aria-label="Sign up"
          data-testid="register-form"
          onSubmit={(event) => {
            const form = fieldsOf(event);
            const displayName = form.get("displayName").trim();
            register.mutate({ email: form.get("email"), username: form.get("username"), password: form.get("password"), ...(displayName ? { displayName } : {}) });
          }}
        >
          <label>
            Email
            <input name="email" type="email" autoComplete="email" required data-testid="register-email" />
          </label>
          <label>
            Username
            <input name="username" autoComplete="username" required data-testid="register-username" />
          </label>
          <label>
            Display name (optional)
            <input name="displayName" autoComplete="name" data-testid="register-display-name" />
          </label>
          <label>
            Password (8 characters or more)
            <input name="password" type="password" autoComplete="new-password" minLength={8} required data-testid="register-password" />
          </label>
          <button type="submit" className="primary" disabled={register.isPending} data-testid="register-submit">
            Create account
          </button>
        </form>
      ) : (
        <form
          aria-label="Sign in"
          data-testid="login-form"
          onSubmit={(event) => {
            const form = fieldsOf(event);
            login.mutate({ login: form.get("login"), password: form.get("password") });
          }}
        >
          <label>
            Username or email
            <input name="login" autoComplete="username" required data-testid="login-name" />
          </label>
          <label>
            Password
            <input name="password" type="password" autoComplete="current-password" required data-testid="login-password" />
          </label>
          <button type="submit" className="primary" disabled={login.isPending} data-testid="login-submit">
            Sign in
          </button>
          <button type="button" className="link-button" onClick={() => setMode("forgot")} data-testid="forgot-password">
            Forgot password?
          </button>
        </form>
      )}
      <p className="notice" role="alert" data-testid="auth-error">
        {error?.message}
      </p>
    </main>
  );
}

/** The submitted form's fields as strings (and no page load). */
export function fieldsOf(event: FormEvent<HTMLFormElement>): { get(name: string): string } {
  event.preventDefault();
  const data = new FormData(event.currentTarget);
  return { get: (name) => String(data.get(name) ?? "") };
}
