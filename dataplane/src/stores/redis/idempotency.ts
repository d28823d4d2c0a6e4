// Redis IdempotencyStore (server/rest/idempotency.ts, PROTOCOL.md 3.4 layer 1): the HTTP
// response cache. One key per cache key (which already names the app), holding either the
// in-flight marker or the finished response, with an expiry from the caller's clock. `claim`
// (set-if-absent-or-expired) and `release` (delete only an unfinished claim) are one script
// each; `complete` is one SET.
import type { CachedResponse, IdempotencyClaim, IdempotencyStore } from '../../server/rest/idempotency.ts';
import type { BoundScript, RedisConnection } from './client.ts';
import { graceOf, LUA_INT } from './common.ts';
import { RedisKeys } from './keys.ts';

// Value: `p|<expiry ms>` (claimed, in flight) or `d|<expiry ms>|<response JSON>` (done).
const PARSE = `${LUA_INT}
local function parse(v)
  if not v then return nil end
  local bar = string.find(v, '|', 3, true)
  if bar == nil then return { s = string.sub(v, 1, 1), x = tonumber(string.sub(v, 3)), r = '' } end
  return { s = string.sub(v, 1, 1), x = tonumber(string.sub(v, 3, bar - 1)), r = string.sub(v, bar + 1) }
end
`;

/** ARGV now, claim TTL ms, GC grace ms. */
const CLAIM = `${PARSE}
local now = tonumber(ARGV[1])
local cur = parse(redis.call('GET', KEYS[1]))
if cur and cur.x > now then
  if cur.s == 'd' then return { 'done', cur.r } end
  return { 'in_flight' }
end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], 'p|' .. I(now + ttl), 'PX', I(ttl + tonumber(ARGV[3])))
return { 'claimed' }
`;

const RELEASE = `${PARSE}
local cur = parse(redis.call('GET', KEYS[1]))
if cur and cur.s == 'p' then redis.call('DEL', KEYS[1]) return 1 end
return 0
`;

export interface RedisIdempotencyStoreOptions {
  readonly connection: RedisConnection;
  readonly keys?: RedisKeys;
  /** How long a finished response is replayed (default 120 s). */
  readonly ttlMs?: number;
  /** How long an unfinished claim blocks duplicates before it is considered abandoned (default 30 s). */
  readonly claimTtlMs?: number;
  readonly gcGraceMs?: number;
}

function positive(label: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`${label} must be a positive integer`);
  return v;
}

export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #ttlMs: number;
  readonly #claimTtlMs: number;
  readonly #grace: number;
  readonly #claim: BoundScript;
  readonly #release: BoundScript;

  constructor(opts: RedisIdempotencyStoreOptions) {
    this.#conn = opts.connection;
    this.#keys = opts.keys ?? new RedisKeys({ prefix: opts.connection.keyPrefix });
    this.#ttlMs = positive('ttlMs', opts.ttlMs, 120_000);
    this.#claimTtlMs = positive('claimTtlMs', opts.claimTtlMs, 30_000);
    this.#grace = graceOf(opts);
    this.#claim = opts.connection.script('ait_idem_claim', CLAIM, 1);
    this.#release = opts.connection.script('ait_idem_release', RELEASE, 1);
  }

  async claim(key: string, nowMs: number): Promise<IdempotencyClaim> {
    const r = (await this.#claim([this.#key(key)], [Math.floor(nowMs), this.#claimTtlMs, this.#grace])) as string[];
    if (r[0] === 'done') return { state: 'done', response: JSON.parse(r[1] as string) as CachedResponse };
    return r[0] === 'claimed' ? { state: 'claimed' } : { state: 'in_flight' };
  }

  async complete(key: string, response: CachedResponse, nowMs: number): Promise<void> {
    const k = this.#key(key);
    if (typeof response !== 'object' || response === null || !Number.isInteger(response.status)) {
      throw new TypeError('response must be {status, body}');
    }
    const value = `d|${Math.floor(nowMs) + this.#ttlMs}|${JSON.stringify({ status: response.status, body: response.body })}`;
    await this.#conn.exec('idem:complete', (c) => c.set(k, value, 'PX', this.#ttlMs + this.#grace));
  }

  async release(key: string): Promise<void> {
    await this.#release([this.#key(key)], []);
  }

  #key(key: string): string {
    if (typeof key !== 'string' || key.length === 0 || key.length > 1024) {
      throw new TypeError('idempotency cache key must be a non-empty string of at most 1024 chars');
    }
    return this.#keys.idempotency(key);
  }
}
