import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createParleyClient, type LiveRoomView, type ParleyClient } from "../../client-sdk/src/index.ts";
import type { Message, UserProfile } from "../../src/contract.ts";
import { type Chatter, publicRoom, registerChatter } from "../support/chatters.ts";
import { type ClientNetwork, createClientNetwork } from "../support/client-network.ts";
import { createPostgresTestDatabase } from "../support/databases.ts";
import { uniqueUsername } from "../support/factories.ts";
import { type FaultCluster, startCluster } from "../support/fault-harness.ts";
import { liveRoomHistory } from "../support/rich-room.ts";

const postgresUrl = inject("postgresUrl");
const redisUrl = inject("redisUrl");

/**
 * A member's SDK view of a room, on another instance than the one committing everything: it reaches a fresh
 * `messages.list` after a cut it resumes from (events crossed Redis, or were read back from Postgres), and after
 * the committing instance dies with kill -9 right after its last commit (whatever it had not published yet is
 * found by the survivor's tail check and read from Postgres).
 */
describe.skipIf(!postgresUrl || !redisUrl)("a room view across two instances, and a kill -9", () => {
  let database: { url: string; drop(): Promise<void> };
  let cluster: FaultCluster;
  const closers: (() => void)[] = [];

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    cluster = await startCluster({ instances: 2, databaseUrl: database.url, redisUrl: redisUrl as string, env: { ROOM_TAIL_CHECK_MS: "300" } });
  }, 120_000);

  afterAll(async () => {
    for (const close of closers) close();
    await cluster?.close();
    await database?.drop();
  });

  interface Viewer {
    user: UserProfile;
    client: ParleyClient;
    network: ClientNetwork;
  }

  /** A member whose calls and socket go to one instance, through a network the spec can cut. */
  async function viewerOn(url: string): Promise<Viewer> {
    const network = createClientNetwork();
    const client = createParleyClient({ url, WebSocket: network.WebSocket, fetch: network.fetch, reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
    const username = uniqueUsername("carol");
    const user = await client.register({ email: `${username}@example.test`, username, password: "correct horse battery staple" });
    closers.push(() => client.realtime.disconnect());
    return { user, client, network };
  }

  async function chattersOn(url: string): Promise<[Chatter, Chatter]> {
    const pair: [Chatter, Chatter] = [await registerChatter(url, "ann"), await registerChatter(url, "ben")];
    closers.push(() => pair.forEach((chatter) => chatter.client.realtime.disconnect()));
    return pair;
  }

  async function openView(viewer: Viewer, roomId: string): Promise<LiveRoomView> {
    await viewer.client.api.rooms.join.mutate({ roomId });
    viewer.client.realtime.connect();
    await viewer.client.realtime.whenOpen();
    const view = viewer.client.realtime.view(roomId, { limit: 100 });
    closers.push(() => view.close());
    await view.ready();
    return view;
  }

  /** The view, once it stands where a fresh read stands, equals that read (and each thread its messages.thread). */
  async function expectConverged(view: LiveRoomView, viewer: Viewer, roomId: string, roots: string[]): Promise<Message[]> {
    const fresh = await viewer.client.api.messages.list.query({ roomId, limit: 100 });
    await view.reached(fresh.lastSeq);
    expect(view.messages()).toEqual(fresh.messages);
    for (const rootId of roots) {
      await view.loadThread(rootId);
      const thread = await viewer.client.api.messages.thread.query({ rootId });
      expect(view.thread(rootId)).toEqual(thread.replies);
      expect(view.message(rootId)).toEqual(thread.root);
    }
    return fresh.messages;
  }

  it("resumes on B, after a cut, to exactly what two people did through A", async () => {
    const [a, b] = cluster.instances as [FaultCluster["instances"][number], FaultCluster["instances"][number]];
    const [ann, ben] = await chattersOn(a.url);
    const carol = await viewerOn(b.url);
    const room = await publicRoom(ann, ben);
    const view = await openView(carol, room.id);

    const live = await liveRoomHistory(room.id, ann, ben, "live");
    await expectConverged(view, carol, room.id, [live.threadRoot.id]);

    carol.network.cut();
    const away = await liveRoomHistory(room.id, ann, ben, "away");
    carol.network.restore();
    const messages = await expectConverged(view, carol, room.id, [live.threadRoot.id, away.threadRoot.id]);
    expect(messages.find((message) => message.id === away.deleted.id)).toMatchObject({ body: "", deletedAt: expect.any(String) });
  });

  it("reaches the last events committed by an instance killed with -9 right after committing them", async () => {
    const [a, b] = cluster.instances as [FaultCluster["instances"][number], FaultCluster["instances"][number]];
    const [ann, ben] = await chattersOn(a.url);
    const carol = await viewerOn(b.url);
    const room = await publicRoom(ann, ben);
    const view = await openView(carol, room.id);

    const history = await liveRoomHistory(room.id, ann, ben, "doomed");
    // The last send's ack went out before its publish (the group commit answers first): kill now, and the
    // survivor may never hear of it but from Postgres.
    await cluster.kill(0);
    await expectConverged(view, carol, room.id, [history.threadRoot.id]);
    expect(b.exited).toBe(false);
  });
});
