import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { LiveStatus, PresenceStore, WentOffline } from "./presence-store.ts";
import {
  CLAIM_LUA,
  CONNECT_LUA,
  DISCONNECT_LUA,
  LEASE_LUA,
  RELEASE_LUA,
  SET_STATUS_LUA,
  SETTLE_LUA,
} from "./redis-scripts.ts";

interface Script {
  lua: string;
  sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash("sha1").update(lua).digest("hex") };
}

const SCRIPTS = {
  lease: script(LEASE_LUA),
  connect: script(CONNECT_LUA),
  disconnect: script(DISCONNECT_LUA),
  settle: script(SETTLE_LUA),
  setStatus: script(SET_STATUS_LUA),
  claim: script(CLAIM_LUA),
  release: script(RELEASE_LUA),
};

/**
 * The presence store shared by every instance, under `${prefix}presence:`. Every write is one Lua script
 * (redis-scripts.ts), so transitions are atomic across instances and Redis TIME is the one clock. The client is
 * shared and owned by the caller. Errors (Redis unreachable) reject: the caller decides what they mean.
 */
export function createRedisPresenceStore(options: { client: Redis; prefix: string }): PresenceStore {
  const { client } = options;
  const prefix = `${options.prefix}presence:`;

  async function run(script: Script, ...args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(script.sha, 0, prefix, ...args);
    } catch (error) {
      // Scripts live in the server's cache only: load it again after a restart (or on first use).
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return client.eval(script.lua, 0, prefix, ...args);
    }
  }

  return {
    async openLease(instance, ttlMs) {
      await run(SCRIPTS.lease, instance, Math.ceil(ttlMs), "open");
    },
    async renewLease(instance, ttlMs) {
      return (await run(SCRIPTS.lease, instance, Math.ceil(ttlMs), "renew")) === 1 ? "renewed" : "lost";
    },
    async connect({ userId, connectionId, instance }) {
      const reply = await run(SCRIPTS.connect, instance, userId, connectionId);
      return reply === 1 ? "online" : reply === 0 ? "unchanged" : "lease-lost";
    },
    async disconnect({ userId, connectionId }, graceMs) {
      const reply = await run(SCRIPTS.disconnect, userId, connectionId, Math.max(0, Math.ceil(graceMs)));
      return reply === 1 ? "last" : reply === 0 ? "others-remain" : "unknown";
    },
    async settle(target) {
      if ("userIds" in target && target.userIds.length === 0) return [];
      const reply =
        "userIds" in target ? await run(SCRIPTS.settle, "users", ...target.userIds) : await run(SCRIPTS.settle, "due", target.limit);
      return toWentOffline(reply);
    },
    async setStatus(userId, status) {
      const reply = await run(SCRIPTS.setStatus, userId, status);
      return reply === 1 ? "changed" : reply === 0 ? "unchanged" : "offline";
    },
    async statuses(userIds) {
      const found = new Map<string, LiveStatus>();
      if (userIds.length === 0) return found;
      // A read needs no atomicity across users: one round trip of HGETs.
      const replies = (await client.pipeline(userIds.map((userId) => ["hget", `${prefix}state:${userId}`, "status"])).exec()) ?? [];
      replies.forEach(([error, status], index) => {
        if (error) throw error;
        const userId = userIds[index];
        if (userId !== undefined && (status === "online" || status === "away")) found.set(userId, status);
      });
      return found;
    },
    async claimExpired(claimMs, limit) {
      const reply = await run(SCRIPTS.claim, Math.ceil(claimMs), limit);
      return Array.isArray(reply) ? reply.filter((instance): instance is string => typeof instance === "string") : [];
    },
    async releaseInstance(instance, { graceMs, batch }) {
      return (await run(SCRIPTS.release, instance, Math.max(0, Math.ceil(graceMs)), batch)) === 0 ? "done" : "more";
    },
    async close() {},
  };
}

function toWentOffline(reply: unknown): WentOffline[] {
  if (!Array.isArray(reply)) throw new Error(`unexpected settle reply: ${JSON.stringify(reply)}`);
  const out: WentOffline[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const [userId, seen] = [reply[i], Number(reply[i + 1])];
    if (typeof userId !== "string" || !Number.isFinite(seen)) throw new Error(`unexpected settle reply: ${JSON.stringify(reply)}`);
    out.push({ userId, lastSeenAt: new Date(seen) });
  }
  return out;
}
