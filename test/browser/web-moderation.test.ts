import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createRoom, expectNoProblems, messageWithBody, noChromium, type Person, register, roomItem, seriousAxeViolations, send, startWebApp, type WebAppUnderTest,
} from "../support/web-browser.ts";

/**
 * Moderation in the web app, by role, against a real Parley in Chromium: an owner lets two people into a private
 * room by an invite link (one already signed in, one who signs up first), makes one of them moderator, sets slow
 * mode (the member's quick second message is refused, readably), handles a member's report from the queue, mutes
 * and then bans the member — who sees the ban at once — and reads it all back in the audit log.
 */

/** The member's row in the open members panel. */
function memberRow({ page }: Person, someone: Person): Locator {
  return page.getByTestId("member").filter({ has: page.locator(".member-name", { hasText: someone.username }) });
}

/** Opens the member's actions menu and answers it. */
async function actionsFor(owner: Person, someone: Person): Promise<Locator> {
  const row = memberRow(owner, someone);
  await row.getByLabel(`Actions for ${someone.username}`).click();
  return row.locator(".member-menu-body");
}

/** axe finds nothing serious on this screen (the a11y spec covers the others). */
async function expectAccessible(page: Page, screen: string): Promise<void> {
  expect(await seriousAxeViolations(page), screen).toEqual([]);
}

async function openTool({ page }: Person, tool: "settings" | "links" | "restrictions" | "reports" | "audit"): Promise<void> {
  const button = page.getByTestId(`tool-${tool}`);
  if ((await button.getAttribute("aria-pressed")) !== "true") await button.click();
}

describe.skipIf(noChromium)("moderation in the web app (web/)", () => {
  let app: WebAppUnderTest;
  beforeAll(async () => {
    app = await startWebApp("moderation");
  }, 180_000);
  afterAll(() => app?.stop());

  it("invite links, roles, slow mode, a report handled from the queue, a mute and a live ban, all in the audit log", async () => {
    const [ann, ben, cat] = await Promise.all([app.person("ann"), app.person("ben"), app.person("cat")]);
    await Promise.all([register(ann), register(ben)]);

    // Ann makes a private room and an invite link for it (5 uses, a day).
    const roomName = `staff ${ann.username.slice(-6)}`;
    const roomId = await createRoom(ann, roomName, "private");
    await ann.page.getByRole("button", { name: "Members" }).click();
    await openTool(ann, "links");
    await ann.page.getByLabel("Expires after").selectOption({ label: "1 day" });
    await ann.page.getByLabel("Uses (empty: any)").fill("5");
    await ann.page.getByTestId("link-create").click();
    const link = await ann.page.getByTestId("created-link-url").inputValue();
    expect(link).toMatch(new RegExp(`^${app.origin}/#join=[A-Za-z0-9_-]{43}$`));
    await ann.page.getByTestId("invite-link").filter({ hasText: "0 of 5 uses" }).waitFor();

    // Ben, signed in, opens the link: a join screen, then the room.
    await ben.page.goto(link);
    expect(await ben.page.getByTestId("join-by-link-room").textContent()).toBe(roomName);
    await app.shoot(ben.page, "1-join-by-link");
    await expectAccessible(ben.page, "1-join-by-link");
    await ben.page.getByTestId("join-by-link-submit").click();
    await ben.page.locator(`[data-testid="room-name"]:text-is("${roomName}")`).waitFor();
    await roomItem(ben.page, roomId).waitFor();

    // Cat opens it signed out: she signs up first, and the join screen is still there for her.
    await cat.page.goto(link);
    await cat.page.getByTestId("auth-view").waitFor();
    await register(cat);
    await cat.page.getByTestId("join-by-link-submit").click();
    await cat.page.locator(`[data-testid="room-name"]:text-is("${roomName}")`).waitFor();
    await ann.page.getByTestId("invite-link").filter({ hasText: "2 of 5 uses" }).waitFor();

    // Ann makes Cat a moderator; Ben, a plain member, is offered no moderation at all.
    await memberRow(ann, cat).waitFor();
    const catMenu = await actionsFor(ann, cat);
    await catMenu.getByTestId("member-role").selectOption("moderator");
    await memberRow(ann, cat).locator(".role", { hasText: "moderator" }).waitFor();
    await ann.page.keyboard.press("Escape");
    await ben.page.getByRole("button", { name: "Members" }).click();
    await memberRow(ben, ann).waitFor();
    expect(await ben.page.getByTestId("room-tools").count()).toBe(0);
    const annForBen = await actionsFor(ben, ann);
    expect(await annForBen.getByTestId("member-ban").count()).toBe(0);
    await annForBen.getByTestId("member-report").waitFor();
    await ben.page.keyboard.press("Escape");
    await ben.page.getByRole("button", { name: "Members" }).click();

    // Ann sets slow mode: Ben is told, his first message goes, his second right after is refused, saying why.
    await openTool(ann, "settings");
    await ann.page.getByTestId("settings-slow-mode").selectOption({ label: "one message every 30 s" });
    await ann.page.getByTestId("settings-description").fill("Staff only. Be kind.");
    await ann.page.getByTestId("settings-save").click();
    await ann.page.getByTestId("settings-saved").getByText("Saved.").waitFor();
    await app.shoot(ann.page, "2-room-settings");
    await expectAccessible(ann.page, "2-room-settings");
    await ben.page.getByText("Staff only. Be kind.").waitFor(); // room.updated, live
    // Before he writes, Ben's composer says slow mode is on; Ann, who owns the room, is not held back.
    expect(await ben.page.getByTestId("posting-limit").textContent()).toBe("Slow mode: one message every 30 s.");
    expect(await ann.page.getByTestId("posting-limit").count()).toBe(0);
    await send(ben, "first under slow mode");
    await messageWithBody(ann, "first under slow mode");
    await send(ben, "too soon");
    await ben.page.getByTestId("pending-message").filter({ hasText: "too soon" }).getByText("slow mode: one message every 30 seconds").waitFor();
    await app.shoot(ben.page, "3-slow-mode-refusal");
    // He lets it go: the refused message leaves his screen.
    await ben.page.getByTestId("pending-message").filter({ hasText: "too soon" }).getByRole("button", { name: "Discard" }).click();
    await ben.page.getByTestId("pending-message").waitFor({ state: "detached" });

    // Ben reports a message of Ann's; Ann sees it in the reports queue and dismisses it.
    await send(ann, "buy cheap watches at example.com");
    const hers = await messageWithBody(ben, "buy cheap watches at example.com");
    await hers.hover();
    await hers.getByRole("button", { name: `Report ${ann.username}'s message` }).click();
    const dialog = ben.page.getByTestId("report-dialog").filter({ visible: true });
    await dialog.getByLabel("Reason").selectOption("spam");
    await dialog.getByLabel("Note (optional)").fill("looks like an ad");
    await app.shoot(ben.page, "4-report-dialog");
    await expectAccessible(ben.page, "4-report-dialog");
    await dialog.getByTestId("report-submit").click();
    await dialog.getByTestId("report-sent").waitFor();
    await ben.page.keyboard.press("Escape");
    await openTool(ann, "reports");
    const report = ann.page.getByTestId("report").filter({ hasText: "looks like an ad" });
    await report.waitFor();
    expect(await report.getByTestId("report-excerpt").textContent()).toBe("buy cheap watches at example.com");
    await app.shoot(ann.page, "5-reports-queue");
    await expectAccessible(ann.page, "5-reports-queue");
    await report.getByTestId("resolve-dismiss").click();
    await ann.page.getByTestId("reports-queue").getByText("No open reports.").waitFor();

    // Ann mutes Ben for an hour: his messages are refused; then she bans him, and his screen says so at once.
    await ann.page.getByTestId("tool-reports").click();
    const benMenu = await actionsFor(ann, ben);
    await benMenu.getByTestId("restrict-reason").fill("calm down");
    await benMenu.getByTestId("restrict-duration").selectOption({ label: "1 h" });
    await app.shoot(ann.page, "6-member-actions");
    await expectAccessible(ann.page, "6-member-actions");
    await benMenu.getByTestId("member-mute").click();
    await memberRow(ann, ben).getByTestId("member-muted").waitFor();
    await benMenu.getByTestId("restrict-reason").fill("spam");
    await benMenu.getByTestId("restrict-duration").selectOption({ label: "until lifted" });
    await benMenu.getByTestId("member-ban").click();
    const notice = ben.page.getByTestId("removal-notice");
    await notice.waitFor();
    expect(await notice.getByRole("alert").textContent()).toBe(`You were banned from ${roomName}.`);
    await expect.poll(() => roomItem(ben.page, roomId).count()).toBe(0);
    expect(await ben.page.getByLabel("Message", { exact: true }).count()).toBe(0);
    await app.shoot(ben.page, "7-banned-live");
    await expectAccessible(ben.page, "7-banned-live");
    await memberRow(ann, ben).waitFor({ state: "detached" });

    // The ban is listed, with its reason; the audit log tells the story, newest first.
    await openTool(ann, "restrictions");
    await ann.page.getByTestId("bans").getByTestId("restriction").filter({ hasText: `${ben.username}: spam` }).waitFor();
    await openTool(ann, "audit");
    await ann.page.getByTestId("audit-entry").first().waitFor();
    await app.shoot(ann.page, "8-audit-log");
    await expectAccessible(ann.page, "8-audit-log");
    const entries = ann.page.getByTestId("audit-entry");
    await entries.filter({ hasText: `${ann.username} banned ${ben.username}: spam` }).waitFor();
    const texts = (await entries.allTextContents()).map((text) => text.replace(/^.*?\d{1,2}:\d{2}:\d{2}(\s?[AP]M)?\s/, ""));
    expect(texts.slice(0, 5)).toEqual([
      `${ann.username} banned ${ben.username}: spam`,
      expect.stringMatching(new RegExp(`^${ann.username} muted ${ben.username} until .+: calm down$`)),
      `${ann.username} resolved a report about ${ann.username}: dismissed`,
      `${ann.username} changed the description from “” to “Staff only. Be kind.”, slow mode from off to 30 s`,
      `${ann.username} changed ${cat.username}'s role from member to moderator`,
    ]);
    await ann.page.emulateMedia({ colorScheme: "dark" });
    await app.shoot(ann.page, "8-audit-log-dark");

    expectNoProblems(ann, cat);
    // Ben's page logged the refusals of his sends and reads after the ban; nothing else.
    expect(ben.problems.filter((problem) => !/status of (401|403|429)/.test(problem.text))).toEqual([]);
  }, 150_000);
});
