/**
 * Deterministic junk for fuzzing inputs: a seeded PRNG (mulberry32) and JSON values of every shape a careless or
 * hostile client might send — wrong types, huge and fractional numbers, long and odd Unicode strings, nesting,
 * `__proto__`/`constructor` keys. The same seed gives the same sequence, so a failure can be replayed.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  int(maxExclusive: number): number;
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (maxExclusive) => Math.floor(next() * maxExclusive),
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
  };
}

const ODD_STRINGS = [
  "",
  " ",
  "\u0000",
  "\u202Eevil\u202C",
  "\u200B\u200B",
  "\uFE64script\uFE65",
  "👨‍👩‍👧‍👦",
  "e\u0301".repeat(50),
  "' OR 1=1--",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  "00000000-0000-0000-0000-000000000000",
  "ffffffff-ffff-4fff-bfff-ffffffffffff",
  "null",
  "true",
  "NaN",
  "__proto__",
  "constructor",
  "%00%ff",
  "\ud800", // a lone surrogate: JSON.stringify escapes it, the server must refuse it as text
];

const ODD_NUMBERS = [0, -0, -1, 1.5, 2 ** 31, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER + 2, 1e308, -1e308, 5e-324];

function randomString(random: Random): string {
  const length = random.pick([1, 3, 8, 40, 300, 5000]);
  const alphabet = random.pick(["ascii", "unicode", "controls"] as const);
  let out = "";
  for (let i = 0; i < length; i++) {
    if (alphabet === "ascii") out += String.fromCharCode(32 + random.int(95));
    else if (alphabet === "controls") out += String.fromCharCode(random.int(32));
    else out += String.fromCodePoint(random.pick([0x41, 0xe9, 0x4e2d, 0x1f600, 0x10fffc, 0x0301, 0x202e]) + random.int(3));
  }
  return out;
}

/** One junk JSON value; `depth` bounds nesting. */
export function junkValue(random: Random, depth = 3): unknown {
  const kind = random.int(depth > 0 ? 10 : 7);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random.next() < 0.5;
    case 2:
      return random.pick(ODD_NUMBERS);
    case 3:
      return (random.next() - 0.5) * 10 ** random.int(20);
    case 4:
      return random.pick(ODD_STRINGS);
    case 5:
    case 6:
      return randomString(random);
    case 7:
      return Array.from({ length: random.int(4) }, () => junkValue(random, depth - 1));
    case 8: {
      const object: Record<string, unknown> = {};
      for (let i = random.int(4); i > 0; i--) object[random.pick(["a", "type", "id", "constructor", "toString"])] = junkValue(random, depth - 1);
      return object;
    }
    default:
      // A key JSON.parse turns into an own property named "__proto__": it must not reach a prototype.
      return JSON.parse(`{"__proto__": ${JSON.stringify(junkValue(random, depth - 1)) ?? "null"}}`);
  }
}

/** Deeply nested arrays: `[[[…]]]` `depth` levels down. */
export function deeplyNested(depth: number): string {
  return `${"[".repeat(depth)}${"]".repeat(depth)}`;
}
