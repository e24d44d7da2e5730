import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createRoom, emailOf, expectNoProblems, joinPublicRoom, messageWithBody, noChromium, PASSWORD, type Person, register, send,
  seriousAxeViolations, signedInAs, startWebApp, type WebAppUnderTest,
} from "../support/web-browser.ts";

/**
 * The web app is usable without a mouse and by assistive technology: axe-core (WCAG 2.x A/AA and best practices)
 * finds no serious or critical violation on the main screens, in light and dark and on a phone-sized screen, and a
 * person can sign up, create a room and chat with the keyboard alone.
 */

describe.skipIf(noChromium)("the web app's accessibility in Chromium", () => {
  let app: WebAppUnderTest;
  beforeAll(async () => {
    app = await startWebApp("a11y");
  }, 180_000);
  afterAll(() => app?.stop());

  /** axe on this screen, in light and in dark (the colours differ, so contrast is checked twice). */
  async function expectAccessible(page: Page, screen: string): Promise<void> {
    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      expect(await seriousAxeViolations(page), `${screen} (${colorScheme})`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: "light" });
  }

  it("has no serious axe violations on sign-in, forgot password, sign-up, the account screen, the room list, a room with messages, members, search, and on a narrow screen", async () => {
    const [a, b] = await Promise.all([app.person("axa"), app.person("axb", { width: 390, height: 760 })]);
    await expectAccessible(a.page, "sign in");
    await a.page.getByTestId("forgot-password").click();
    await a.page.getByTestId("forgot-form").waitFor();
    await expectAccessible(a.page, "forgot password");
    await a.page.getByTestId("forgot-back").click();
    await a.page.getByTestId("show-register").click();
    await expectAccessible(a.page, "sign up");
    await Promise.all([register(a), register(b)]);
    await expectAccessible(a.page, "no room open");
    await a.page.getByTestId("open-account").click();
    await a.page.getByTestId("account-view").getByTestId("session").first().waitFor();
    await expectAccessible(a.page, "account");
    await a.page.getByTestId("account-close").click();

    const name = `a11y ${a.username.slice(-6)}`;
    const roomId = await createRoom(a, name);
    await joinPublicRoom(b, roomId, name);
    await send(b, "hello, can you read this?");
    const hello = await messageWithBody(a, "hello, can you read this?");
    await hello.hover();
    await hello.getByRole("button", { name: "Reply" }).click();
    await send(a, "yes, loud and clear https://example.com");
    await messageWithBody(b, "yes, loud and clear https://example.com");
    await hello.hover();
    await hello.getByTestId("message-react").click();
    await hello.getByRole("button", { name: "React 👍" }).click();
    await expectAccessible(a.page, "a room with a reply, a link and a reaction");
    await expectAccessible(b.page, "a room on a narrow screen");

    await a.page.getByRole("button", { name: "Members" }).click();
    await a.page.getByTestId("member").nth(1).waitFor();
    await expectAccessible(a.page, "members panel");

    await a.page.getByRole("button", { name: "Search", exact: true }).click();
    await a.page.getByLabel("Search text").fill("loud");
    await a.page.getByTestId("search-submit").click();
    await a.page.getByTestId("search-hit").first().waitFor();
    await expectAccessible(a.page, "search results");

    await b.page.getByTestId("room-back").click();
    await b.page.getByTestId("room-item").first().waitFor();
    await expectAccessible(b.page, "room list on a narrow screen");

    await b.context.setOffline(true);
    await b.page.locator('[data-testid="connection-state"]:not([data-state="online"])').waitFor({ timeout: 20_000 });
    await expectAccessible(b.page, "reconnecting");
    await b.context.setOffline(false);
    await b.page.locator('[data-testid="connection-state"][data-state="online"]').waitFor({ timeout: 20_000 });
    expectNoProblems(a);
  }, 120_000);

  it("can be used with the keyboard alone: sign up, create a room, write, and sign out", async () => {
    const someone: Person = await app.person("kbd");
    const { page } = someone;
    /** Tabs forward, as a keyboard user would, until the focus is on the control with this test id or label. */
    const tabTo = async (target: { testId: string } | { label: string }): Promise<void> => {
      for (let presses = 0; presses < 40; presses++) {
        await page.keyboard.press("Tab");
        const reached = await page.evaluate((wanted) => {
          const element = document.activeElement as HTMLInputElement | null;
          if (!element) return false;
          if ("testId" in wanted) return element.getAttribute("data-testid") === wanted.testId;
          const label = element.getAttribute("aria-label") ?? element.labels?.[0]?.textContent ?? "";
          return label.trim() === wanted.label;
        }, target);
        if (reached) return;
      }
      throw new Error(`Tab never reached ${JSON.stringify(target)}`);
    };

    await tabTo({ testId: "show-register" });
    await page.keyboard.press("Enter");
    await tabTo({ label: "Email" });
    await page.keyboard.type(emailOf(someone));
    await tabTo({ label: "Username" });
    await page.keyboard.type(someone.username);
    await tabTo({ label: "Password (8 characters or more)" });
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter"); // submits the form
    await signedInAs(someone);

    const name = `keys ${someone.username.slice(-6)}`;
    await tabTo({ label: "Room name" });
    await page.keyboard.type(name);
    await page.keyboard.press("Enter");
    await page.locator(`[data-testid="room-name"]:text-is("${name}")`).waitFor();
    await tabTo({ label: "Message" });
    await page.keyboard.type("typed, never clicked");
    await page.keyboard.press("Enter");
    await messageWithBody(someone, "typed, never clicked");
    // Every control that took focus on the way showed where it was.
    await tabTo({ testId: "logout" });
    const outline = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement as Element);
      return style.outlineStyle !== "none" && style.outlineWidth !== "0px" ? "visible" : `${style.outlineStyle} ${style.outlineWidth}`;
    });
    expect(outline).toBe("visible");
    await page.keyboard.press("Enter");
    await page.getByTestId("auth-view").waitFor();
    expectNoProblems(someone);
  }, 90_000);
});
