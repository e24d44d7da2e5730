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
