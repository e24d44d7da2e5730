/**
 * The Redis presence store's Lua scripts. Each is one atomic step, which is what makes every transition
 * exactly-once across instances. ARGV[1] is always the key prefix (`<REDIS_PREFIX>presence:`); keys are built
 * inside the scripts from it, so the store needs one Redis primary (or Sentinel), not Redis Cluster.
 *
 * Keys, under the prefix:
 *   conns:<user>      hash connectionId → instance       (the user's connections, everywhere)
 *   inst:<instance>   hash connectionId → user           (what an instance holds, for its sweep)
 *   state:<user>      hash status (online|away), seen    (exists ⇔ the user is present)
 *   pending           zset user → grace end (ms)         (connectionless users still present)
 *   instances         zset instance → lease expiry (ms)
 *   sweeping          zset instance → claim expiry (ms)  (dead instances being released)
 */

/** Redis TIME in ms, and the offline transition: the one place presence ends. */
const PRELUDE = `
local P = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function settle(user, now)
  local due = redis.call('ZSCORE', P .. 'pending', user)
  if not due or tonumber(due) > now then return nil end
  redis.call('ZREM', P .. 'pending', user)
  if redis.call('EXISTS', P .. 'conns:' .. user) == 1 then return nil end
  local state = P .. 'state:' .. user
  if redis.call('EXISTS', state) == 0 then return nil end
  local seen = redis.call('HGET', state, 'seen') or tostring(now)
  redis.call('DEL', state)
  return seen
end
local function start_grace(user, now, grace)
  local state = P .. 'state:' .. user
  if redis.call('EXISTS', state) == 0 then return end
  redis.call('HSET', state, 'seen', tostring(now))
  redis.call('ZADD', P .. 'pending', now + grace, user)
end
`;

/** ARGV: prefix, instance, ttlMs, mode ("open" | "renew"). Returns 1 when held (or opened), 0 when lost. */
export const LEASE_LUA = `${PRELUDE}
local key = P .. 'instances'
if ARGV[4] == 'renew' and not redis.call('ZSCORE', key, ARGV[2]) then return 0 end
redis.call('ZADD', key, now_ms() + tonumber(ARGV[3]), ARGV[2])
return 1
`;

/** ARGV: prefix, instance, user, connectionId. Returns 1 online, 0 unchanged, -1 lease lost. */
export const CONNECT_LUA = `${PRELUDE}
local now = now_ms()
local lease = redis.call('ZSCORE', P .. 'instances', ARGV[2])
if not lease or tonumber(lease) < now then return -1 end
redis.call('HSET', P .. 'conns:' .. ARGV[3], ARGV[4], ARGV[2])
redis.call('HSET', P .. 'inst:' .. ARGV[2], ARGV[4], ARGV[3])
redis.call('ZREM', P .. 'pending', ARGV[3])
local state = P .. 'state:' .. ARGV[3]
if redis.call('EXISTS', state) == 1 then return 0 end
redis.call('HSET', state, 'status', 'online')
return 1
`;

/** ARGV: prefix, user, connectionId, graceMs. Returns 1 last, 0 others remain, -1 unknown. */
export const DISCONNECT_LUA = `${PRELUDE}
local conns = P .. 'conns:' .. ARGV[2]
local instance = redis.call('HGET', conns, ARGV[3])
if not instance then return -1 end
redis.call('HDEL', conns, ARGV[3])
redis.call('HDEL', P .. 'inst:' .. instance, ARGV[3])
if redis.call('EXISTS', conns) == 1 then return 0 end
start_grace(ARGV[2], now_ms(), tonumber(ARGV[4]))
return 1
`;

/** ARGV: prefix, "due" limit | "users" user… Returns a flat list: user, seenMs, user, seenMs, … */
export const SETTLE_LUA = `${PRELUDE}
local now = now_ms()
local users
if ARGV[2] == 'due' then
  users = redis.call('ZRANGEBYSCORE', P .. 'pending', '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
else
  users = {}
  for i = 3, #ARGV do users[#users + 1] = ARGV[i] end
end
local out = {}
for _, user in ipairs(users) do
  local seen = settle(user, now)
  if seen then
    out[#out + 1] = user
    out[#out + 1] = seen
  end
end
return out
`;

/** ARGV: prefix, user, status. Returns 1 changed, 0 unchanged, -1 offline. */
export const SET_STATUS_LUA = `${PRELUDE}
local state = P .. 'state:' .. ARGV[2]
if redis.call('EXISTS', state) == 0 then return -1 end
if redis.call('HGET', state, 'status') == ARGV[3] then return 0 end
redis.call('HSET', state, 'status', ARGV[3])
return 1
`;

/** ARGV: prefix, claimMs, limit. Returns the instances claimed (expired leases, then abandoned sweeps). */
export const CLAIM_LUA = `${PRELUDE}
local now = now_ms()
local until_ms = now + tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local claimed = {}
for _, instance in ipairs(redis.call('ZRANGEBYSCORE', P .. 'instances', '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZREM', P .. 'instances', instance)
  redis.call('ZADD', P .. 'sweeping', until_ms, instance)
  claimed[#claimed + 1] = instance
end
for _, instance in ipairs(redis.call('ZRANGEBYSCORE', P .. 'sweeping', '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZADD', P .. 'sweeping', until_ms, instance)
  claimed[#claimed + 1] = instance
end
return claimed
`;

/**
 * ARGV: prefix, instance, graceMs, batch. Drops a batch of the instance's connections (each at most once: the
 * entry is deleted as it is read); a connection re-recorded under the instance's next lease is left alone.
 * Returns 0 when none are left (lease and claim removed), 1 when more remain.
 */
export const RELEASE_LUA = `${PRELUDE}
local now = now_ms()
local held = P .. 'inst:' .. ARGV[2]
local batch = tonumber(ARGV[4])
-- COUNT is only a hint (a small hash comes back whole): the batch bounds the work done here.
local entries = redis.call('HSCAN', held, 0, 'COUNT', batch)[2]
for i = 1, math.min(#entries, batch * 2), 2 do
  local connection, user = entries[i], entries[i + 1]
  redis.call('HDEL', held, connection)
  local conns = P .. 'conns:' .. user
  if redis.call('HGET', conns, connection) == ARGV[2] then
    redis.call('HDEL', conns, connection)
    if redis.call('EXISTS', conns) == 0 then start_grace(user, now, tonumber(ARGV[3])) end
  end
end
if redis.call('EXISTS', held) == 1 then return 1 end
redis.call('ZREM', P .. 'sweeping', ARGV[2])
redis.call('ZREM', P .. 'instances', ARGV[2])
return 0
`;
