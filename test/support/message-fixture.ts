import type { Message } from "../../src/contract.ts";

/** A plain text message as the server would send it, for specs that build events by hand: name what matters. */
export function messageFixture(fields: Pick<Message, "id" | "roomId" | "seq" | "sender" | "body" | "createdAt"> & Partial<Message>): Message {
  return {
    kind: "text",
    attachments: [],
    editedAt: null,
    deletedAt: null,
    deletedBy: null,
    replyTo: null,
    threadRootId: null,
    alsoInRoom: false,
    thread: null,
    mentions: [],
    mentionsRoom: false,
    reactions: [],
    pinned: null,
    hasLink: false,
    ...fields,
  };
}
