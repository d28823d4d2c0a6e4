// Redis RevocationStore (auth/revocations.ts, PROTOCOL.md 2.4): one sorted set per app, member
// `j:<jti>` or `c:<client id>`, score = expiry (ms, the caller's clock). `revoke` is one script:
// a second revocation lengthens, never shortens; a full app drops expired entries first, then
// the one closest to expiry (as the memory store does). `isRevoked` only reads (ZMSCORE).

import type { RevocationStore } from '../../auth/revocations.ts';
import { DEFAULT_MAX_REVOCATIONS_PER_APP } from '../../auth/revocations.ts';
import { StoreUnavailableError } from '../errors.ts';
import { assertScope } from '../keys.ts';
import type { BoundScript, RedisConnection } from './client.ts';
import { graceOf, LUA_INT } from './common.ts';
import { RedisKeys } from './keys.ts';

/** ARGV now, expiry, max entries, GC grace, then 1-2 members. Returns live entries evicted. */
const REVOKE = `${LUA_INT}
local now, x, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local evicted = 0
for i = 5, #ARGV do
  local member = ARGV[i]
  local cur = redis.call('ZSCORE', KEYS[1], member)
  if cur then
    if tonumber(cur) < x then redis.call('ZADD', KEYS[1], I(x), member) end
  else
    if redis.call('ZCARD', KEYS[1]) >= max then
      redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', I(now))
      if redis.call('ZCARD', KEYS[1]) >= max then
        redis.call('ZPOPMIN', KEYS[1])
        evicted = evicted + 1
      end
    end
    redis.call('ZADD', KEYS[1], I(x), member)
  end
end
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #top == 2 then
  local px = tonumber(top[2]) - now + tonumber(ARGV[4])
  if px > 0 then redis.call('PEXPIRE', KEYS[1], I(px)) end
end
return evicted
`;

export interface RedisRevocationStoreOptions {
  readonly connection: RedisConnection;
  readonly keys?: RedisKeys;
  /** Entries per app; default 100 000 (the memory store's). */
  readonly maxEntriesPerApp?: number;
  readonly gcGraceMs?: number;
}

export class RedisRevocationStore implements RevocationStore {
  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #max: number;
  readonly #grace: number;
  readonly #revoke: BoundScript;
  #evictedUnexpired = 0;

  constructor(opts: RedisRevocationStoreOptions) {
    this.#conn = opts.connection;
    this.#keys = opts.keys ?? new RedisKeys({ prefix: opts.connection.keyPrefix });
    const max = opts.maxEntriesPerApp ?? DEFAULT_MAX_REVOCATIONS_PER_APP;
    if (!Number.isInteger(max) || max < 2) throw new TypeError('maxEntriesPerApp must be an integer >= 2');
    this.#max = max;
    this.#grace = graceOf(opts);
    this.#revoke = opts.connection.script('ait_rv_revoke', REVOKE, 1);
  }

  /** Unexpired entries this node's calls dropped because an app was full. */
  get evictedUnexpired(): number {
    return this.#evictedUnexpired;
  }

  async revoke(r: { appId: string; jti?: string; clientId?: string; ttlMs: number }, nowMs: number): Promise<void> {
    if (!r.appId) throw new TypeError('appId is required');
    assertScope(r.appId);
    if (!r.jti && !r.clientId) throw new TypeError('a revocation needs a jti or a clientId');
    if (!Number.isFinite(r.ttlMs) || r.ttlMs <= 0) throw new TypeError('ttlMs must be a positive number');
    if (!Number.isFinite(nowMs)) throw new TypeError('nowMs must be a number');
    const members: string[] = [];
    if (r.jti) members.push(`j:${r.jti}`);
    if (r.clientId) members.push(`c:${r.clientId}`);
    const expiresAt = Math.ceil(nowMs + r.ttlMs);
    const evicted = await this.#revoke(
      [this.#keys.revocations(r.appId)],
      [Math.floor(nowMs), expiresAt, this.#max, this.#grace, ...members],
    );
    this.#evictedUnexpired += Number(evicted);
  }

  async isRevoked(
    appId: string,
    jti: string | undefined,
    clientId: string | undefined,
    nowMs: number,
  ): Promise<boolean> {
    if (!appId) return false;
    const members: string[] = [];
    if (jti) members.push(`j:${jti}`);
    if (clientId) members.push(`c:${clientId}`);
    if (members.length === 0) return false;
    const key = this.#keys.revocations(appId);
    const scores = await this.#conn.exec('rv:isRevoked', (c) => c.zmscore(key, ...members));
    if (!Array.isArray(scores)) throw new StoreUnavailableError('redis rv:isRevoked: unexpected reply');
    return scores.some((s) => s !== null && Number(s) > nowMs);
  }
}
