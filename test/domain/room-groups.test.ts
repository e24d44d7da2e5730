import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { groupName } from "../../src/domain/rooms/room-groups.ts";
import { rooms, userBlocks, users } from "../../src/infra/db/schema.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, inviteAndAccept, token } from "./room-fixtures.ts";
import { callerFor, domainError, inputIssues, trpcError } from "./trpc-calls.ts";

describe("an unnamed group's name", () => {
  it("writes out up to three of the others, then two and how many more", () => {
    expect(groupName([], 0)).toBe("Empty group");
    expect(groupName(["Ana"], 1)).toBe("Ana");
    expect(groupName(["Ana", "Bo"], 2)).toBe("Ana and Bo");
    expect(groupName(["Ana", "Bo", "Cy"], 3)).toBe("Ana, Bo and Cy");
    expect(groupName(["Ana", "Bo", "Cy"], 4)).toBe("Ana, Bo and 2 others");
    expect(groupName(["Ana", "Bo", "Cy"], 49)).toBe("Ana, Bo and 47 others");
  });
});

describe.each(databaseKinds)("groups on %s", (kind) => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps(kind);
  });
  afterAll(async () => {
    await deps?.close();
  });

  const named = async (user: { id: string }, displayName: string): Promise<void> => {
    await deps.database.db.update(users).set({ displayName }).where(eq(users.id, user.id));
  };

  it("makes the creator owner and invites everyone else: nobody is in it without accepting", async () => {
    const [creator, ana, bo] = await createUsers(deps, 3);
    const creatorEvents = await deps.recordEvents({ userId: creator.id });
    const anaEvents = await deps.recordEvents({ userId: ana.id });
    const group = await callerFor(deps.services, creator.id).rooms.createGroup({ userIds: [ana.id, bo.id], name: "Lunch" });
    await settle();
    expect(group).toMatchObject({ kind: "group", name: "Lunch", lastSeq: 0 });
    expect(creatorEvents).toEqual([{ type: "room.membership", roomId: group.id, membership: "joined", room: group }]);
    expect(anaEvents).toEqual([
      {
        type: "invitation",
        invitation: { id: expect.any(String), room: { id: group.id, kind: "group", name: "Lunch", memberCount: 1 }, inviter: creator, createdAt: expect.any(String) },
      },
    ]);
    expect(await deps.services.rooms.requireMember(creator.id, group.id)).toBe("owner");
    const members = await deps.services.rooms.members(creator.id, { roomId: group.id, limit: 10 });
    expect(members.items.map((member) => member.user.id)).toEqual([creator.id]);
    expect(await deps.services.rooms.invitations(bo.id)).toMatchObject([{ room: { id: group.id }, inviter: creator }]);
  });

  it("lets its members invite others, and any member leave", async () => {
    const [creator, ana, bo, cy] = await createUsers(deps, 4);
    const group = await deps.services.rooms.createGroup(creator.id, { userIds: [ana.id, bo.id] });
    const [invitation] = await deps.services.rooms.invitations(ana.id);
    await deps.services.rooms.acceptInvite(ana.id, invitation?.id as string);
    await inviteAndAccept(deps, ana.id, group.id, cy.id);
    expect(await deps.services.rooms.requireMember(cy.id, group.id)).toBe("member");
    await deps.services.rooms.leave(cy.id, group.id);
    expect(await deps.services.rooms.roomIdsOf(cy.id)).not.toContain(group.id);
  });

  it("names an unnamed group by its other people as each of them sees it, members before those still invited", async () => {
    const [creator, ana, bo, cy, dee, eve] = await createUsers(deps, 6);
    const names = [[creator, "Zed"], [ana, "Ana"], [bo, "Bo"], [cy, "Cy"], [dee, "Dee"], [eve, "Eve"]] as const;
    for (const [user, displayName] of names) await named(user, displayName);
    const group = await deps.services.rooms.createGroup(creator.id, { userIds: [ana.id, bo.id] });
    // Stored without a name; shown by its people (the invitees, while nobody has joined).
    const [stored] = await deps.database.db.select({ name: rooms.name }).from(rooms).where(eq(rooms.id, group.id));
    expect(stored?.name).toBe("");
    const inviteesInIdOrder = [ana, bo].sort((a, b) => (a.id < b.id ? -1 : 1)).map((user) => names.find(([u]) => u === user)?.[1]);
    expect(group.name).toBe(`${inviteesInIdOrder[0]} and ${inviteesInIdOrder[1]}`);
    const [forAna] = await deps.services.rooms.invitations(ana.id);
    expect(forAna?.room.name).toBe("Zed and Bo");
    await deps.services.rooms.acceptInvite(ana.id, forAna?.id as string);
    expect((await deps.services.rooms.get(ana.id, group.id)).name).toBe("Zed and Bo");
    expect((await deps.services.rooms.get(creator.id, group.id)).name).toBe("Ana and Bo");
    for (const user of [cy, dee, eve]) await inviteAndAccept(deps, creator.id, group.id, user.id);
    // Members in the order they joined, then Bo, still invited: five others.
    const listed = (await deps.services.rooms.list(creator.id)).find((room) => room.id === group.id);
    expect(listed?.name).toBe("Ana, Cy and 3 others");
    expect((await deps.services.rooms.get(eve.id, group.id)).name).toBe("Zed, Ana and 3 others");
    // A named group keeps its name.
    await deps.services.rooms.update(creator.id, { roomId: group.id, name: "Book club" });
    expect((await deps.services.rooms.get(ana.id, group.id)).name).toBe("Book club");
  });

  it("takes 2 to 49 distinct others, never yourself, and refuses unknown people", async () => {
    const [creator, ...others] = await createUsers(deps, 3);
    const asCreator = callerFor(deps.services, creator.id);
    const ids = (count: number): string[] => Array.from({ length: count }, () => crypto.randomUUID());
    expect(await inputIssues(asCreator.rooms.createGroup({ userIds: [others[0].id] }))).toEqual(["a group needs at least 2 other people"]);
    expect(await inputIssues(asCreator.rooms.createGroup({ userIds: ids(50) }))).toEqual(["a group has at most 49 other people"]);
    expect(await inputIssues(asCreator.rooms.createGroup({ userIds: [others[0].id, others[0].id] }))).toEqual(["userIds must be distinct"]);
    expect(await trpcError(asCreator.rooms.createGroup({ userIds: [creator.id, others[0].id] }))).toMatchObject({ code: "BAD_REQUEST" });
    expect(await trpcError(asCreator.rooms.createGroup({ userIds: [others[0].id, crypto.randomUUID()] }))).toMatchObject({
      code: "NOT_FOUND",
      message: "no such user",
    });
    expect(await deps.services.rooms.invitations(others[0].id)).toEqual([]);
    const many = await createUsers(deps, 49);
    const big = await asCreator.rooms.createGroup({ userIds: many.map((user) => user.id), name: token() });
    expect(big.kind).toBe("group");
  });

  it("refuses a group with someone either way blocked (reason BLOCKED), creating nothing", async () => {
    const [creator, ana, blocker] = await createUsers(deps, 3);
    await deps.database.db.insert(userBlocks).values({ blockerId: blocker.id, blockedId: creator.id });
    const refused = await domainError(deps.services.rooms.createGroup(creator.id, { userIds: [ana.id, blocker.id] }));
    expect(refused).toMatchObject({ code: "FORBIDDEN", reason: "BLOCKED", message: "you cannot invite this user" });
    expect(await deps.services.rooms.invitations(ana.id)).toEqual([]);
    expect(await deps.services.rooms.roomIdsOf(creator.id)).toEqual([]);
  });
});
