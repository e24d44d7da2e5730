import type { Message, SendOptions } from "@parley/client";
import { describe, expect, it } from "vitest";
import { createPendingStore } from "./pending.ts";

/** A send that waits until the test answers it, as the SDK's outbox does while offline. */
function controlledSend() {
  const calls: { roomId: string; body: string; options: SendOptions; resolve(message: Message): void; reject(error: Error): void }[] = [];
  const send = (roomId: string, body: string, options: SendOptions): Promise<Message> =>
    new Promise((resolve, reject) => calls.push({ roomId, body, options, resolve, reject }));
  return { calls, send };
}

const flush = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe("the pending-message store", () => {
  it("keeps a send pending until acknowledged, then until its message is shown", async () => {
    const { calls, send } = controlledSend();
    const store = createPendingStore(send);
    let changes = 0;
    store.subscribe(() => (changes += 1));

    store.send({ roomId: "r", body: "hello", replyTo: "m1", attachments: ["f1"] });
    expect(store.all()).toMatchObject([{ roomId: "r", body: "hello" }]);
    expect(calls[0]?.options).toMatchObject({ replyTo: "m1", attachments: ["f1"], clientMsgId: store.all()[0]?.clientMsgId });

    calls[0]?.resolve({ id: "m7" } as Message);
    await flush();
    expect(store.all()[0]?.sentId).toBe("m7");
    store.settle(new Set(["m6"]));
    expect(store.all()).toHaveLength(1);
    store.settle(new Set(["m7"]));
    expect(store.all()).toEqual([]);
    expect(changes).toBe(3);
  });

  it("marks a refused send failed, and retries it with the same clientMsgId", async () => {
    const { calls, send } = controlledSend();
    const store = createPendingStore(send);
    store.send({ roomId: "r", body: "again" });
    const clientMsgId = store.all()[0]?.clientMsgId ?? "";
    calls[0]?.reject(new Error("slow mode"));
    await flush();
    expect(store.all()[0]).toMatchObject({ failed: "slow mode" });

    store.retry(clientMsgId);
    expect(store.all()[0]?.failed).toBeUndefined();
    expect(calls[1]?.options.clientMsgId).toBe(clientMsgId);

    store.discard(clientMsgId);
    expect(store.all()).toEqual([]);
  });
});

describe("pending sends kept between pages", () => {
  /** What localStorage holds for one person, as the app's keeper writes it (JSON). */
  function memoryKeeper(initial: unknown = []) {
    let stored = JSON.stringify(initial);
    return {
      keeper: { load: (): unknown => JSON.parse(stored), save: (entries: unknown[]): void => void (stored = JSON.stringify(entries)) },
      stored: (): unknown => JSON.parse(stored),
    };
  }

  it("keeps what the server has not acknowledged, and sends it again with the same clientMsgId on the next page", async () => {
    const first = controlledSend();
    const page = createPendingStore(first.send);
    const kept = memoryKeeper();
    page.resume(kept.keeper);
    const waiting = page.send({ roomId: "r1", body: "written offline", replyTo: "m0" });
    const acknowledged = page.send({ roomId: "r1", body: "went out" });
    first.calls[1]!.resolve({ id: "m2" } as Message);
    await flush();
    expect(kept.stored()).toEqual([{ roomId: "r1", body: "written offline", replyTo: "m0", clientMsgId: waiting }]);
    expect(JSON.stringify(kept.stored())).not.toContain(acknowledged);

    // The tab is closed while offline; a new page for the same person sends it again, once, with the same id.
    const second = controlledSend();
    const next = createPendingStore(second.send);
    next.resume(kept.keeper);
    expect(second.calls.map((call) => [call.body, call.options.clientMsgId, call.options.replyTo])).toEqual([["written offline", waiting, "m0"]]);
    expect(next.all().map((entry) => entry.clientMsgId)).toEqual([waiting]);
    second.calls[0]!.resolve({ id: "m1" } as Message);
    await flush();
    expect(kept.stored()).toEqual([]);
  });

  it("brings a failed send back failed, to retry or discard, without sending it by itself", () => {
    const { calls, send } = controlledSend();
    const store = createPendingStore(send);
    store.resume(memoryKeeper([{ clientMsgId: "c1", roomId: "r1", body: "too fast", failed: "slow mode" }]).keeper);
    expect(calls).toEqual([]);
    expect(store.all()).toEqual([{ clientMsgId: "c1", roomId: "r1", body: "too fast", failed: "slow mode" }]);
  });

  it("drops what it did not write (another shape, not a list), and forgets everything on sign-out", () => {
    const { calls, send } = controlledSend();
    const store = createPendingStore(send);
    const kept = memoryKeeper([{ clientMsgId: 1, roomId: "r1", body: "x" }, "junk", null, { clientMsgId: "c2", roomId: "r1", body: "ok", attachments: ["f1"] }]);
    store.resume(kept.keeper);
    expect(calls.map((call) => call.options.clientMsgId)).toEqual(["c2"]);
    createPendingStore(send).resume(memoryKeeper({ not: "a list" }).keeper);
    store.clear();
    expect(kept.stored()).toEqual([]);
    store.send({ roomId: "r1", body: "after sign-out" });
    expect(kept.stored()).toEqual([]); // no longer kept for the person who signed out
  });
});
