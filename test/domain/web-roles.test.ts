import { describe, expect, it } from "vitest";
import { MEMBER_ROLES as SERVER_ROLES, may as serverMay, outranks as serverOutranks, ROOM_PERMISSIONS } from "../../src/domain/rooms/permissions.ts";
import { LOWEST_ROLE, MEMBER_ROLES, may, outranks } from "../../web/src/roles.ts";

/**
 * The web app shows moderation controls by role from its own copy of the server's permission table (it does not
 * import the server's source). The copy must say what the server decides, or people see buttons that are refused
 * or miss ones they may use.
 */
describe("the web app's copy of the room permissions", () => {
  it("ranks the roles as the server does", () => {
    expect(MEMBER_ROLES).toEqual(SERVER_ROLES);
  });

  it("gives every action it shows to the roles the server allows", () => {
    for (const [action, lowest] of Object.entries(LOWEST_ROLE)) {
      expect(ROOM_PERMISSIONS[action as keyof typeof ROOM_PERMISSIONS], action).toBe(lowest);
      for (const role of SERVER_ROLES) expect(may(role, action as keyof typeof LOWEST_ROLE), `${role} ${action}`).toBe(serverMay(role, action as keyof typeof ROOM_PERMISSIONS));
    }
  });

  it("lets a role act on another exactly when the server does", () => {
    for (const actor of SERVER_ROLES) for (const target of SERVER_ROLES) expect(outranks(actor, target), `${actor} on ${target}`).toBe(serverOutranks(actor, target));
  });
});
