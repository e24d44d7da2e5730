import type { Message } from "../../src/contract.ts";
import type { Chatter } from "./chatters.ts";

/** What a lively room went through: the ids a spec checks afterwards. */
export interface RichRoomHistory {
  /** Main-timeline messages, by role in the story. */
  question: Message;
  answer: Message;
  threadRoot: Message;
  /** Thread replies still there (one more was deleted). */
  threadReplies: Message[];
  deleted: Message;
}

/**
 * Two people do everything a room's log can carry — send, reply, thread (with one reply also in the room), edit,
 * react and unreact, delete (a replied-to message and a thread reply), pin and unpin — through whichever instances
 * their clients talk to. Every call waits for its commit, so the room's log holds it all when this resolves.
 */
export async function liveRoomHistory(roomId: string, ann: Chatter, ben: Chatter, tag: string): Promise<RichRoomHistory> {
  const a = ann.client.api.messages;
  const b = ben.client.api.messages;
  let n = 0;
  const id = (): string => `${tag}-${String((n += 1)).padStart(4, "0")}`;

  const question = await a.send.mutate({ roomId, clientMsgId: id(), body: `what about this, @${ben.user.username}?` });
  const answer = await b.send.mutate({ roomId, clientMsgId: id(), body: "this answers it", replyTo: question.id });
  const doomed = await a.send.mutate({ roomId, clientMsgId: id(), body: "a message about to go" });
  const quoting = await b.send.mutate({ roomId, clientMsgId: id(), body: "quoting the doomed one", replyTo: doomed.id });
  const threadRoot = await a.send.mutate({ roomId, clientMsgId: id(), body: "a thread starts here" });
  const reply1 = await b.send.mutate({ roomId, clientMsgId: id(), body: "first in thread", threadRootId: threadRoot.id });
  const reply2 = await a.send.mutate({ roomId, clientMsgId: id(), body: "second, also in the room", threadRootId: threadRoot.id, alsoInRoom: true });
  const reply3 = await b.send.mutate({ roomId, clientMsgId: id(), body: "third, soon deleted", threadRootId: threadRoot.id });

  await a.edit.mutate({ messageId: question.id, body: `what about this one, @${ben.user.username}?` });
  await b.edit.mutate({ messageId: reply1.id, body: "first in thread (edited)" });
  await Promise.all([
    a.react.mutate({ messageId: answer.id, emoji: "👍" }),
    b.react.mutate({ messageId: answer.id, emoji: "👍" }),
    b.react.mutate({ messageId: question.id, emoji: "🎉" }),
    a.react.mutate({ messageId: threadRoot.id, emoji: "🧵" }),
  ]);
  await b.unreact.mutate({ messageId: answer.id, emoji: "👍" });
  await a.react.mutate({ messageId: quoting.id, emoji: "🔥" });
  await a.delete.mutate({ messageId: doomed.id });
  await b.delete.mutate({ messageId: reply3.id });
  await a.pin.mutate({ messageId: answer.id });
  await a.pin.mutate({ messageId: threadRoot.id });
  await a.unpin.mutate({ messageId: threadRoot.id });
  const last = await b.send.mutate({ roomId, clientMsgId: id(), body: "that was a lot" });
  void last;
  return { question, answer, threadRoot, threadReplies: [reply1, reply2], deleted: doomed };
}
