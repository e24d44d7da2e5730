import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageBytes } from "../support/images.ts";
import {
  createRoom, expectNoProblems, joinPublicRoom, messageWithBody, noChromium, register, roomItem, send, signedInAs, startWebApp, type WebAppUnderTest,
} from "../support/web-browser.ts";

/**
 * The web app (web/): built as `npm install` builds it (`npm run build:sdk`, then the workspace's `npm run build`),
 * served by Parley itself at / (WEB_DIST_DIR) under its Content-Security-Policy, and used by two
 * people in Chromium against a real Parley: sign up, a room made by one and found and joined by the other, messages
 * both ways live, a reload that keeps the session, and an image that one uploads and the other sees. Screenshots of
 * the main screens go to a folder the test prints.
 */

describe.skipIf(noChromium)("the web app (web/) in Chromium", () => {
  let app: WebAppUnderTest;
  beforeAll(async () => {
    app = await startWebApp("two-people");
  }, 180_000);
  afterAll(() => app?.stop());

  it("two people: sign up, create, discover and join a room, chat live (typing, reply, reaction, edit, delete), reload signed in, see an uploaded image, members, search, a DM, an invitation, an offline send, and a block", async () => {
    const [a, b] = await Promise.all([app.person("ann"), app.person("ben", { width: 390, height: 760 })]);
    await app.shoot(a.page, "1-sign-in");
    await Promise.all([register(a), register(b)]);

    // Ann creates a public room; Ben finds it by name and joins.
    const roomName = `lobby ${a.username.slice(-6)}`;
    const roomId = await createRoom(a, roomName);
    await roomItem(a.page, roomId).waitFor();
    await joinPublicRoom(b, roomId, roomName);

    // Live both ways: each message shows on the other's screen without a reload.
    await send(b, "hello from ben");
    await messageWithBody(a, "hello from ben");
    await send(a, "hi ben, see https://example.com/docs.");
    const reply = await messageWithBody(b, "hi ben, see https://example.com/docs.");
    const link = reply.getByRole("link", { name: "https://example.com/docs" });
    expect(await link.getAttribute("rel")).toBe("noopener noreferrer");
    expect(await b.page.getByTestId("date-separator").count()).toBe(1);
    await app.shoot(b.page, "2-room-narrow");

    // Typing shows on the other side; a reply quotes its target; a reaction, an edit and a deletion reach Ann live.
    await b.page.getByLabel("Message", { exact: true }).pressSequentially("typ");
    await a.page.getByTestId("typing").getByText(`${b.username} is typing…`).waitFor();
    await b.page.getByLabel("Message", { exact: true }).fill("");
    await reply.hover();
    await reply.getByRole("button", { name: "Reply" }).click();
    await b.page.getByTestId("replying-to").waitFor();
    await send(b, "thanks for the link");
    const answer = await messageWithBody(a, "thanks for the link");
    expect(await answer.getByTestId("reply-quote").textContent()).toBe(`${a.username}: hi ben, see https://example.com/docs.`);
    // By id: while it is edited, its body makes way for the edit box.
    const own = b.page.locator(`[data-message-id="${await (await messageWithBody(b, "thanks for the link")).getAttribute("data-message-id")}"]`);
    await own.hover();
    await own.getByTestId("message-react").click();
    await own.getByRole("button", { name: "React 🎉" }).click();
    await answer.getByRole("button", { name: "🎉 1" }).waitFor();
    await own.getByRole("button", { name: "Edit" }).click();
    await own.getByTestId("edit-input").fill("thanks for the link!");
    await own.getByTestId("edit-save").click();
    const edited = await messageWithBody(a, "thanks for the link!");
    await edited.getByText("(edited)").waitFor();
    b.page.once("dialog", (dialog) => void dialog.accept());
    await own.getByTestId("message-body").getByText("thanks for the link!", { exact: true }).waitFor();
    await own.hover();
    await own.getByRole("button", { name: "Delete" }).click();
    await a.page.getByTestId("message").filter({ hasText: "Message deleted" }).waitFor();

    // Ann opens a second room: the lobby's new message shows as unread in her list.
    await createRoom(a, `quiet ${a.username.slice(-6)}`);
    await send(b, "are you there?");
    await a.page.locator(`[data-testid="room-item"][data-room-id="${roomId}"][data-unread="1"]`).waitFor();
    expect(await roomItem(a.page, roomId).getByTestId("last-message").textContent()).toBe(`${b.username}: are you there?`);
    await app.shoot(a.page, "3-room-list-unread");
    await roomItem(a.page, roomId).getByRole("button").click();
    await messageWithBody(a, "are you there?");
    await a.page.locator(`[data-testid="room-item"][data-room-id="${roomId}"][data-unread="0"]`).waitFor();

    // A reload keeps Ann signed in (the HttpOnly refresh cookie), in the same room, and live.
    await a.page.reload();
    await signedInAs(a);
    await messageWithBody(a, "are you there?");
    await send(b, "after your reload");
    await messageWithBody(a, "after your reload");

    // Ann attaches an image: it uploads, goes out with the message, and Ben sees its thumbnail.
    const png = Buffer.from(await imageBytes("image/png", 480, 320));
    await a.page.getByTestId("attach-input").setInputFiles({ name: "photo.png", mimeType: "image/png", buffer: png });
    const upload = a.page.getByTestId("upload");
    await expect.poll(async () => ((await upload.getAttribute("data-ready")) === "true" ? "ready" : await upload.textContent())).toBe("ready");
    await a.page.getByLabel("Message", { exact: true }).fill("a photo");
    await a.page.getByRole("button", { name: "Send" }).click();
    const photo = b.page.getByTestId("message").filter({ hasText: "a photo" }).getByTestId("attachment-image");
    await photo.waitFor();
    await expect.poll(() => photo.evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth)).toBe(320);
    expect(await photo.getAttribute("alt")).toBe("photo.png");
    await a.page.getByTestId("message").filter({ hasText: "a photo" }).getByTestId("attachment-image").waitFor();
    await app.shoot(a.page, "4-room-with-image");
    await app.shoot(b.page, "5-image-narrow");

    expect(await a.page.getByTestId("pending-message").count()).toBe(0);

    // The members panel lists both, Ben online; search finds his first message across Ann's rooms.
    await a.page.getByRole("button", { name: "Members" }).click();
    await a.page.locator('[data-testid="member"]').nth(1).waitFor();
    expect(await a.page.getByTestId("member").count()).toBe(2);
    await a.page.locator(`[data-testid="member"]:has-text("${b.username}")[data-presence="online"]`).waitFor();
    await a.page.getByRole("button", { name: "Search", exact: true }).click();
    await a.page.getByLabel("Search text").fill("hello");
    await a.page.getByTestId("search-submit").click();
    const hit = a.page.getByTestId("search-hit").filter({ hasText: "hello from ben" });
    await hit.waitFor();
    expect(await hit.locator("mark").first().textContent()).toBe("hello");
    await app.shoot(a.page, "6-members-and-search");
    await a.page.emulateMedia({ colorScheme: "dark" });
    await app.shoot(a.page, "6-members-and-search-dark");
    await a.page.emulateMedia({ colorScheme: "light" });

    // Ann finds Ben by name and writes to him directly: the DM shows in Ben's list, unread, with Ann online.
    await a.page.getByLabel("Find people by name").fill(b.username);
    await a.page.getByTestId("people-submit").click();
    await a.page.getByRole("button", { name: `Message ${b.username}` }).click();
    await a.page.locator(`[data-testid="room-name"]:text-is("${b.username}")`).waitFor();
    await send(a, "a direct hello");
    await messageWithBody(a, "a direct hello");
    await b.page.getByTestId("room-back").click(); // narrow: back from the lobby to the list
    const dm = b.page.locator('[data-testid="room-item"][data-kind="direct"][data-unread="1"]');
    await dm.waitFor();
    expect(await dm.locator(".room-name").textContent()).toBe(a.username);
    await dm.locator('[data-testid="peer-presence"][data-presence="online"]').waitFor();
    await app.shoot(b.page, "7-room-list-narrow");
    await dm.getByRole("button").click();
    await messageWithBody(b, "a direct hello");

    // A private room: Ann invites Ben by name from its members panel; the invitation reaches him live; he accepts.
    const back = `backroom ${a.username.slice(-6)}`;
    await createRoom(a, back, "private");
    await a.page.getByRole("button", { name: "Members" }).click();
    await a.page.getByLabel("Username to invite").fill(b.username);
    await a.page.getByTestId("invite-submit").click();
    await a.page.getByText(`Invited ${b.username}.`).waitFor();
    await b.page.getByTestId("room-back").click();
    const invitation = b.page.getByTestId("invitation").filter({ hasText: back });
    await invitation.waitFor();
    await app.shoot(b.page, "8-invitation-narrow");
    await invitation.getByRole("button", { name: "Accept" }).click();
    await b.page.locator(`[data-testid="room-name"]:text-is("${back}")`).waitFor();
    await a.page.locator(`[data-testid="member"]:has-text("${b.username}")`).waitFor(); // his join, live

    // Ben goes offline and writes: the message waits, shown as pending, and goes out once when he is back.
    await b.context.setOffline(true);
    await b.page.locator('[data-testid="connection-state"]:not([data-state="online"])').waitFor({ timeout: 20_000 });
    await send(b, "written offline");
    await b.page.getByTestId("pending-message").filter({ hasText: "written offline" }).waitFor();
    await app.shoot(b.page, "9-offline-pending");
    await b.context.setOffline(false);
    await b.page.locator('[data-testid="connection-state"][data-state="online"]').waitFor({ timeout: 20_000 });
    await messageWithBody(a, "written offline");
    await messageWithBody(b, "written offline");
    await expect.poll(() => b.page.getByTestId("pending-message").count()).toBe(0);
    expect(await a.page.getByTestId("message-body").getByText("written offline", { exact: true }).count()).toBe(1);
    // Ben blocks Ann from her message: it collapses on his screen (and stays for everyone else).
    await send(a, "one more thing");
    const hers = await messageWithBody(b, "one more thing");
    b.page.once("dialog", (dialog) => void dialog.accept());
    await hers.hover();
    await hers.getByRole("button", { name: `Block ${a.username}` }).click();
    await b.page.getByTestId("blocked-message").first().waitFor();
    expect(await b.page.getByTestId("blocked-message").getByText("one more thing").isVisible()).toBe(false);

    expectNoProblems(a); // Ben's page logged his failed requests while offline; nothing else may be there
    expect(b.problems.filter((problem) => !problem.text.includes("ERR_INTERNET_DISCONNECTED") && !problem.text.includes("status of 401"))).toEqual([]);
  }, 90_000);

  it("keeps a message written offline when the tab is closed: the next page sends it, once", async () => {
    const someone = await app.person("dora");
    await register(someone);
    const roomId = await createRoom(someone, `notes ${someone.username.slice(-6)}`);
    await someone.context.setOffline(true);
    await someone.page.locator('[data-testid="connection-state"]:not([data-state="online"])').waitFor({ timeout: 20_000 });
    await send(someone, "written before closing the tab");
    await someone.page.getByTestId("pending-message").filter({ hasText: "written before closing the tab" }).waitFor();
    await someone.page.close();

    await someone.context.setOffline(false);
    someone.page = await someone.context.newPage();
    await someone.page.goto(app.origin);
    await signedInAs(someone);
    await roomItem(someone.page, roomId).getByRole("button").click();
    await messageWithBody(someone, "written before closing the tab");
    await expect.poll(() => someone.page.getByTestId("pending-message").count()).toBe(0);
    await someone.page.reload();
    await signedInAs(someone);
    await roomItem(someone.page, roomId).getByRole("button").click();
    await messageWithBody(someone, "written before closing the tab");
    expect(await someone.page.getByTestId("message-body").getByText("written before closing the tab", { exact: true }).count()).toBe(1);
  }, 90_000);
});
