import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message, Room } from "../../src/contract.ts";
import { appRouter } from "../../src/transport/trpc/app-router.ts";
import { uniqueUsername } from "../support/factories.ts";
import { bearer, createHttpProbe, type HttpProbe, type ProbeAnswer, resultOf, type SignedUp, signUp } from "../support/http-probe.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";

const base64url = (value: unknown): string => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const SOME_ID = "0b6f3c4e-8d2a-4f7b-9c1e-5a6d7e8f9a0b";

/** Strings that broke queries or would: NUL, lone surrogates, other controls, SQL-looking text, absurd length. */
const HOSTILE_TEXT = ["a\u0000b", "\u0000", "\ud800", "x\udfffy", "\u001b[31mred", "\u202eevil", "'; drop table users; --", "%_\\", "x".repeat(5000)];
/** Cursors a server never issued: impossible timestamps, NUL inside, wrong shapes, not base64 at all. */
const HOSTILE_CURSORS = [
  base64url(["9999-99-99 99:99:99+00", SOME_ID]),
  base64url(["2024-02-30 10:00:00+00", SOME_ID]),
  base64url(["2024-01-01 10:00:00+99", SOME_ID]),
  base64url(["\u0000", SOME_ID]),
  base64url(["general", "not-a-uuid"]),
  base64url([1, 2]),
  base64url("{"),
  "%%%",
  "\u0000",
];

interface ProcedureCase {
  /** A valid input (so the hostile value is the only thing wrong), as a function: some inputs must be fresh. */
  valid(): Record<string, unknown>;
  /** Where a string goes, and the hostile strings to put there (HOSTILE_TEXT when not said otherwise). */
  strings: Record<string, string[]>;
  /** Inputs built whole (record keys, array items). */
  extra?: unknown[];
}

/**
 * Every procedure of the router, on the wire of a real Bun server, given hostile strings in every string field:
 * NUL, lone surrogates and other controls, and cursors it never issued. Every answer is a typed 4xx or a success —
 * never a 5xx, never an internal message. A procedure added to the router without a case here fails the suite.
 */
describe("hostile strings in every procedure (Bun)", () => {
  let server: ServerProcess;
  let probe: HttpProbe;
  let owner: SignedUp;
  let other: SignedUp;
  let room: Room;
  let seed: Message;

  beforeAll(async () => {
    server = await startServer("bun");
    probe = createHttpProbe(server.url);
    owner = await signUp(probe, uniqueUsername("hostile"));
    other = await signUp(probe, uniqueUsername("target"));
    room = resultOf<Room>(await probe.mutate("rooms.create", { name: "hostile", kind: "private" }, { headers: bearer(owner.accessToken) }));
    seed = resultOf<Message>(await probe.mutate("messages.send", { roomId: room.id, clientMsgId: `seed-${crypto.randomUUID()}`, body: "seed" }, { headers: bearer(owner.accessToken) }));
  });

  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  const cases = (): Record<string, ProcedureCase> => ({
    "auth.register": {
      valid: () => ({ email: `${uniqueUsername("h")}@example.test`, username: uniqueUsername("h"), password: "correct horse battery", displayName: "H", refreshTokenIn: "body" }),
      strings: { email: HOSTILE_TEXT, username: HOSTILE_TEXT, password: HOSTILE_TEXT, displayName: HOSTILE_TEXT },
    },
    "auth.login": { valid: () => ({ login: owner.user.username, password: "wrong but fine", refreshTokenIn: "body" }), strings: { login: HOSTILE_TEXT, password: HOSTILE_TEXT } },
    "auth.refresh": { valid: () => ({ refreshToken: "A".repeat(43), refreshTokenIn: "body" }), strings: { refreshToken: HOSTILE_TEXT } },
    "auth.logout": { valid: () => ({ refreshToken: "B".repeat(43) }), strings: { refreshToken: HOSTILE_TEXT } },
    "auth.me": { valid: () => ({}), strings: {} },
    "auth.wsTicket": {
      valid: () => ({ resume: { [room.id]: { seq: 0, epoch: room.epoch } } }),
      strings: {},
      extra: HOSTILE_TEXT.map((key) => ({ resume: { [key]: { seq: 1, epoch: 1 } } })),
    },
    "auth.sessions": { valid: () => ({}), strings: {} },
    // Someone else's or no one's session: NOT_FOUND, so the owner's own session survives for the other cases.
    "auth.revokeSession": { valid: () => ({ sessionId: SOME_ID }), strings: { sessionId: HOSTILE_TEXT } },
    "auth.revokeOtherSessions": { valid: () => ({}), strings: {} },
    // A wrong current password: UNAUTHORIZED, so the owner's password and session stay as they are.
    "auth.changePassword": {
      valid: () => ({ currentPassword: "wrong but fine", newPassword: "correct horse battery" }),
      strings: { currentPassword: HOSTILE_TEXT, newPassword: HOSTILE_TEXT },
    },
    // A wrong password: UNAUTHORIZED (or, once the failed-login limit is spent, TOO_MANY_REQUESTS); the owner stays.
    "auth.deleteAccount": { valid: () => ({ password: "wrong but fine" }), strings: { password: HOSTILE_TEXT } },
    // A token no email carried: BAD_REQUEST reason EMAIL_TOKEN.
    "auth.verifyEmail": { valid: () => ({ token: "C".repeat(43) }), strings: { token: HOSTILE_TEXT } },
    "auth.resendVerification": { valid: () => ({}), strings: {} },
    "auth.requestPasswordReset": { valid: () => ({ email: `${uniqueUsername("r")}@example.test` }), strings: { email: HOSTILE_TEXT } },
    // An unknown token: BAD_REQUEST, so nobody's password changes.
    "auth.resetPassword": {
      valid: () => ({ token: "D".repeat(43), newPassword: "correct horse battery" }),
      strings: { token: HOSTILE_TEXT, newPassword: HOSTILE_TEXT },
    },
    // A wrong password: UNAUTHORIZED, so the owner's address stays.
    "auth.changeEmail": {
      valid: () => ({ newEmail: `${uniqueUsername("c")}@example.test`, password: "wrong but fine" }),
      strings: { newEmail: HOSTILE_TEXT, password: HOSTILE_TEXT },
    },
    "users.get": { valid: () => ({ userId: other.user.id }), strings: { userId: HOSTILE_TEXT } },
    "users.search": { valid: () => ({ query: "hos" }), strings: { query: HOSTILE_TEXT } },
    "users.updateMe": {
      valid: () => ({ displayName: "Fine Name", bio: "fine", timezone: "UTC", dmPolicy: "everyone" }),
      strings: { displayName: HOSTILE_TEXT, bio: HOSTILE_TEXT, timezone: HOSTILE_TEXT, dmPolicy: HOSTILE_TEXT, avatarFileId: HOSTILE_TEXT },
      // A well-formed id of no file: NOT_FOUND.
      extra: [{ avatarFileId: SOME_ID }, ...HOSTILE_TEXT.flatMap((text) => [{ status: { text, emoji: "🙂" } }, { status: { text: "fine", emoji: text } }])],
    },
    // Asking the other account: the first succeeds, the rest change nothing (already asked).
    "friends.request": { valid: () => ({ userId: other.user.id }), strings: { userId: HOSTILE_TEXT } },
    // No request or friendship with no one: NOT_FOUND.
    "friends.accept": { valid: () => ({ userId: SOME_ID }), strings: { userId: HOSTILE_TEXT } },
    "friends.decline": { valid: () => ({ userId: SOME_ID }), strings: { userId: HOSTILE_TEXT } },
    "friends.cancel": { valid: () => ({ userId: SOME_ID }), strings: { userId: HOSTILE_TEXT } },
    "friends.remove": { valid: () => ({ userId: SOME_ID }), strings: { userId: HOSTILE_TEXT } },
    "friends.list": { valid: () => ({}), strings: { cursor: [...HOSTILE_TEXT, ...HOSTILE_CURSORS] } },
    "friends.requests": { valid: () => ({}), strings: {} },
    // No such user / not blocked: NOT_FOUND, so no case blocks anyone the other cases need.
    "users.block": { valid: () => ({ userId: SOME_ID }), strings: { userId: HOSTILE_TEXT } },
    "users.unblock": { valid: () => ({ userId: SOME_ID }), strings: { userId: HOSTILE_TEXT } },
    "users.blocked": { valid: () => ({}), strings: { cursor: [...HOSTILE_TEXT, ...HOSTILE_CURSORS] } },
    "rooms.create": { valid: () => ({ name: "fine", kind: "private", description: "fine" }), strings: { name: HOSTILE_TEXT, kind: HOSTILE_TEXT, description: HOSTILE_TEXT } },
    "rooms.openDirect": { valid: () => ({ userId: other.user.id }), strings: { userId: HOSTILE_TEXT } },
    "rooms.list": { valid: () => ({}), strings: {} },
    "rooms.discover": { valid: () => ({ query: "host" }), strings: { query: HOSTILE_TEXT, cursor: [...HOSTILE_TEXT, ...HOSTILE_CURSORS] } },
    "rooms.get": { valid: () => ({ roomId: room.id }), strings: { roomId: HOSTILE_TEXT } },
    "rooms.join": { valid: () => ({ roomId: room.id }), strings: { roomId: HOSTILE_TEXT } },
    "rooms.invite": { valid: () => ({ roomId: room.id, userId: other.user.id }), strings: { roomId: HOSTILE_TEXT, userId: HOSTILE_TEXT } },
    "rooms.leave": { valid: () => ({ roomId: SOME_ID }), strings: { roomId: HOSTILE_TEXT } },
    // An unknown second person: NOT_FOUND, so no group is made.
    "rooms.createGroup": {
      valid: () => ({ userIds: [other.user.id, SOME_ID], name: "group" }),
      strings: { name: HOSTILE_TEXT },
      extra: HOSTILE_TEXT.map((id) => ({ userIds: [other.user.id, id] })),
    },
    "rooms.invitations": { valid: () => ({}), strings: {} },
    // No such invitation: NOT_FOUND.
    "rooms.acceptInvite": { valid: () => ({ invitationId: SOME_ID }), strings: { invitationId: HOSTILE_TEXT } },
    "rooms.declineInvite": { valid: () => ({ invitationId: SOME_ID }), strings: { invitationId: HOSTILE_TEXT } },
    "rooms.cancelInvite": { valid: () => ({ invitationId: SOME_ID }), strings: { invitationId: HOSTILE_TEXT } },
    "rooms.createInviteLink": { valid: () => ({ roomId: room.id, expiresInSeconds: 3600, maxUses: 1 }), strings: { roomId: HOSTILE_TEXT } },
    "rooms.inviteLinks": { valid: () => ({ roomId: room.id }), strings: { roomId: HOSTILE_TEXT } },
    "rooms.revokeInviteLink": { valid: () => ({ linkId: SOME_ID }), strings: { linkId: HOSTILE_TEXT } },
    // A token nobody issued: FORBIDDEN reason INVITE_LINK.
    "rooms.joinByLink": { valid: () => ({ token: "C".repeat(43) }), strings: { token: HOSTILE_TEXT } },
    "rooms.inviteLinkRoom": { valid: () => ({ token: "C".repeat(43) }), strings: { token: HOSTILE_TEXT } },
    "rooms.kick": { valid: () => ({ roomId: room.id, userId: SOME_ID }), strings: { roomId: HOSTILE_TEXT, userId: HOSTILE_TEXT } },
    // Aimed at someone who is not in the room: NOT_FOUND, so the owner keeps the room for the other cases.
    "rooms.setRole": { valid: () => ({ roomId: room.id, userId: SOME_ID, role: "moderator" }), strings: { roomId: HOSTILE_TEXT, userId: HOSTILE_TEXT, role: HOSTILE_TEXT } },
    "rooms.transferOwnership": { valid: () => ({ roomId: room.id, userId: SOME_ID }), strings: { roomId: HOSTILE_TEXT, userId: HOSTILE_TEXT } },
    "rooms.update": {
      valid: () => ({ roomId: room.id, name: "renamed", description: "d" }),
      strings: { roomId: HOSTILE_TEXT, name: HOSTILE_TEXT, description: HOSTILE_TEXT, avatarFileId: HOSTILE_TEXT },
      extra: [{ roomId: room.id, avatarFileId: SOME_ID }],
    },
    "rooms.events": { valid: () => ({ roomId: room.id, after: 0 }), strings: { roomId: HOSTILE_TEXT } },
    "rooms.members": { valid: () => ({ roomId: room.id }), strings: { roomId: HOSTILE_TEXT, cursor: [...HOSTILE_TEXT, ...HOSTILE_CURSORS] } },
    "rooms.auditLog": { valid: () => ({ roomId: room.id }), strings: { roomId: HOSTILE_TEXT, cursor: [...HOSTILE_TEXT, ...HOSTILE_CURSORS] } },
    // Aimed at no one: NOT_FOUND, so nobody is banned or muted for the other cases.
    "rooms.ban": {
      valid: () => ({ roomId: room.id, userId: SOME_ID, reason: "fine", durationSeconds: 600 }),
      strings: { roomId: HOSTILE_TEXT, userId: HOSTILE_TEXT, reason: HOSTILE_TEXT },
    },
    "rooms.unban": { valid: () => ({ roomId: room.id, userId: SOME_ID }), strings: { roomId: HOSTILE_TEXT, userId: HOSTILE_TEXT } },
    "rooms.bans": { valid: () => ({ roomId: room.id }), strings: { roomId: HOSTILE_TEXT, cursor: [...HOSTILE_TEXT, ...HOSTILE_CURSORS] } },
    "rooms.mute": {
      valid: () => ({ roomId: room.id, userId: SOME_ID, reason: "fine", durationSeconds: 600 }),
      strings: { roomId: HOSTILE_TEXT, userId: HOSTILE_TEXT, reason: HOSTILE_TEXT },
    },
    "rooms.unmute": { valid: () => ({ roomId: room.id, userId: SOME_ID }), strings: { roomId: HOSTILE_TEXT, userId: HOSTILE_TEXT } },
    "rooms.mutes": { valid: () => ({ roomId: room.id }), strings: { roomId: HOSTILE_TEXT, cursor: [...HOSTILE_TEXT, ...HOSTILE_CURSORS] } },
    "messages.send": {
      valid: () => ({ roomId: room.id, clientMsgId: `h-${crypto.randomUUID()}`, body: "fine", replyTo: seed.id }),
      strings: { roomId: HOSTILE_TEXT, clientMsgId: HOSTILE_TEXT, body: HOSTILE_TEXT, replyTo: HOSTILE_TEXT, threadRootId: HOSTILE_TEXT, attachments: HOSTILE_TEXT },
    },
    "messages.list": { valid: () => ({ roomId: room.id }), strings: { roomId: HOSTILE_TEXT } },
    "messages.search": {
      valid: () => ({ query: "seed" }),
      strings: {
        query: HOSTILE_TEXT,
        roomId: HOSTILE_TEXT,
        fromUserId: HOSTILE_TEXT,
        has: HOSTILE_TEXT,
        before: HOSTILE_TEXT,
        after: HOSTILE_TEXT,
        cursor: [...HOSTILE_TEXT, ...HOSTILE_CURSORS],
      },
    },
    "messages.edit": { valid: () => ({ messageId: seed.id, body: "edited" }), strings: { messageId: HOSTILE_TEXT, body: HOSTILE_TEXT } },
    "messages.delete": { valid: () => ({ messageId: SOME_ID }), strings: { messageId: HOSTILE_TEXT } },
    "messages.react": { valid: () => ({ messageId: seed.id, emoji: "👍" }), strings: { messageId: HOSTILE_TEXT, emoji: HOSTILE_TEXT } },
    "messages.unreact": { valid: () => ({ messageId: seed.id, emoji: "👍" }), strings: { messageId: HOSTILE_TEXT, emoji: HOSTILE_TEXT } },
    "messages.reactors": { valid: () => ({ messageId: seed.id, emoji: "👍" }), strings: { messageId: HOSTILE_TEXT, emoji: HOSTILE_TEXT, cursor: [...HOSTILE_TEXT, ...HOSTILE_CURSORS] } },
    "messages.edits": { valid: () => ({ messageId: seed.id }), strings: { messageId: HOSTILE_TEXT } },
    "messages.thread": { valid: () => ({ rootId: seed.id }), strings: { rootId: HOSTILE_TEXT } },
    "messages.pin": { valid: () => ({ messageId: seed.id }), strings: { messageId: HOSTILE_TEXT } },
    "messages.unpin": { valid: () => ({ messageId: seed.id }), strings: { messageId: HOSTILE_TEXT } },
    "messages.pinned": { valid: () => ({ roomId: room.id }), strings: { roomId: HOSTILE_TEXT } },
    "messages.markRead": { valid: () => ({ roomId: room.id, seq: 1 }), strings: { roomId: HOSTILE_TEXT } },
    "messages.markDelivered": { valid: () => ({ roomId: room.id, seq: 1 }), strings: { roomId: HOSTILE_TEXT } },
    "messages.status": { valid: () => ({ roomId: room.id, seq: 1 }), strings: { roomId: HOSTILE_TEXT, cursor: HOSTILE_TEXT } },
    "presence.get": { valid: () => ({ userIds: [other.user.id] }), strings: {}, extra: HOSTILE_TEXT.map((id) => ({ userIds: [id] })) },
    "presence.set": { valid: () => ({ status: "away" }), strings: { status: HOSTILE_TEXT } },
    // The first is filed; the rest are CONFLICT (one open report per target) or refused by the report rate.
    "moderation.report": {
      valid: () => ({ userId: other.user.id, roomId: room.id, reason: "spam", note: "fine" }),
      strings: { userId: HOSTILE_TEXT, messageId: HOSTILE_TEXT, roomId: HOSTILE_TEXT, reason: HOSTILE_TEXT, note: HOSTILE_TEXT },
    },
    "moderation.reports": {
      valid: () => ({ roomId: room.id, status: "open" }),
      strings: { roomId: HOSTILE_TEXT, status: HOSTILE_TEXT, cursor: [...HOSTILE_TEXT, ...HOSTILE_CURSORS] },
    },
    // Hostile names that pass the schema make pending uploads nobody completes (or meet the upload rate).
    "files.createUpload": {
      valid: () => ({ purpose: "attachment", roomId: room.id, filename: "fine.png", contentType: "image/png", size: 100 }),
      strings: { purpose: HOSTILE_TEXT, roomId: HOSTILE_TEXT, filename: HOSTILE_TEXT, contentType: HOSTILE_TEXT },
    },
    // No such file: NOT_FOUND.
    "files.complete": { valid: () => ({ fileId: SOME_ID }), strings: { fileId: HOSTILE_TEXT } },
    "files.url": { valid: () => ({ fileId: SOME_ID, variant: "thumbnail" }), strings: { fileId: HOSTILE_TEXT, variant: HOSTILE_TEXT } },
    "moderation.resolve": { valid: () => ({ reportId: SOME_ID, action: "dismiss" }), strings: { reportId: HOSTILE_TEXT, action: HOSTILE_TEXT } },
  });

  // At runtime tRPC keeps every procedure under its full dotted path; the declared type is the nested router.
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>;

  it("has a case for every procedure the router serves", () => {
    expect(Object.keys(cases()).sort()).toEqual(Object.keys(procedures).sort());
  });

  it("answers every hostile string with a typed 4xx or a success — never a 5xx or an internal message", async () => {
    const answers: { context: string; answer: ProbeAnswer }[] = [];
    for (const [name, procedure] of Object.entries(cases())) {
      const call = (input: unknown): Promise<ProbeAnswer> =>
        procedures[name]?._def.type === "query"
          ? probe.query(name, input, { headers: bearer(owner.accessToken) })
          : probe.mutate(name, input, { headers: bearer(owner.accessToken) });
      const inputs: [string, unknown][] = [["valid", procedure.valid()]];
      for (const [field, values] of Object.entries(procedure.strings)) {
        for (const value of values) inputs.push([`${field} = ${JSON.stringify(value).slice(0, 40)}`, { ...procedure.valid(), [field]: value }]);
      }
      for (const input of procedure.extra ?? []) inputs.push([JSON.stringify(input).slice(0, 60), input]);
      for (const [what, input] of inputs) answers.push({ context: `${name} ${what}`, answer: await call(input) });
    }
    const broken = answers.filter(({ answer }) => answer.status >= 500 || /Failed query|params:|select |insert into|\bat .*\.ts:\d+/i.test(answer.text));
    expect(broken.map(({ context, answer }) => `${context} → ${answer.status} ${answer.text.slice(0, 160)}`)).toEqual([]);
    // Hostile values were refused as input, not met deeper down.
    const refusedAsInput = answers.filter(({ context, answer }) => !context.endsWith(" valid") && answer.errorCode === "BAD_REQUEST");
    expect(refusedAsInput.length).toBeGreaterThan(answers.length / 2);
    expect(server.logs.filter((line) => line.level === "error")).toEqual([]);
  }, 120_000);
});
