import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageBytes } from "../support/images.ts";
import { type SmtpSink, startSmtpSink } from "../support/smtp-sink.ts";
import {
  createRoom, emailOf, expectNoProblems, joinPublicRoom, messageWithBody, noChromium, PASSWORD, type Person, register, roomItem, send, signedInAs, startWebApp,
  type WebAppUnderTest,
} from "../support/web-browser.ts";

/**
 * The account screen of the web app (web/src/AccountView.tsx) and "Forgot password?" on the sign-in screen, in
 * Chromium against a real Parley that sends its emails to an SMTP server in the test: the person reads the links
 * in them and follows them to the server's own pages, then comes back to the app.
 */

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe.skipIf(noChromium)("the account screens of the web app in Chromium", () => {
  let app: WebAppUnderTest;
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink();
    app = await startWebApp("account", { SMTP_URL: sink.url, MAIL_FROM: "Parley <parley@example.test>" });
  }, 180_000);
  afterAll(async () => {
    await app?.stop();
    await sink?.stop();
  });

  /** The link to `path` in the next email to `someone` with this subject, as the person reads it in the text part. */
  async function emailedLink(someone: Person, subject: string, path: "/verify-email" | "/reset-password"): Promise<string> {
    const { parsed } = await sink.next(emailOf(someone), 15_000);
    expect(parsed.subject).toBe(subject);
    const link = new RegExp(`${escapeRegExp(app.origin)}${path}\\?token=[A-Za-z0-9_-]{43}`).exec(parsed.text ?? "");
    expect(link, parsed.text).not.toBeNull();
    return link![0];
  }

  async function signIn(page: Page, login: string, password: string): Promise<void> {
    await page.getByTestId("auth-view").waitFor();
    await page.getByLabel("Username or email").fill(login);
    await page.getByLabel("Password").fill(password);
    await page.getByTestId("login-submit").click();
  }

  async function openAccount(page: Page): Promise<void> {
    await page.getByRole("button", { name: "Account", exact: true }).click();
    await page.getByTestId("account-view").waitFor();
  }

  async function closeAccount(page: Page): Promise<void> {
    await page.getByRole("button", { name: "Close account" }).click();
    await page.getByTestId("account-view").waitFor({ state: "detached" });
  }

  it("verifies the email by its link, edits the profile and avatar, changes and resets the password, ends another device's session, keeps privacy settings and unblocks someone", async () => {
    const ana = await app.person("ana");
    await register(ana);

    // A new account's address is not verified: the account screen says so, and sends the link again on request.
    await openAccount(ana.page);
    const status = ana.page.getByTestId("email-status");
    expect([await ana.page.getByTestId("email-address").textContent(), await status.textContent()]).toEqual([emailOf(ana), "not verified"]);
    await emailedLink(ana, "Verify your email for Parley", "/verify-email"); // the one registration sent
    await ana.page.getByRole("button", { name: "Resend verification email" }).click();
    await ana.page.getByText("Verification email sent.").waitFor();

    // She opens the resent link in a new tab: the server's page, where the button (not the opening) verifies.
    const mail = await ana.context.newPage();
    await mail.goto(await emailedLink(ana, "Verify your email for Parley", "/verify-email"));
    await mail.getByRole("button", { name: "Verify my email address" }).click();
    await mail.getByText(`${emailOf(ana)} is verified`).waitFor();
    await mail.getByRole("link", { name: "Open Parley" }).click();
    await mail.getByTestId("chat-view").waitFor(); // the link leads back into the app, still signed in
    await mail.close();
    // Back in the first tab, the account screen reads the account afresh when it opens again.
    await closeAccount(ana.page);
    await openAccount(ana.page);
    await ana.page.locator('[data-testid="email-status"][data-verified="true"]').waitFor();
    expect(await status.textContent()).toBe("verified");
    expect(await ana.page.getByRole("button", { name: "Resend verification email" }).count()).toBe(0);

    // Profile: the inputs carry the server's limits; a new display name shows in the top bar and on her messages.
    const displayName = ana.page.getByLabel("Display name (64 characters at most)");
    expect(await displayName.getAttribute("maxlength")).toBe("64");
    expect(await ana.page.getByLabel("Bio (280 characters at most)").getAttribute("maxlength")).toBe("280");
    await displayName.fill("Ana Amsel");
    await ana.page.getByLabel("Bio (280 characters at most)").fill("Writes the release notes.");
    await ana.page.getByLabel(/^Status \(100 characters/).fill("On call");
    await ana.page.getByLabel("Status emoji").fill("📟");
    await ana.page.getByRole("button", { name: "Save profile" }).click();
    await ana.page.getByText("Profile saved.").waitFor();
    expect(await ana.page.getByTestId("current-user").getAttribute("title")).toBe("Ana Amsel");

    // An avatar: uploaded as she picks it, then shown from its thumbnail.
    const png = Buffer.from(await imageBytes("image/png", 400, 400));
    await ana.page.getByTestId("avatar-input").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: png });
    const avatar = ana.page.getByTestId("account-profile").getByTestId("avatar-image");
    await avatar.waitFor();
    await expect.poll(() => avatar.evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth)).toBeGreaterThan(0);
    expect(await avatar.getAttribute("alt")).toBe("Avatar of Ana Amsel");

    // Privacy: nobody may open a DM with her, and her receipts are private; both survive a reload.
    await ana.page.getByLabel("Who may message me directly").selectOption("nobody");
    await expect.poll(() => ana.page.getByLabel("Who may message me directly").inputValue()).toBe("nobody");
    const receipts = ana.page.getByLabel(/^Private read receipts/);
    expect(await receipts.isChecked()).toBe(false);
    await receipts.click(); // checked once the server has it: the box shows the saved setting
    await expect.poll(() => receipts.isChecked()).toBe(true);
    const account = ana.page.getByTestId("account-view");
    await account.evaluate((view) => view.scrollTo(0, 0));
    await app.shoot(ana.page, "1-account");
    await ana.page.emulateMedia({ colorScheme: "dark" });
    await app.shoot(ana.page, "1-account-dark");
    await ana.page.emulateMedia({ colorScheme: "light" });
    await ana.page.reload();
    await signedInAs(ana);
    await openAccount(ana.page);
    await expect.poll(() => ana.page.getByLabel("Who may message me directly").inputValue()).toBe("nobody");
    expect(await ana.page.getByLabel(/^Private read receipts/).isChecked()).toBe(true);
    expect(await ana.page.getByLabel("Display name (64 characters at most)").inputValue()).toBe("Ana Amsel");
    await closeAccount(ana.page);

    // Her messages carry the new name.
    const roomName = `account ${ana.username.slice(-6)}`;
    const roomId = await createRoom(ana, roomName);
    await send(ana, "release notes are out");
    expect(await (await messageWithBody(ana, "release notes are out")).getByTestId("message-sender").textContent()).toBe("Ana Amsel");

    // Her phone: a second browser signed in to the same account shows in her list of devices, and she signs it out.
    const phone: Person = { ...(await app.person("ana-phone")), username: ana.username };
    await signIn(phone.page, ana.username, PASSWORD);
    await signedInAs(phone);
    await openAccount(ana.page);
    const sessions = ana.page.getByTestId("session");
    await ana.page.getByRole("button", { name: "Refresh", exact: true }).click();
    await expect.poll(() => sessions.count()).toBe(2);
    expect(await ana.page.locator('[data-testid="session"][data-current="true"]').getByText("this device").count()).toBe(1);
    await ana.page.getByTestId("account-sessions").scrollIntoViewIfNeeded();
    await app.shoot(ana.page, "3-account-devices");
    await ana.page.locator('[data-testid="session"][data-current="false"]').getByTestId("session-revoke").click();
    await ana.page.getByText("That device was signed out.").waitFor();
    await expect.poll(() => sessions.count()).toBe(1);
    await phone.page.getByTestId("auth-view").waitFor({ timeout: 15_000 }); // its socket was closed: it is signed out

    // A new password: the old one no longer signs in, the new one does.
    await ana.page.getByLabel("Current password").fill(PASSWORD);
    await ana.page.getByLabel(/^New password \(8–256/).fill("a brand new passphrase");
    await ana.page.getByLabel("New password again").fill("a brand new passphrase");
    await ana.page.getByRole("button", { name: "Change password" }).click();
    await ana.page.getByTestId("password-result").getByText(/^Password changed\./).waitFor();
    await ana.page.getByTestId("logout").click();
    await signIn(ana.page, ana.username, PASSWORD);
    await ana.page.getByTestId("auth-error").getByText(/./).waitFor();
    await ana.page.getByLabel("Password").fill("a brand new passphrase");
    await ana.page.getByTestId("login-submit").click();
    await signedInAs(ana);

    // Forgot password: from the sign-in screen, by email, to the server's page, and back to sign in.
    await ana.page.getByTestId("logout").click();
    await ana.page.getByRole("button", { name: "Forgot password?" }).click();
    await ana.page.getByLabel("Email").fill(emailOf(ana));
    await ana.page.getByRole("button", { name: "Email me a link" }).click();
    await ana.page.getByTestId("forgot-result").getByText(/a link to reset its password is on its way/).waitFor();
    await app.shoot(ana.page, "2-forgot-password");
    await ana.page.goto(await emailedLink(ana, "Reset your Parley password", "/reset-password"));
    await ana.page.getByLabel("New password").fill("the passphrase after reset");
    await ana.page.getByLabel("The same again").fill("the passphrase after reset");
    await ana.page.getByRole("button", { name: "Set my new password" }).click();
    await ana.page.getByText("Your password is changed").waitFor();
    await ana.page.getByRole("link", { name: "Open Parley" }).click();
    await signIn(ana.page, emailOf(ana), "the passphrase after reset");
    await signedInAs(ana);

    // Blocking: Ana blocks Ben from his message, then unblocks him from her account's list; his message shows again.
    const ben = await app.person("ben");
    await register(ben);
    await joinPublicRoom(ben, roomId, roomName);
    await roomItem(ana.page, roomId).getByRole("button").click();
    await send(ben, "hello from ben");
    const his = await messageWithBody(ana, "hello from ben");
    ana.page.once("dialog", (dialog) => void dialog.accept());
    await his.hover();
    await his.getByRole("button", { name: `Block ${ben.username}` }).click();
    await ana.page.getByTestId("blocked-message").first().waitFor();
    await openAccount(ana.page);
    const blocked = ana.page.getByTestId("blocked-user");
    await blocked.filter({ hasText: ben.username }).waitFor();
    await ana.page.getByRole("button", { name: `Unblock ${ben.username}` }).click();
    await ana.page.getByText("You have blocked nobody.").waitFor();
    await closeAccount(ana.page);
    await expect.poll(() => ana.page.getByTestId("blocked-message").count()).toBe(0);
    expect(await (await messageWithBody(ana, "hello from ben")).getByText("hello from ben").isVisible()).toBe(true);

    // The old password's refusal is a 401 the browser logs, once; nothing else may be there.
    const refused = ana.problems.filter((problem) => problem.url.includes("/trpc/auth.login") && problem.text.includes("status of 401"));
    expect(refused).toHaveLength(1);
    ana.problems = ana.problems.filter((problem) => !refused.includes(problem));
    expectNoProblems(ana, ben);
    // The phone's page was signed out under it: its refused calls are 401s, nothing else.
    expect(phone.problems.filter((problem) => !problem.text.includes("status of 401"))).toEqual([]);
  }, 180_000);

  it("changes the email address by the link sent to the new one, and deletes the account behind its password", async () => {
    const cy = await app.person("cy");
    await register(cy);
    await openAccount(cy.page);
    const newAddress = `new-${emailOf(cy)}`;
    await cy.page.getByRole("button", { name: "Change email" }).click();
    await cy.page.getByLabel("New email").fill(newAddress);
    await cy.page.getByTestId("change-email-password").fill(PASSWORD);
    await cy.page.getByRole("button", { name: "Send confirmation link" }).click();
    await cy.page.getByText(/A confirmation link was sent to the new address/).waitFor();
    const { parsed } = await sink.next(newAddress, 15_000);
    expect(parsed.subject).toBe("Confirm your new email for Parley");
    const link = new RegExp(`${escapeRegExp(app.origin)}/verify-email\\?token=[A-Za-z0-9_-]{43}`).exec(parsed.text ?? "");
    expect(link, parsed.text).not.toBeNull();
    const mail = await cy.context.newPage();
    await mail.goto(link![0]);
    await mail.getByRole("button", { name: "Verify my email address" }).click();
    await mail.getByText(`${newAddress} is verified`).waitFor();
    await mail.close();
    await closeAccount(cy.page);
    await openAccount(cy.page);
    await cy.page.locator('[data-testid="email-status"][data-verified="true"]').waitFor();
    expect(await cy.page.getByTestId("email-address").textContent()).toBe(newAddress);

    // Deleting asks for the password, then the page is back at sign-in and the account no longer signs in.
    await cy.page.getByRole("button", { name: "Delete account…" }).click();
    await cy.page.getByTestId("delete-password").fill("not my password");
    await cy.page.getByRole("button", { name: "Delete my account" }).click();
    await cy.page.getByTestId("account-delete").getByRole("alert").getByText(/./).waitFor();
    await cy.page.getByTestId("delete-password").fill(PASSWORD);
    await cy.page.getByRole("button", { name: "Delete my account" }).click();
    await cy.page.getByTestId("auth-view").waitFor({ timeout: 15_000 });
    await signIn(cy.page, newAddress, PASSWORD);
    await cy.page.getByTestId("auth-error").getByText(/./).waitFor();
    expect(await cy.page.getByTestId("chat-view").count()).toBe(0);
    // The wrong passwords and the calls of the ended session were refused with 401s; nothing else went wrong.
    expect(cy.problems.filter((problem) => !problem.text.includes("status of 401"))).toEqual([]);
  }, 120_000);
});
