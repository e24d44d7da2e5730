/**
 * The part of a client address that rate limits count by. An IPv4 address is itself; an IPv6 address is its /64,
 * because one subscriber (or attacker) is routinely handed a whole /64 and could otherwise take a fresh address,
 * and a fresh allowance, for every guess. Anything unparseable is used as it is.
 */
export function addressKey(ip: string): string {
  const address = ip.split("%")[0]!.toLowerCase(); // a zone id (fe80::1%eth0) names an interface, not a host
  if (!address.includes(":")) return address;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped) return mapped[1]!; // an IPv4 client on a dual-stack socket
  const halves = address.split("::");
  if (halves.length > 2) return address;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return address;
  const groups = [...head, ...Array<string>(missing).fill("0"), ...tail];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return address;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
