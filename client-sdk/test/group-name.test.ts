import { describe, expect, it } from "vitest";
import { groupName as serverGroupName } from "../../src/domain/rooms/room-groups.ts";
import { groupName } from "../src/group-name.ts";

describe("groupName", () => {
  const cases: [string[], number][] = [
    [[], 0],
    [["Ana"], 1],
    [["Ana", "Bo"], 2],
    [["Ana", "Bo", "Cy"], 3],
    [["Ana", "Bo", "Cy"], 4],
    [["Ana", "Bo", "Cy"], 49],
  ];

  it("names an unnamed group exactly as the server does", () => {
    for (const [names, others] of cases) expect(groupName(names, others), `${names.join(",")}/${others}`).toBe(serverGroupName(names, others));
  });

  it("counts the names it is given when not told how many others there are", () => {
    expect(groupName(["Ana", "Bo", "Cy", "Dee", "Eve"])).toBe("Ana, Bo and 3 others");
    expect(groupName(["Ana", "Bo"])).toBe("Ana and Bo");
  });
});
