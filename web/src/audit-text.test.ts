import type { RoomAuditEntry } from "@parley/client";
import { describe, expect, it } from "vitest";
import { auditText } from "./audit-text.ts";

const ann = { id: "a", username: "ann", displayName: "" };
const ben = { id: "b", username: "ben", displayName: "Ben B" };
const base = { id: "e", actor: ann, target: { user: ben }, reason: null, seq: 3, at: "2026-01-01T00:00:00.000Z" };

describe("auditText", () => {
  it("names who did what to whom, with the reason after a colon", () => {
    const entry: RoomAuditEntry = { ...base, action: "member.banned", data: { role: "member", expiresAt: null }, reason: "spam" };
    expect(auditText(entry)).toBe("ann banned Ben B: spam");
  });

  it("reads settings changes from old to new", () => {
    const entry: RoomAuditEntry = { ...base, target: {}, action: "room.updated", data: { slowModeSeconds: { from: 0, to: 30 }, name: { from: "a", to: "b" } } };
    expect(auditText(entry)).toBe("ann changed slow mode from off to 30 s, the name from “a” to “b”");
  });

  it("says someone for an account that is gone", () => {
    const entry: RoomAuditEntry = { ...base, actor: null, action: "role.changed", data: { from: "member", to: "moderator" } };
    expect(auditText(entry)).toBe("someone changed Ben B's role from member to moderator");
  });
});
