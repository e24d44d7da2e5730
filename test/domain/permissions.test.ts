import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  MEMBER_ROLES,
  may,
  outranks,
  requireGrantable,
  requirePermission,
  ROOM_PERMISSIONS,
  type RoomAction,
} from "../../src/domain/rooms/permissions.ts";
import type { MemberRole } from "../../src/domain/rooms/rooms.schema.ts";
import { DomainError } from "../../src/lib/domain-error.ts";

/** README's "Roles and permissions" table: each action and the roles it ticks, in the table's column order. */
function readmeTable(): { columns: string[]; rows: Map<string, MemberRole[]> } {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  // Up to the next heading: the sections after it have tables of their own.
  const section = readme.split("#### Roles and permissions")[1]?.split("\n#### ")[0];
  if (!section) throw new Error("README has no Roles and permissions section");
  const lines = section.split("\n").filter((line) => line.startsWith("|"));
  const cells = (line: string): string[] => line.split("|").slice(1, -1).map((cell) => cell.trim());
  const [header = "", , ...body] = lines;
  const columns = cells(header).slice(1, 5);
  const rows = new Map<string, MemberRole[]>();
  for (const line of body) {
    const [action = "", ...ticks] = cells(line);
    const name = /^`(\w+)`/.exec(action)?.[1];
    if (!name) break; // the table ended
    rows.set(name, columns.flatMap((role, index) => (ticks[index] === "✓" ? [role as MemberRole] : [])));
  }
  return { columns, rows };
}

describe("room permissions", () => {
  it("are the table README shows", () => {
    const { columns, rows } = readmeTable();
    expect(columns).toEqual([...MEMBER_ROLES]);
    const inCode = Object.fromEntries(
      (Object.keys(ROOM_PERMISSIONS) as RoomAction[]).map((action) => [action, MEMBER_ROLES.filter((role) => may(role, action))]),
    );
    expect(Object.fromEntries(rows)).toEqual(inCode);
  });

  it("allow each action to its lowest role and every role above it", () => {
    expect(may("member", "pin")).toBe(false);
    expect(may("moderator", "pin")).toBe(true);
    expect(may("moderator", "changeSettings")).toBe(false);
    expect(may("admin", "setRoles")).toBe(true);
    expect(may("admin", "transferOwnership")).toBe(false);
    for (const action of Object.keys(ROOM_PERMISSIONS) as RoomAction[]) expect(may("owner", action), action).toBe(true);
  });

  it("name who may in a refusal", () => {
    const refusal = (role: MemberRole, action: RoomAction): unknown => {
      try {
        requirePermission(role, action);
        return null;
      } catch (error) {
        return error instanceof DomainError ? { code: error.code, message: error.message } : error;
      }
    };
    expect(refusal("member", "kick")).toEqual({ code: "FORBIDDEN", message: "only owners, admins and moderators can remove members" });
    expect(refusal("moderator", "setRoles")).toEqual({ code: "FORBIDDEN", message: "only owners and admins can change roles" });
    expect(refusal("admin", "transferOwnership")).toEqual({ code: "FORBIDDEN", message: "only owners can transfer ownership" });
    expect(refusal("moderator", "kick")).toBeNull();
  });

  it("let a role act only on lower ranks, owners also on owners, and anyone on someone who left", () => {
    const acts = MEMBER_ROLES.map((actor) => MEMBER_ROLES.filter((target) => outranks(actor, target)));
    expect(acts).toEqual([[], ["member"], ["member", "moderator"], ["member", "moderator", "admin", "owner"]]);
    for (const actor of MEMBER_ROLES) expect(outranks(actor, null)).toBe(true);
  });

  it("let roles be given below one's own, and any role by owners", () => {
    const gives = (actor: MemberRole): MemberRole[] =>
      MEMBER_ROLES.filter((role) => {
        try {
          requireGrantable(actor, role);
          return true;
        } catch {
          return false;
        }
      });
    expect(gives("admin")).toEqual(["member", "moderator"]);
    expect(gives("owner")).toEqual([...MEMBER_ROLES]);
  });
});
