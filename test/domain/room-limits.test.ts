import { count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roomMembers } from "../../src/infra/db/schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, type TestDeps } from "../support/test-deps.ts";
import { createUsers, token } from "./room-fixtures.ts";
import { domainError } from "./trpc-calls.ts";

const ROOM_FULL = { code: "FORBIDDEN", reason: "ROOM_FULL" } as const;
const ROOM_LIMIT = { code: "FORBIDDEN", reason: "ROOM_LIMIT" } as const;

/**
 * Creating rooms and adding people to them is cheap to ask for and costly to undo, so each has a per-user rate, and
 * rooms and users have caps: a room holds at most ROOM_MAX_MEMBERS, a user is in at most USER_MAX_ROOMS rooms.
 */
describe.each(databaseKinds)("room limits on %s", (kind) => {
  describe("per-user rates", () => {
    let deps: TestDeps;
    beforeAll(async () => {
      deps = await createTestDeps(kind, {
        rateLimits: {
          roomCreatePerUser: { capacity: 3, periodSeconds: 600 },
          invitePerUser: { capacity: 2, periodSeconds: 600 },
          openDirectPerUser: { capacity: 2, periodSeconds: 600 },
          wsTicketPerUser: { capacity: 2, periodSeconds: 60 },
        },
      });
    });
    afterAll(async () => {
      await deps?.close();
    });

    it("refuses room creation past the creator's rate with TOO_MANY_REQUESTS and when to retry", async () => {
      const [creator, other] = await createUsers(deps, 2);
      for (let i = 0; i < 3; i++) await deps.services.rooms.create(creator.id, { name: token(), kind: "private" });
      const refused = await domainError(deps.services.rooms.create(creator.id, { name: token(), kind: "public" }));
      expect(refused).toMatchObject({ code: "TOO_MANY_REQUESTS", retryAfterSeconds: 200 });
      await deps.services.rooms.create(other.id, { name: token(), kind: "private" }); // per user
      deps.clock.advance(200_000);
      await deps.services.rooms.create(creator.id, { name: token(), kind: "private" });
    });

    it("charges a group like a room: creating groups counts against the creation rate", async () => {
      const [creator, ana, bo] = await createUsers(deps, 3);
      deps.clock.advance(600_000);
      for (let i = 0; i < 3; i++) await deps.services.rooms.createGroup(creator.id, { userIds: [ana.id, bo.id] });
      expect(await domainError(deps.services.rooms.createGroup(creator.id, { userIds: [ana.id, bo.id] }))).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    });

    it("refuses invitations past the inviter's rate, so one request cannot ask a victim into hundreds of rooms", async () => {
      const [owner, victim] = await createUsers(deps, 2);
      deps.clock.advance(600_000);
      const rooms = [];
      for (let i = 0; i < 3; i++) rooms.push(await deps.services.rooms.create(owner.id, { name: token(), kind: "private" }));
      const outcomes = await Promise.allSettled(rooms.map((room) => deps.services.rooms.invite(owner.id, { roomId: room.id, userId: victim.id })));
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(2);
      expect(outcomes.find((outcome) => outcome.status === "rejected")).toMatchObject({ reason: { code: "TOO_MANY_REQUESTS" } });
      expect(await deps.services.rooms.invitations(victim.id)).toHaveLength(2);
    });

    it("charges opening a new direct room, but not going back to an existing one", async () => {
      const [alice, bob, carol, dave] = await createUsers(deps, 4);
      const withBob = await deps.services.rooms.openDirect(alice.id, bob.id);
      await deps.services.rooms.openDirect(alice.id, carol.id);
      for (let i = 0; i < 5; i++) expect(await deps.services.rooms.openDirect(alice.id, bob.id)).toEqual(withBob);
      expect(await domainError(deps.services.rooms.openDirect(alice.id, dave.id))).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    });

    it("refuses socket tickets past the user's rate (each is a reconnect)", async () => {
      const [user] = await createUsers(deps, 1);
      const session = { userId: user.id, sessionId: crypto.randomUUID() };
      await deps.services.auth.issueWsTicket(session, undefined);
      await deps.services.auth.issueWsTicket(session, undefined);
      expect(await domainError(deps.services.auth.issueWsTicket(session, undefined))).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    });
  });

  describe("caps", () => {
    let deps: TestDeps;
    beforeAll(async () => {
      deps = await createTestDeps(kind, { limits: { roomMaxMembers: 4, userMaxRooms: 3 } });
    });
    afterAll(async () => {
      await deps?.close();
    });

    const membersOf = async (roomId: string): Promise<number> => {
      const [row] = await deps.database.db.select({ n: count() }).from(roomMembers).where(eq(roomMembers.roomId, roomId));
      return row?.n ?? 0;
    };

    it("refuses joining or accepting an invitation into a full room with reason ROOM_FULL, also when many race for the last seats", async () => {
      const [owner, invited, ...joiners] = await createUsers(deps, 8);
      const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
      const outcomes = await Promise.allSettled(joiners.map((user) => deps.services.rooms.join(user.id, room.id)));
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(3);
      for (const outcome of outcomes) if (outcome.status === "rejected") expect(outcome.reason).toMatchObject(ROOM_FULL);
      expect(await membersOf(room.id)).toBe(4);
      // An invitation waits; accepting it needs a seat (and keeps it for when one is free).
      const { invitationId } = await deps.services.rooms.invite(owner.id, { roomId: room.id, userId: invited.id });
      expect(await domainError(deps.services.rooms.acceptInvite(invited.id, invitationId as string))).toMatchObject(ROOM_FULL);
      expect(await deps.services.rooms.invitations(invited.id)).toMatchObject([{ id: invitationId }]);
      // Joining again as a member is still the idempotent no-op it always was.
      const seated = joiners.find((_, index) => outcomes[index]?.status === "fulfilled");
      if (!seated) throw new Error("nobody got a seat");
      expect(await deps.services.rooms.join(seated.id, room.id)).toMatchObject({ id: room.id });
    });

    it("refuses a fourth room to a user in three — by creating, joining, accepting an invitation or a new direct room — with reason ROOM_LIMIT", async () => {
      const [busy, owner, stranger] = await createUsers(deps, 3);
      const open = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
      const closed = await deps.services.rooms.create(owner.id, { name: token(), kind: "private" });
      for (let i = 0; i < 3; i++) await deps.services.rooms.create(busy.id, { name: token(), kind: "private" });
      expect(await domainError(deps.services.rooms.create(busy.id, { name: token(), kind: "private" }))).toMatchObject(ROOM_LIMIT);
      expect(await domainError(deps.services.rooms.join(busy.id, open.id))).toMatchObject(ROOM_LIMIT);
      const { invitationId } = await deps.services.rooms.invite(owner.id, { roomId: closed.id, userId: busy.id });
      expect(await domainError(deps.services.rooms.acceptInvite(busy.id, invitationId as string))).toMatchObject(ROOM_LIMIT);
      expect(await domainError(deps.services.rooms.openDirect(stranger.id, busy.id))).toMatchObject(ROOM_LIMIT);
      expect(await deps.services.rooms.roomIdsOf(busy.id)).toHaveLength(3);
      // Leaving frees a seat (the room is their own and has no one else: it is deleted as they leave).
      const [first] = await deps.services.rooms.roomIdsOf(busy.id);
      if (!first) throw new Error("no room");
      await deps.services.rooms.leave(busy.id, first);
      await deps.services.rooms.join(busy.id, open.id);
    });
  });
});
