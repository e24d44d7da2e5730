import type { UserProfile } from "@parley/client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { fieldsOf } from "./App.tsx";
import { useThumbnailUrl } from "./file-urls.ts";
import { parley } from "./parley.ts";
import { useTRPC } from "./trpc.ts";

/** The server's limits (users.schema.ts, auth.schema.ts), shown in the inputs. */
const DISPLAY_NAME_MAX = 64;
const BIO_MAX = 280;
const STATUS_TEXT_MAX = 100;
const PASSWORD_MIN = 8;
const PASSWORD_MAX = 256;
const EMAIL_MAX = 254;
/** What the server accepts as an avatar (files.service.ts). */
const AVATAR_TYPES = "image/png,image/jpeg,image/gif,image/webp,image/avif";

/**
 * The signed-in user's account: profile, email, password, devices, privacy, blocked people and deletion. Each
 * section talks to its own procedure and shows its answer (or refusal) beside it. Escape closes it.
 */
export function AccountView({ onClose, onDeleted }: { onClose: () => void; onDeleted: () => void }) {
  const trpc = useTRPC();
  // Fresh each time it opens: the address may have been verified from an email's link meanwhile.
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: Infinity, refetchOnMount: "always" }));
  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === "Escape") onClose();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [onClose]);

  return (
    <main className="account" aria-labelledby="account-heading" data-testid="account-view">
      <header className="account-head">
        <h2 id="account-heading">Account</h2>
        <button type="button" onClick={onClose} aria-label="Close account" data-testid="account-close">
          Close
        </button>
      </header>
      {me.data ? (
        <>
          <ProfileSection me={me.data} />
          <EmailSection me={me.data} />
          <PasswordSection />
          <SessionsSection />
          <PrivacySection me={me.data} />
          <BlockedSection />
          <DeleteSection onDeleted={onDeleted} />
        </>
      ) : (
        <p className="notice" role="alert">
          {me.error?.message}
        </p>
      )}
    </main>
  );
}

/** users.updateMe answers the new profile: it becomes auth.me, which the top bar reads too. */
function useUpdateMe() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return useMutation(trpc.users.updateMe.mutationOptions({ onSuccess: (user) => queryClient.setQueryData(trpc.auth.me.queryKey(), user) }));
}

/** The avatar's small variant (files.url "thumbnail"), or the first letter of the name. */
export function Avatar({ user, size = "large" }: { user: Pick<UserProfile, "avatarFileId" | "displayName" | "username">; size?: "large" | "small" }) {
  const url = useThumbnailUrl(user.avatarFileId);
  const name = user.displayName || user.username;
  if (url) return <img className={`avatar avatar-${size}`} src={url} alt={`Avatar of ${name}`} data-testid="avatar-image" />;
  return (
    <span className={`avatar avatar-${size} avatar-initial`} aria-hidden="true">
      {[...name][0]?.toUpperCase()}
    </span>
  );
}

function ProfileSection({ me }: { me: UserProfile }) {
  const update = useUpdateMe();
  const [saved, setSaved] = useState(false);
  const avatar = useMutation({
    mutationFn: async (file: File) => {
      const uploaded = await parley.upload({ file, purpose: "avatar" });
      return update.mutateAsync({ avatarFileId: uploaded.id });
    },
  });
  return (
    <section className="panel account-section" aria-labelledby="profile-heading" data-testid="account-profile">
      <h3 id="profile-heading">Profile</h3>
      <div className="avatar-row">
        <Avatar user={me} />
        <label className="file-button">
          {avatar.isPending ? "Uploading…" : "Change avatar"}
          <input
            type="file"
            accept={AVATAR_TYPES}
            className="visually-hidden"
            disabled={avatar.isPending}
            onChange={(event) => {
              const file = event.currentTarget.files?.[0];
              if (file) avatar.mutate(file);
              event.currentTarget.value = "";
            }}
            data-testid="avatar-input"
          />
        </label>
        {me.avatarFileId && (
          <button type="button" onClick={() => update.mutate({ avatarFileId: null })} data-testid="avatar-remove">
            Remove avatar
          </button>
        )}
      </div>
      <form
        className="account-form"
        onSubmit={(event) => {
          const form = fieldsOf(event);
          const statusText = form.get("statusText").trim();
          const statusEmoji = form.get("statusEmoji").trim();
          setSaved(false);
          update.mutate(
            {
              displayName: form.get("displayName").trim(),
              bio: form.get("bio"),
              status: statusText ? { text: statusText, emoji: statusEmoji || "💬" } : null,
            },
            { onSuccess: () => setSaved(true) },
          );
        }}
      >
        <p className="hint">
          Username <bdi>{me.username}</bdi>
        </p>
        <label>
          Display name ({DISPLAY_NAME_MAX} characters at most)
          <input name="displayName" defaultValue={me.displayName} maxLength={DISPLAY_NAME_MAX} required autoComplete="name" data-testid="profile-display-name" />
        </label>
        <label>
          Bio ({BIO_MAX} characters at most)
          <textarea name="bio" defaultValue={me.bio} maxLength={BIO_MAX} rows={3} dir="auto" data-testid="profile-bio" />
        </label>
        <div className="status-row">
          <label className="status-emoji">
            Status emoji
            <input name="statusEmoji" defaultValue={me.status?.emoji ?? ""} placeholder="💬" maxLength={16} data-testid="profile-status-emoji" />
          </label>
          <label className="grow">
            Status ({STATUS_TEXT_MAX} characters at most; empty clears it)
            <input name="statusText" defaultValue={me.status?.text ?? ""} maxLength={STATUS_TEXT_MAX} dir="auto" data-testid="profile-status-text" />
          </label>
        </div>
        <button type="submit" className="primary" disabled={update.isPending} data-testid="profile-save">
          Save profile
        </button>
      </form>
      <p className="ok" role="status" data-testid="profile-result">
        {saved ? "Profile saved." : ""}
      </p>
      <p className="notice" role="alert" data-testid="profile-error">
        {(avatar.error ?? update.error)?.message}
      </p>
    </section>
  );
}

function EmailSection({ me }: { me: UserProfile }) {
  const trpc = useTRPC();
  const resend = useMutation(trpc.auth.resendVerification.mutationOptions());
  const change = useMutation(trpc.auth.changeEmail.mutationOptions());
  const [changing, setChanging] = useState(false);
  return (
    <section className="panel account-section" aria-labelledby="email-heading" data-testid="account-email">
      <h3 id="email-heading">Email</h3>
      <p>
        <bdi data-testid="email-address">{me.email}</bdi>{" "}
        <span className={`badge ${me.emailVerified ? "verified" : "unverified"}`} data-testid="email-status" data-verified={me.emailVerified}>
          {me.emailVerified ? "verified" : "not verified"}
        </span>
      </p>
      <div className="actions">
        {!me.emailVerified && (
          <button type="button" onClick={() => resend.mutate()} disabled={resend.isPending} data-testid="resend-verification">
            Resend verification email
          </button>
        )}
        <button type="button" aria-expanded={changing} onClick={() => setChanging((shown) => !shown)} data-testid="change-email-toggle">
          Change email
        </button>
      </div>
      {changing && (
        <form
          className="account-form"
          onSubmit={(event) => {
            const form = fieldsOf(event);
            change.mutate({ newEmail: form.get("newEmail"), password: form.get("password") });
          }}
        >
          <label>
            New email
            <input name="newEmail" type="email" maxLength={EMAIL_MAX} required autoComplete="email" data-testid="change-email-address" />
          </label>
          <label>
            Password
            <input name="password" type="password" required autoComplete="current-password" data-testid="change-email-password" />
          </label>
          <button type="submit" disabled={change.isPending} data-testid="change-email-submit">
            Send confirmation link
          </button>
        </form>
      )}
      <p className="ok" role="status" data-testid="email-result">
        {resend.data ? (resend.data.sent ? "Verification email sent." : "The address is already verified.") : ""}
        {change.isSuccess ? " A confirmation link was sent to the new address; the address changes once it is used." : ""}
      </p>
      <p className="notice" role="alert">
        {(resend.error ?? change.error)?.message}
      </p>
    </section>
  );
}

function PasswordSection() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const change = useMutation(trpc.auth.changePassword.mutationOptions({ onSuccess: () => queryClient.invalidateQueries(trpc.auth.sessions.queryFilter()) }));
  const [mismatch, setMismatch] = useState(false);
  return (
    <section className="panel account-section" aria-labelledby="password-heading" data-testid="account-password">
      <h3 id="password-heading">Password</h3>
      <form
        className="account-form"
        onSubmit={(event) => {
          const form = fieldsOf(event);
          const differ = form.get("newPassword") !== form.get("again");
          setMismatch(differ);
          if (differ) return;
          const target = event.currentTarget;
          change.mutate({ currentPassword: form.get("currentPassword"), newPassword: form.get("newPassword") }, { onSuccess: () => target.reset() });
        }}
      >
        <label>
          Current password
          <input name="currentPassword" type="password" required autoComplete="current-password" data-testid="current-password" />
        </label>
        <label>
          New password ({PASSWORD_MIN}–{PASSWORD_MAX} characters)
          <input name="newPassword" type="password" required minLength={PASSWORD_MIN} maxLength={PASSWORD_MAX} autoComplete="new-password" data-testid="new-password" />
        </label>
        <label>
          New password again
          <input name="again" type="password" required minLength={PASSWORD_MIN} maxLength={PASSWORD_MAX} autoComplete="new-password" data-testid="new-password-again" />
        </label>
        <button type="submit" disabled={change.isPending} data-testid="change-password-submit">
          Change password
        </button>
      </form>
      <p className="ok" role="status" data-testid="password-result">
        {change.data ? `Password changed. ${change.data.revoked === 1 ? "1 other device was" : `${change.data.revoked} other devices were`} signed out.` : ""}
      </p>
      <p className="notice" role="alert" data-testid="password-error">
        {mismatch ? "The two new passwords differ." : change.error?.message}
      </p>
    </section>
  );
}

function SessionsSection() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const sessions = useQuery(trpc.auth.sessions.queryOptions(undefined, { refetchOnMount: "always" }));
  const refresh = (): Promise<void> => queryClient.invalidateQueries(trpc.auth.sessions.queryFilter());
  const revoke = useMutation(trpc.auth.revokeSession.mutationOptions({ onSuccess: refresh }));
  const revokeOthers = useMutation(trpc.auth.revokeOtherSessions.mutationOptions({ onSuccess: refresh }));
  const when = (iso: string): string => new Date(iso).toLocaleString();
  return (
    <section className="panel account-section" aria-labelledby="sessions-heading" data-testid="account-sessions">
      <div className="panel-head">
        <h3 id="sessions-heading">Signed-in devices</h3>
        <button type="button" onClick={() => void refresh()} data-testid="sessions-refresh">
          Refresh
        </button>
      </div>
      <ul className="sessions" data-testid="session-list">
        {sessions.data?.map((session) => (
          <li key={session.id} data-testid="session" data-session-id={session.id} data-current={session.current}>
            <span className="grow">
              <bdi>{session.device}</bdi>
              {session.current && <span className="badge">this device</span>}
              <small className="hint">
                {" "}
                last used {when(session.lastActiveAt)}
                {session.ip ? ` from ${session.ip}` : ""}
              </small>
            </span>
            {!session.current && (
              <button type="button" onClick={() => revoke.mutate({ sessionId: session.id })} aria-label={`Sign out ${session.device}, last used ${when(session.lastActiveAt)}`} data-testid="session-revoke">
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
      {(sessions.data?.length ?? 0) > 1 && (
        <button type="button" onClick={() => revokeOthers.mutate()} disabled={revokeOthers.isPending} data-testid="revoke-other-sessions">
          Sign out everywhere else
        </button>
      )}
      <p className="ok" role="status" data-testid="sessions-result">
        {revokeOthers.data ? `${revokeOthers.data.revoked} other ${revokeOthers.data.revoked === 1 ? "device was" : "devices were"} signed out.` : revoke.isSuccess ? "That device was signed out." : ""}
      </p>
      <p className="notice" role="alert">
        {(sessions.error ?? revoke.error ?? revokeOthers.error)?.message}
      </p>
    </section>
  );
}

const DM_POLICIES = [
  { value: "everyone", label: "Everyone" },
  { value: "friends", label: "Friends only" },
  { value: "nobody", label: "Nobody" },
] as const;

function PrivacySection({ me }: { me: UserProfile }) {
  const update = useUpdateMe();
  return (
    <section className="panel account-section" aria-labelledby="privacy-heading" data-testid="account-privacy">
      <h3 id="privacy-heading">Privacy</h3>
      <label>
        Who may message me directly
        <select
          value={me.dmPolicy}
          disabled={update.isPending}
          onChange={(event) => {
            const picked = DM_POLICIES.find((policy) => policy.value === event.currentTarget.value);
            if (picked) update.mutate({ dmPolicy: picked.value });
          }}
          data-testid="privacy-dm-policy"
        >
          {DM_POLICIES.map((policy) => (
            <option key={policy.value} value={policy.value}>
              {policy.label}
            </option>
          ))}
        </select>
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={me.privateReceipts}
          disabled={update.isPending}
          onChange={(event) => update.mutate({ privateReceipts: event.currentTarget.checked })}
          data-testid="privacy-private-receipts"
        />
        Private read receipts (others do not see when I received or read their messages)
      </label>
      <p className="notice" role="alert">
        {update.error?.message}
      </p>
    </section>
  );
}

function BlockedSection() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const blocked = useQuery(trpc.users.blocked.queryOptions({}, { refetchOnMount: "always" }));
  const unblock = useMutation(trpc.users.unblock.mutationOptions({ onSuccess: () => queryClient.invalidateQueries(trpc.users.blocked.queryFilter()) }));
  return (
    <section className="panel account-section" aria-labelledby="blocked-heading" data-testid="account-blocked">
      <h3 id="blocked-heading">Blocked people</h3>
      {blocked.data?.items.length === 0 && <p className="hint">You have blocked nobody.</p>}
      <ul className="blocked" data-testid="blocked-list">
        {blocked.data?.items.map(({ user, blockedAt }) => {
          const name = user.displayName || user.username;
          return (
            <li key={user.id} data-testid="blocked-user" data-user-id={user.id}>
              <span className="grow">
                <bdi>{name}</bdi> <small className="hint">since {new Date(blockedAt).toLocaleDateString()}</small>
              </span>
              <button type="button" onClick={() => unblock.mutate({ userId: user.id })} aria-label={`Unblock ${name}`} data-testid="unblock">
                Unblock
              </button>
            </li>
          );
        })}
      </ul>
      <p className="notice" role="alert">
        {(blocked.error ?? unblock.error)?.message}
      </p>
    </section>
  );
}

function DeleteSection({ onDeleted }: { onDeleted: () => void }) {
  const trpc = useTRPC();
  const remove = useMutation(trpc.auth.deleteAccount.mutationOptions({ onSuccess: onDeleted }));
  const [confirming, setConfirming] = useState(false);
  return (
    <section className="panel account-section danger-zone" aria-labelledby="delete-heading" data-testid="account-delete">
      <h3 id="delete-heading">Delete account</h3>
      {confirming ? (
        <form
          className="account-form"
          onSubmit={(event) => {
            remove.mutate({ password: fieldsOf(event).get("password") });
          }}
        >
          <p>This signs out every device, takes you out of every room and cannot be undone. Your messages stay, shown as from “Deleted user”: delete those you want gone first.</p>
          <label>
            Password
            <input name="password" type="password" required autoComplete="current-password" data-testid="delete-password" />
          </label>
          <div className="actions">
            <button type="submit" className="danger" disabled={remove.isPending} data-testid="delete-confirm">
              Delete my account
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </div>
        </form>
      ) : (
        <button type="button" className="danger" onClick={() => setConfirming(true)} data-testid="delete-start">
          Delete account…
        </button>
      )}
      <p className="notice" role="alert">
        {remove.error?.message}
      </p>
    </section>
  );
}
