/**
 * The name of an unnamed group (`kind: "group"`, `name: ""`), as the server shows it in `rooms.list` and `rooms.get`:
 * the other people's display names — members in the order they joined (then people still invited, which only the
 * server knows) — up to three written out ("Ana", "Ana and Bo", "Ana, Bo and Cy"), past three two names and a count
 * ("Ana, Bo and 3 others"); "Empty group" with nobody else. For a Room that arrived in an event with the stored "":
 * pass the display names of the members you know, yourself left out, in the order they joined.
 *
 * The server's rule is `groupName` in src/domain/rooms/room-groups.ts; client-sdk/test/group-name.test.ts holds the
 * two to the same answers (the SDK ships no server code, so it keeps its own copy).
 */
export function groupName(otherNames: readonly string[], others: number = otherNames.length): string {
  if (others === 0 || otherNames.length === 0) return "Empty group";
  if (others <= 3) {
    const names = otherNames.slice(0, others);
    return names.length === 1 ? (names[0] as string) : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
  }
  return `${otherNames.slice(0, 2).join(", ")} and ${others - 2} others`;
}
