import { describe, expect, it } from "vitest";
import { addressKey } from "../../src/domain/auth/address-key.ts";

describe("the client address that auth limits count by", () => {
  it.each([
    ["198.51.100.7", "198.51.100.7"],
    ["::ffff:198.51.100.7", "198.51.100.7"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:DB8:1:2::99", "2001:db8:1:2::/64"],
    ["2001:db8:0001:0002:ffff::1", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
  ])("counts %s as %s", (ip, key) => {
    expect(addressKey(ip)).toBe(key);
  });

  it("puts every address of one IPv6 /64 in one bucket, and neighbouring /64s in their own", () => {
    expect(addressKey("2001:db8:a:b::1")).toBe(addressKey("2001:db8:a:b:ffff:ffff:ffff:ffff"));
    expect(addressKey("2001:db8:a:b::1")).not.toBe(addressKey("2001:db8:a:c::1"));
  });

  it.each(["not an address", "1::2::3", "2001:db8:1:2:3:4:5:6:7", "gggg::1", "unknown"])("uses %j as it is", (ip) => {
    expect(addressKey(ip)).toBe(ip.toLowerCase());
  });
});
