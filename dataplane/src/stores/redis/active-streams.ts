// Redis ActiveStreamRegistry (stores/types.ts, PROTOCOL.md 7.4): the janitor's registry of
// streaming messages. Entries live in bucket structures `{as:<bucket>}` (bucket by app and
// channel): a HASH of entries, a ZSET by last-seen time (the janitor's order) and a ZSET by
// expiry (the sweep's order), plus a per-channel ZSET of live message serials by expiry (the
// count). Every method is one script over one bucket's keys; `listIdle` runs one script per
// bucket and merges (the only fan-out, bounded by the bucket count). Expired entries are swept
// a few per call and skipped everywhere; PX only collects the per-channel key.
import { assertScope, assertTtl } from '../keys.ts';
import { MAX_IDLE_PAGE } from '../memory.ts';
import type { ActiveStreamEntry, ActiveStreamRegistry, ActiveStreamUpsert } from '../types.ts';
import type { BoundScript } from './client.ts';
import { checkKey, graceOf, LUA_INT, type RedisStoreOptions } from './common.ts';
import { RedisKeys } from './keys.ts';

// KEYS 1 entries HASH (id → cmsgpack {d delivery serial, x expiry, j entry JSON}), 2 seen ZSET,
// 3 exp ZSET, 4 the channel's count ZSET (not for LIST_IDLE). ARGV 1 now.
const PRELUDE = `${LUA_INT}
local NOW = tonumber(ARGV[1])
local function drop(id)
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
local function sweep(budget)
  local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', I(NOW), 'LIMIT', 0, budget)
  for _, id in ipairs(ids) do drop(id) end
end
local function live(id)
  local raw = redis.call('HGET', KEYS[1], id)
  if not raw then return nil end
  local e = cmsgpack.unpack(raw)
  if e.x <= NOW then return nil end
  return e
end
`;

/** ARGV now, id, message serial, delivery serial, TTL ms, entry JSON, GC grace ms. */
const UPSERT = `${PRELUDE}
sweep(8)
local id, ms, d, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local cur = live(id)
if cur and cur.d > d then return 0 end
local x = NOW + ttl
redis.call('HSET', KEYS[1], id, cmsgpack.pack({ d = d, x = x, j = ARGV[6] }))
redis.call('ZADD', KEYS[2], I(NOW), id)
redis.call('ZADD', KEYS[3], I(x), id)
redis.call('ZADD', KEYS[4], I(x), ms)
local px = ttl + tonumber(ARGV[7])
if redis.call('PTTL', KEYS[4]) < px then redis.call('PEXPIRE', KEYS[4], I(px)) end
return 1
`;

/** ARGV now, id, message serial, delivery serial ('' any). */
const REMOVE = `${PRELUDE}
local id = ARGV[2]
local cur = live(id)
if not cur then return 0 end
if ARGV[4] ~= '' and cur.d > tonumber(ARGV[4]) then return 0 end
drop(id)
redis.call('ZREM', KEYS[4], ARGV[3])
return 1
`;

/** ARGV now, id. */
const GET = `${PRELUDE}
local e = live(ARGV[2])
if not e then return '' end
return e.j
`;

/** ARGV now. */
const COUNT = `${PRELUDE}
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', I(NOW))
return redis.call('ZCARD', KEYS[4])
`;

/** ARGV now, cutoff, limit. Live entries with lastSeen <= cutoff, oldest first. */
const LIST_IDLE = `${PRELUDE}
local limit = tonumber(ARGV[3])
sweep(limit)
local out, offset, visited = {}, 0, 0
while #out < limit and visited < limit * 2 do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', offset, limit)
  if #ids == 0 then break end
  offset = offset + #ids
  local raws = redis.call('HMGET', KEYS[1], unpack(ids))
  for i, raw in ipairs(raws) do
    visited = visited + 1
    if raw then
      local e = cmsgpack.unpack(raw)
      if e.x > NOW and #out < limit then out[#out + 1] = e.j end
    end
  end
end
return out
`;

export class RedisActiveStreamRegistry implements ActiveStreamRegistry {
  readonly #keys: RedisKeys;
  readonly #now: () => number;
  readonly #grace: number;
  readonly #s: Record<'upsert' | 'remove' | 'get' | 'count' | 'listIdle', BoundScript>;

  constructor(opts: RedisStoreOptions) {
    this.#keys = opts.keys ?? new RedisKeys({ prefix: opts.connection.keyPrefix });
    this.#now = opts.now ?? Date.now;
    this.#grace = graceOf(opts);
    const c = opts.connection;
    this.#s = {
      upsert: c.script('ait_as_upsert', UPSERT, 4),
      remove: c.script('ait_as_remove', REMOVE, 4),
      get: c.script('ait_as_get', GET, 4),
      count: c.script('ait_as_count', COUNT, 4),
      listIdle: c.script('ait_as_list_idle', LIST_IDLE, 3),
    };
  }

  async upsert(e: ActiveStreamUpsert, ttlMs: number): Promise<boolean> {
    assertScope(e.appId, e.channel);
    checkKey('messageSerial', e.messageSerial, 128);
    assertTtl('ttlMs', ttlMs);
    const now = this.#now();
    const entry: ActiveStreamEntry = {
      appId: e.appId,
      channel: e.channel,
      messageSerial: e.messageSerial,
      versionSerial: e.versionSerial,
      historySerial: e.historySerial,
      deliverySerial: e.deliverySerial,
      lastSeenMs: now,
    };
    const k = this.#keys.activeChannel(e.appId, e.channel);
    const r = await this.#s.upsert(
      [k.entries, k.seen, k.exp, k.count],
      [now, k.idPrefix + e.messageSerial, e.messageSerial, e.deliverySerial, ttlMs, JSON.stringify(entry), this.#grace],
    );
    return Number(r) === 1;
  }

  async remove(appId: string, channel: string, messageSerial: string, deliverySerial?: number): Promise<boolean> {
    assertScope(appId, channel);
    checkKey('messageSerial', messageSerial, 128);
    const k = this.#keys.activeChannel(appId, channel);
    const r = await this.#s.remove(
      [k.entries, k.seen, k.exp, k.count],
      [this.#now(), k.idPrefix + messageSerial, messageSerial, deliverySerial ?? ''],
    );
    return Number(r) === 1;
  }

  async get(appId: string, channel: string, messageSerial: string): Promise<ActiveStreamEntry | undefined> {
    assertScope(appId, channel);
    checkKey('messageSerial', messageSerial, 128);
    const k = this.#keys.activeChannel(appId, channel);
    const r = await this.#s.get([k.entries, k.seen, k.exp, k.count], [this.#now(), k.idPrefix + messageSerial]);
    return r === '' || r === null ? undefined : (JSON.parse(String(r)) as ActiveStreamEntry);
  }

  async count(appId: string, channel: string): Promise<number> {
    assertScope(appId, channel);
    const k = this.#keys.activeChannel(appId, channel);
    return Number(await this.#s.count([k.entries, k.seen, k.exp, k.count], [this.#now()]));
  }

  async listIdle(cutoffMs: number, limit: number): Promise<ActiveStreamEntry[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer');
    if (!Number.isSafeInteger(cutoffMs)) throw new TypeError('cutoffMs must be an integer');
    const max = Math.min(limit, MAX_IDLE_PAGE);
    const now = this.#now();
    const pages = await Promise.all(
      Array.from({ length: this.#keys.activeStreamBuckets }, (_, b) => {
        const k = this.#keys.activeBucket(b);
        return this.#s.listIdle([k.entries, k.seen, k.exp], [now, cutoffMs, max]) as Promise<string[]>;
      }),
    );
    const all = pages.flat().map((j) => JSON.parse(j) as ActiveStreamEntry);
    all.sort((a, b) => a.lastSeenMs - b.lastSeenMs);
    return all.slice(0, max);
  }
}
