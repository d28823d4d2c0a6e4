// Redis PublishClaimStore (stores/types.ts, PROTOCOL.md 3.4 layer 2): one key per (app,
// channel, idempotency key) — the key hashed, as PROTOCOL.md does — holding the pending claim
// or the committed receipt with its expiry. Expiry is decided by the injected clock passed into
// the scripts; PX only collects the key afterwards. Each method is one script (STANDARDS C1).
import { assertScope, assertTtl } from '../keys.ts';
import type { PublishClaim, PublishClaimStore, PublishCommit, PublishReceipt } from '../types.ts';
import type { BoundScript } from './client.ts';
import { checkKey, graceOf, LUA_INT, type RedisStoreOptions } from './common.ts';
import { RedisKeys } from './keys.ts';

// Value (cmsgpack): k 'p' pending | 'c' committed · f fingerprint · o owner · r receipt JSON · x expiry ms.
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

/** ARGV now, fingerprint, owner, pending TTL ms, GC grace ms. */
const CLAIM = `${LIVE}
local rec = live()
if not rec then
  local x = NOW + tonumber(ARGV[4])
  redis.call('SET', KEYS[1], cmsgpack.pack({ k = 'p', f = ARGV[2], o = ARGV[3], r = '', x = x }), 'PX', I(tonumber(ARGV[4]) + tonumber(ARGV[5])))
  return { 'new', I(x) }
end
if rec.f ~= ARGV[2] then return { 'conflict' } end
if rec.k == 'c' then return { 'committed', rec.r } end
return { 'pending', rec.o, I(rec.x) }
`;

/** ARGV now, fingerprint, owner, receipt JSON, TTL ms, GC grace ms. */
const COMMIT = `${LIVE}
local rec = live()
if rec then
  if rec.f ~= ARGV[2] then return { 'conflict' } end
  if rec.k == 'c' then return { 'already_committed', rec.r } end
  if rec.o ~= ARGV[3] then return { 'claimed_by_other', rec.o } end
end
local x = NOW + tonumber(ARGV[5])
redis.call('SET', KEYS[1], cmsgpack.pack({ k = 'c', f = ARGV[2], o = ARGV[3], r = ARGV[4], x = x }), 'PX', I(tonumber(ARGV[5]) + tonumber(ARGV[6])))
return { 'committed' }
`;

/** ARGV now, owner. */
const RELEASE = `${LIVE}
local rec = live()
if rec and rec.k == 'p' and rec.o == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

export class RedisPublishClaimStore implements PublishClaimStore {
  readonly #keys: RedisKeys;
  readonly #now: () => number;
  readonly #grace: number;
  readonly #claim: BoundScript;
  readonly #commit: BoundScript;
  readonly #release: BoundScript;

  constructor(opts: RedisStoreOptions) {
    this.#keys = opts.keys ?? new RedisKeys({ prefix: opts.connection.keyPrefix });
    this.#now = opts.now ?? Date.now;
    this.#grace = graceOf(opts);
    this.#claim = opts.connection.script('ait_pc_claim', CLAIM, 1);
    this.#commit = opts.connection.script('ait_pc_commit', COMMIT, 1);
    this.#release = opts.connection.script('ait_pc_release', RELEASE, 1);
  }

  async claim(
    appId: string,
    channel: string,
    key: string,
    fingerprint: string,
    owner: string,
    pendingTtlMs: number,
  ): Promise<PublishClaim> {
    const k = this.#key(appId, channel, key, fingerprint, owner);
    assertTtl('pendingTtlMs', pendingTtlMs);
    const r = (await this.#claim([k], [this.#now(), fingerprint, owner, pendingTtlMs, this.#grace])) as string[];
    switch (r[0]) {
      case 'new':
        return { status: 'new', expiresAtMs: Number(r[1]) };
      case 'conflict':
        return { status: 'conflict' };
      case 'committed':
        return { status: 'committed', receipt: JSON.parse(r[1] as string) as PublishReceipt };
      default:
        return { status: 'pending', owner: r[1] as string, expiresAtMs: Number(r[2]) };
    }
  }

  async commit(
    appId: string,
    channel: string,
    key: string,
    fingerprint: string,
    owner: string,
    receipt: PublishReceipt,
    ttlMs: number,
  ): Promise<PublishCommit> {
    const k = this.#key(appId, channel, key, fingerprint, owner);
    assertTtl('ttlMs', ttlMs);
    if (typeof receipt?.acknowledgementId !== 'string') throw new TypeError('receipt.acknowledgementId is required');
    const r = (await this.#commit(
      [k],
      [this.#now(), fingerprint, owner, JSON.stringify(receipt), ttlMs, this.#grace],
    )) as string[];
    switch (r[0]) {
      case 'committed':
        return { status: 'committed' };
      case 'conflict':
        return { status: 'conflict' };
      case 'already_committed':
        return { status: 'already_committed', receipt: JSON.parse(r[1] as string) as PublishReceipt };
      default:
        return { status: 'claimed_by_other', owner: r[1] as string };
    }
  }

  async release(appId: string, channel: string, key: string, owner: string): Promise<boolean> {
    const k = this.#key(appId, channel, key, 'x', owner);
    return Number(await this.#release([k], [this.#now(), owner])) === 1;
  }

  #key(appId: string, channel: string, key: string, fingerprint: string, owner: string): string {
    assertScope(appId, channel);
    checkKey('idempotency key', key, 1024);
    checkKey('fingerprint', fingerprint, 256);
    checkKey('owner', owner, 256);
    return this.#keys.publishClaim(appId, channel, key);
  }
}
