import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerEvent } from "../../src/contract.ts";
import type { UserPublic } from "../../src/domain/users/users.schema.ts";
import { users } from "../../src/infra/db/schema.ts";
import { FrameHandler } from "../../src/realtime/frames.ts";
import { databaseKinds } from "../support/databases.ts";
import { createTestDeps, settle, type TestDeps } from "../support/test-deps.ts";
import { createUsers, token } from "./room-fixtures.ts";
import { callerFor, domainError, trpcError } from "./trpc-calls.ts";

const UNVERIFIED = { code: "FORBIDDEN", message: "verify your email address before sending messages", reason: "EMAIL_UNVERIFIED" };

/**
 * REQUIRE_VERIFIED_EMAIL: the send gate (in the group commit, under the room's lock, with the member row it reads
 * anyway) refuses sends of users whose address is not verified — over tRPC and over the socket alike. Off by default.
 */
describe.each(databaseKinds)("REQUIRE_VERIFIED_EMAIL on %s", (kind) => {
  let strict: TestDeps;
  let open: TestDeps;
  beforeAll(async () => {
    strict = await createTestDeps(kind, { requireVerifiedEmail: true });
    open = await createTestDeps(kind);
  });
  afterAll(async () => {
    await strict?.close();
    await open?.close();
  });

  const verify = (deps: TestDeps, user: UserPublic) =>
    deps.database.db.update(users).set({ emailVerifiedAt: new Date() }).where(eq(users.id, user.id));

  async function roomOf(deps: TestDeps, owner: UserPublic, member: UserPublic) {
    const room = await deps.services.rooms.create(owner.id, { name: token(), kind: "public" });
    await deps.services.rooms.join(member.id, room.id);
    return deps.services.rooms.get(owner.id, room.id);
  }
  const send = (deps: TestDeps, user: UserPublic, roomId: string) =>
    deps.services.messages.send(user.id, { roomId, clientMsgId: `v-${token()}`, body: "hello" });

  it("refuses an unverified user's send with FORBIDDEN reason EMAIL_UNVERIFIED, over tRPC too, and commits nothing", async () => {
    const [owner, ann] = await createUsers(strict, 2);
    await verify(strict, owner);
    const room = await roomOf(strict, owner, ann);
    expect(await domainError(send(strict, ann, room.id))).toMatchObject(UNVERIFIED);
    const refused = await trpcError(callerFor(strict.services, ann.id).messages.send({ roomId: room.id, clientMsgId: `v-${token()}`, body: "hi" }));
    expect(refused).toMatchObject({ code: "FORBIDDEN", message: UNVERIFIED.message });
    expect(refused.cause).toMatchObject({ reason: "EMAIL_UNVERIFIED" });
    expect((await strict.services.rooms.get(owner.id, room.id)).lastSeq).toBe(room.lastSeq);
    expect((await send(strict, owner, room.id)).created).toBe(true);
  });

  it("lets the user send once the address is verified", async () => {
    const [owner, ann] = await createUsers(strict, 2);
    const room = await roomOf(strict, owner, ann);
    expect(await domainError(send(strict, ann, room.id))).toMatchObject({ reason: "EMAIL_UNVERIFIED" });
    await verify(strict, ann);
    expect((await send(strict, ann, room.id)).created).toBe(true);
  });

  it("answers a socket send with an error frame carrying the reason", async () => {
    const [owner, ann] = await createUsers(strict, 2);
    const room = await roomOf(strict, owner, ann);
    const sent: ServerEvent[] = [];
    const handler = new FrameHandler(
      { id: crypto.randomUUID(), userId: ann.id, send: (event) => sent.push(event), close: () => {}, inRoom: () => true },
      { services: strict.services, logger: strict.logger, onResume: () => {}, budget: { capacity: 100, periodSeconds: 1 } },
    );
    handler.receive(JSON.stringify({ type: "send", roomId: room.id, clientMsgId: "unverified-01", body: "hi" }));
    await settle(300);
    expect(sent).toEqual([{ type: "error", ...UNVERIFIED, clientMsgId: "unverified-01" }]);
  });

  it("is off by default: unverified users send", async () => {
    const [owner, ann] = await createUsers(open, 2);
    const room = await roomOf(open, owner, ann);
    expect((await send(open, ann, room.id)).created).toBe(true);
  });
});
