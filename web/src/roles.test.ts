import { describe, expect, it } from "vitest";
import { postingLimit } from "./roles.ts";

describe("what the composer says holds my sends back", () => {
  const open = { postPolicy: "everyone", slowModeSeconds: 0 } as const;

  it("says nothing in an open room", () => {
    expect(postingLimit(open, "member")).toBeNull();
  });

  it("tells members about slow mode, and not the moderators it does not apply to", () => {
    expect(postingLimit({ ...open, slowModeSeconds: 30 }, "member")).toBe("Slow mode: one message every 30 s.");
    expect(postingLimit({ ...open, slowModeSeconds: 300 }, "member")).toBe("Slow mode: one message every 5 min.");
    for (const role of ["moderator", "admin", "owner"] as const) expect(postingLimit({ ...open, slowModeSeconds: 30 }, role)).toBeNull();
  });

  it("tells members when only moderators post, before slow mode", () => {
    expect(postingLimit({ postPolicy: "moderators", slowModeSeconds: 30 }, "member")).toBe("Only moderators post in this room.");
    expect(postingLimit({ postPolicy: "moderators", slowModeSeconds: 0 }, "moderator")).toBeNull();
  });

  it("holds back someone whose role is not known yet as a member", () => {
    expect(postingLimit({ ...open, slowModeSeconds: 10 }, undefined)).toBe("Slow mode: one message every 10 s.");
  });
});
