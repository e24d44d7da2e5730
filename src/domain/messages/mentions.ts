/**
 * What a body asks for: `@username` mentions and `@room`, read from the text the sender wrote. The server resolves
 * the names against the room's members when the message commits (message-commits.ts): a name that is not a
 * member's is plain text, and so is `@room` from someone who does not manage the room.
 */
export interface MentionRequest {
  /** Distinct usernames, case-folded as usernames are (NFKC, lower case), at most MAX_MENTIONS. */
  usernames: string[];
  room: boolean;
}

/** A body naming more people than this mentions the first ones; the rest is text. */
export const MAX_MENTIONS = 50;

// An @ that starts a word (not the middle of an email address), then a username's characters. Trailing dots and
// dashes are punctuation ("thanks @ann."), never part of a username here.
const MENTION = /(?<![\p{L}\p{N}_.@-])@([\p{L}\p{N}_.-]{1,64})/gu;

export function mentionsIn(body: string): MentionRequest {
  const usernames = new Set<string>();
  let room = false;
  for (const match of body.matchAll(MENTION)) {
    const name = (match[1] ?? "").normalize("NFKC").toLowerCase().replace(/[.-]+$/, "");
    if (name === "room") {
      room = true;
      continue;
    }
    if (name.length < 3 || name.length > 32 || !/^[a-z0-9_.-]+$/.test(name)) continue;
    if (usernames.size < MAX_MENTIONS) usernames.add(name);
  }
  return { usernames: [...usernames], room };
}

/** Whether the body holds an http(s) link: the search filter `has: "link"`. */
export function hasLinkIn(body: string): boolean {
  return /\bhttps?:\/\/[^\s]/i.test(body);
}
