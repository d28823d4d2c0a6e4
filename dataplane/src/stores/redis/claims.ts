// Redis ClaimStore (stores/types.ts, STANDARDS C6): set-if-absent with a TTL from the injected
// clock, and compare-and-delete, each one script on one key.
import { assertScope, assertTtl } from '../keys.ts';
import type { ClaimResult, ClaimStore } from '../types.ts';
import type { BoundScript } from './client.ts';
import { checkKey, graceOf, LUA_INT, type RedisStoreOptions } from './common.ts';
import { RedisKeys } from './keys.ts';

// Value (cmsgpack): o owner · x expiry ms.
const LIVE = `${LUA_INT}
local NOW = tonumber(ARGV[1])
local function live()
  local raw = redis.call('GET', KEYS[1])
  if not raw then return nil end
  local rec = cmsgpack.unpack(raw)
  if rec.x <= NOW then return nil end
  return rec
end
`;

/** ARGV now, owner, TTL ms, GC grace ms. */
const TRY_CLAIM = `${LIVE}
local rec = live()
if rec then return { 0, rec.o, I(rec.x) } end
local x = NOW + tonumber(ARGV[3])
redis.call('SET', KEYS[1], cmsgpack.pack({ o = ARGV[2], x = x }), 'PX', I(tonumber(ARGV[3]) + tonumber(ARGV[4])))
return { 1, ARGV[2], I(x) }
`;

/** ARGV now, owner. */
const RELEASE = `${LIVE}
local rec = live()
if rec and rec.o == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

export class RedisClaimStore implements ClaimStore {
  readonly #keys: RedisKeys;
  readonly #now: () => number;
  readonly #grace: number;
  readonly #try: BoundScript;
  readonly #release: BoundScript;

  constructor(opts: RedisStoreOptions) {
    this.#keys = opts.keys ?? new RedisKeys({ prefix: opts.connection.keyPrefix });
    this.#now = opts.now ?? Date.now;
    this.#grace = graceOf(opts);
    this.#try = opts.connection.script('ait_claim_try', TRY_CLAIM, 1);
    this.#release = opts.connection.script('ait_claim_release', RELEASE, 1);
  }

  async tryClaim(appId: string, name: string, owner: string, ttlMs: number): Promise<ClaimResult> {
    assertScope(appId);
    checkKey('claim name', name, 2048);
    checkKey('owner', owner, 256);
    assertTtl('ttlMs', ttlMs);
    const r = (await this.#try([this.#keys.claim(appId, name)], [this.#now(), owner, ttlMs, this.#grace])) as [
      number,
      string,
      string,
    ];
    return r[0] === 1
      ? { claimed: true, expiresAtMs: Number(r[2]) }
      : { claimed: false, owner: r[1], expiresAtMs: Number(r[2]) };
  }

  async release(appId: string, name: string, owner: string): Promise<boolean> {
    assertScope(appId);
    checkKey('claim name', name, 2048);
    checkKey('owner', owner, 256);
    return Number(await this.#release([this.#keys.claim(appId, name)], [this.#now(), owner])) === 1;
  }
}
