import type { Credentials, Registration, UserProfile } from "@parley/client";
import { useMutation } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { parley } from "./parley.ts";

/** Sign up or sign in through the SDK, which keeps the tokens (and, in a browser, leaves the refresh cookie). */
export function AuthView({ onSignedIn }: { onSignedIn: (user: UserProfile) => void }) {
  const register = useMutation({ mutationFn: (input: Registration) => parley.register(input), onSuccess: onSignedIn });
  const login = useMutation({ mutationFn: (input: Credentials) => parley.login(input), onSuccess: onSignedIn });
  const error = register.error ?? login.error;

  return (
    <main className="auth" data-testid="auth-view">
      <form
        data-testid="register-form"
        onSubmit={(event) => {
          const form = fieldsOf(event);
          register.mutate({ email: form.get("email"), username: form.get("username"), password: form.get("password") });
        }}
      >
        <h2>Sign up</h2>
        <input name="email" type="email" placeholder="email" required data-testid="register-email" />
        <input name="username" placeholder="username" required data-testid="register-username" />
        <input name="password" type="password" placeholder="password (8+ characters)" required data-testid="register-password" />
        <button type="submit" disabled={register.isPending} data-testid="register-submit">
          Sign up
        </button>
      </form>
      <form
        data-testid="login-form"
        onSubmit={(event) => {
          const form = fieldsOf(event);
          login.mutate({ login: form.get("login"), password: form.get("password") });
        }}
      >
        <h2>Sign in</h2>
        <input name="login" placeholder="username or email" required data-testid="login-name" />
        <input name="password" type="password" placeholder="password" required data-testid="login-password" />
        <button type="submit" disabled={login.isPending} data-testid="login-submit">
          Sign in
        </button>
      </form>
      <p className="notice" role="alert" data-testid="app-error">
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
