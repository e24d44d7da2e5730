import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createParleyClient } from "../../client-sdk/src/index.ts";
import {
  createRoom, expectNoProblems, joinPublicRoom, messageWithBody, noChromium, PASSWORD, type Person, register, roomItem, send, startWebApp, type WebAppUnderTest,
} from "../support/web-browser.ts";

/** Messages sent through the API (the SDK in Node, signed in as `someone`), one after another. */
async function sendThroughApi(app: WebAppUnderTest, someone: Person, roomId: string, bodies: string[]): Promise<void> {
  const parley = createParleyClient({ url: app.origin, WebSocket }); // the socket is never opened: calls only
  await parley.login({ login: someone.username, password: PASSWORD });
  for (const [index, body] of bodies.entries()) await parley.api.messages.send.mutate({ roomId, clientMsgId: `fill-${index}-${crypto.randomUUID()}`, body });
  await parley.logout();
}

/** Scrolls the timeline to its bottom until no newer page is left to load (back at the live end). */
async function scrollToLiveEnd({ page }: Person): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.getByTestId("messages").evaluate((list) => list.scrollTo({ top: list.scrollHeight }));
        return page.getByTestId("load-newer").count();
      },
      { timeout: 20_000 },
    )
    .toBe(0);
}

/**
 * The room view of the web app with three people in Chromium: system lines for joins, read receipts, a thread
 * followed live by the other side, pins and the pinned list, a jump to an old message from search and back to the
 * live end, @mention completion with the mention badge it brings, and the emoji picker.
 */
describe.skipIf(noChromium)("the web app's room view in Chromium", () => {
  let app: WebAppUnderTest;
  beforeAll(async () => {
    // Eighty messages in a few seconds: more than the default send rate allows one user.
    app = await startWebApp("room-view", { RATE_LIMIT_SEND_PER_USER: "1000/10" });
  }, 180_000);
  afterAll(() => app?.stop());

  it("three people: joins as system lines, seen-by, a live thread, pins, a jump from search and back, mentions and emoji", async () => {
    const [a, b, c] = await Promise.all([app.person("ann"), app.person("ben"), app.person("cat")]);
    await Promise.all([register(a), register(b), register(c)]);

    // The header names the room; Ben's join shows in Ann's timeline as a system line.
    const roomName = `room view ${a.username.slice(-6)}`;
    const roomId = await createRoom(a, roomName);
    expect(await a.page.getByTestId("room-name").textContent()).toBe(roomName);
    await joinPublicRoom(b, roomId, roomName);
    await a.page.getByTestId("system-line").filter({ hasText: `${b.username} joined` }).waitFor();

    // Ben has the room open, so Ann's message is read at once: "Seen by ben" under it.
    await send(a, "hello all");
    await messageWithBody(b, "hello all");
    await a.page.getByTestId("seen-by").filter({ hasText: `Seen by ${b.username}` }).waitFor();

    // A thread: Ben replies in a thread; Ann sees the reply count live, opens it, answers, and Ben sees that live.
    await send(a, "thread about lunch");
    const root = await messageWithBody(b, "thread about lunch");
    await root.hover();
    await root.getByRole("button", { name: "Thread", exact: true }).click();
    const benThread = b.page.getByTestId("thread-panel");
    await benThread.getByTestId("thread-input").fill("pizza?");
    await benThread.getByTestId("thread-input").press("Enter");
    await benThread.getByTestId("message-body").getByText("pizza?", { exact: true }).waitFor();
    const annRoot = await messageWithBody(a, "thread about lunch");
    await annRoot.getByTestId("thread-summary").getByText("1 reply").click();
    const annThread = a.page.getByTestId("thread-panel");
    await annThread.getByTestId("message-body").getByText("pizza?", { exact: true }).waitFor();
    await annThread.getByTestId("thread-input").fill("pizza it is");
    await annThread.getByTestId("thread-input").press("Enter");
    await benThread.getByTestId("message-body").getByText("pizza it is", { exact: true }).waitFor();
    await annRoot.getByTestId("thread-summary").getByText("2 replies").waitFor();
    // Thread replies stay off the main timeline.
    expect(await a.page.getByTestId("messages").getByText("pizza it is").count()).toBe(0);
    await app.shoot(a.page, "thread");
    await annThread.getByTestId("thread-input").press("Escape");
    await annThread.waitFor({ state: "detached" });

    // Ann (the owner) pins her first message; Ben, a member, has no pin action.
    const first = await messageWithBody(a, "hello all");
    await first.hover();
    await first.getByTestId("message-pin").click();
    await first.getByTestId("pinned-mark").waitFor();
    expect(await (await messageWithBody(b, "hello all")).getByTestId("message-pin").count()).toBe(0);

    // Eighty more messages, one of them findable: the old ones are far out of the first page.
    const needle = `needle${a.username.slice(-6)}`;
    await sendThroughApi(app, a, roomId, Array.from({ length: 80 }, (_, index) => (index === 3 ? `an old ${needle} message` : `filler ${index}`)));
    await messageWithBody(b, "filler 79");

    // Ben reloads (so only the newest page is loaded), searches, and jumps to the old message.
    await b.page.reload();
    await messageWithBody(b, "filler 79");
    expect(await b.page.getByTestId("messages").getByText(`an old ${needle} message`).count()).toBe(0);
    await b.page.getByTestId("toggle-search").click();
    await b.page.getByTestId("search-query").fill(needle);
    await b.page.getByTestId("search-submit").click();
    await b.page.getByTestId("search-hit").first().getByRole("button").click();
    const found = b.page.locator('[data-testid="message"][data-highlighted="true"]');
    await found.getByText(`an old ${needle} message`).waitFor();
    await expect.poll(() => found.isVisible()).toBe(true);
    await b.page.getByTestId("jump-to-live").waitFor();
    await app.shoot(b.page, "jumped-to-message");
    // Scrolling down loads newer pages until the live end, which then takes new messages live.
    await scrollToLiveEnd(b);
    await b.page.getByTestId("messages").getByText("filler 79", { exact: true }).waitFor();
    await send(a, "back to the present");
    await messageWithBody(b, "back to the present");
    // The long history is virtualised: only the messages near the viewport are in the page.
    const inDom = await b.page.getByTestId("message").count();
    expect(inDom).toBeGreaterThan(5);
    expect(inDom).toBeLessThan(60);

    // Ann reloads and opens the pinned list: picking the pin shows her first message, highlighted.
    await a.page.reload();
    await messageWithBody(a, "back to the present");
    await a.page.getByTestId("pinned-toggle").click();
    const pin = a.page.getByTestId("pinned-item").filter({ hasText: "hello all" });
    await pin.waitFor();
    await app.shoot(a.page, "pinned-list");
    await pin.getByRole("button").click();
    const pinned = a.page.locator('[data-testid="message"][data-highlighted="true"]');
    await pinned.getByTestId("message-body").getByText("hello all", { exact: true }).waitFor();
    await expect.poll(() => pinned.isVisible()).toBe(true);

    // Cat joins, then goes to a room of her own; Ben mentions her through the completion; her list shows the mention.
    await joinPublicRoom(c, roomId, roomName);
    await b.page.getByTestId("system-line").filter({ hasText: `${c.username} joined` }).waitFor();
    await createRoom(c, `cat's corner ${c.username.slice(-6)}`);
    const input = b.page.getByTestId("message-input");
    await input.fill("");
    await input.pressSequentially(`lunch, @${c.username.slice(0, 4)}`);
    await b.page.getByTestId("mention-option").filter({ hasText: `@${c.username}` }).waitFor();
    await input.press("Enter");
    expect(await input.inputValue()).toBe(`lunch, @${c.username} `);
    await input.pressSequentially("?");
    await input.press("Enter");
    await messageWithBody(b, `lunch, @${c.username} ?`);
    await roomItem(c.page, roomId).getByTestId("mention-count").getByText("@1").waitFor();

    // The emoji picker: opened with a click, moved in with the arrows, picked with Enter.
    await b.page.getByTestId("emoji-toggle").click();
    await b.page.getByTestId("emoji-grid").waitFor();
    await b.page.keyboard.press("ArrowRight");
    await b.page.keyboard.press("Enter");
    expect(await input.inputValue()).toBe("😂");
    await input.press("Enter");
    await messageWithBody(b, "😂");

    // Ann, still at her pin, replies to it: her send takes her back to the live end. Ben clicks the reply's quote
    // and is shown the quoted message.
    const hello = await messageWithBody(a, "hello all");
    await hello.hover();
    await hello.getByRole("button", { name: "Reply", exact: true }).click();
    await send(a, "about that hello");
    await messageWithBody(a, "about that hello");
    const answer = await messageWithBody(b, "about that hello");
    await answer.getByTestId("reply-quote").getByRole("button").click();
    const quoted = b.page.locator('[data-testid="message"][data-highlighted="true"]');
    await quoted.getByTestId("message-body").getByText("hello all", { exact: true }).waitFor();
    await expect.poll(() => quoted.isVisible()).toBe(true);

    expectNoProblems(a, b, c);
  }, 240_000);
});
