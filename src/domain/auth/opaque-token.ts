import { sha256 } from "@oslojs/crypto/sha2";
import { encodeBase64urlNoPadding, encodeHexLowerCase } from "@oslojs/encoding";

/**
 * Refresh tokens and WebSocket tickets are opaque random strings, never JWTs, so neither can be mistaken for an
 * access token (or the other way round). 32 CSPRNG bytes, base64url without padding: 43 characters, 256 bits.
 */
export function newOpaqueToken(): string {
  return encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(32)));
}

export const OPAQUE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** What the KV stores instead of the token: a leaked store (or its logs) hands out nothing usable. */
export function hashOpaqueToken(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}
