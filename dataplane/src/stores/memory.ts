// Memory implementations of the small stores (the embedded default). Each call does its work
// synchronously before resolving, so it is atomic on one event loop; memory is bounded by a cap
// per store and expired entries are swept a few at a time from the old end.
import { ExpiringMap } from './expiring-map.ts';
import { assertScope, assertTtl, scopedKey } from './keys.ts';
import type {
  ActiveStreamEntry,
  ActiveStreamRegistry,
  ActiveStreamUpsert,
  ClaimResult,
  ClaimStore,
  PublishClaim,
  PublishClaimStore,
  PublishCommit,
  PublishReceipt,
} from './types.ts';

export interface MemoryStoreOptions {
  readonly now?: () => number;
  /** Entries kept; the oldest are dropped past it (default 100 000). */
  readonly maxEntries?: number;
}

function checkKey(label: string, v: string, max: number): void {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new TypeError(`${label} must be a non-empty string of at most ${max} chars`);
  }
}

// ---------------------------------------------------------------------------------------------
// Publish idempotency claims

type ClaimRecord =
  | { readonly kind: 'pending'; readonly fingerprint: string; readonly owner: string }
  | { readonly kind: 'committed'; readonly fingerprint: string; readonly receipt: PublishReceipt };

export class MemoryPublishClaimStore implements PublishClaimStore {
  readonly #now: () => number;
  readonly #map: ExpiringMap<string, ClaimRecord>;

  constructor(opts: MemoryStoreOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#map = new ExpiringMap(opts.maxEntries ?? 100_000);
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
    const now = this.#now();
    const cur = this.#map.get(k, now);
    if (!cur) {
      const expiresAtMs = now + pendingTtlMs;
      this.#map.set(k, { kind: 'pending', fingerprint, owner }, expiresAtMs, now);
      return { status: 'new', expiresAtMs };
    }
    const rec = cur.value;
    if (rec.fingerprint !== fingerprint) return { status: 'conflict' };
    if (rec.kind === 'committed') return { status: 'committed', receipt: rec.receipt };
    return { status: 'pending', owner: rec.owner, expiresAtMs: cur.expiresAtMs };
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
    const now = this.#now();
    const cur = this.#map.get(k, now);
    if (cur) {
      const rec = cur.value;
      if (rec.fingerprint !== fingerprint) return { status: 'conflict' };
      if (rec.kind === 'committed') return { status: 'already_committed', receipt: rec.receipt };
      if (rec.owner !== owner) return { status: 'claimed_by_other', owner: rec.owner };
    }
    this.#map.set(k, { kind: 'committed', fingerprint, receipt: { ...receipt } }, now + ttlMs, now);
    return { status: 'committed' };
  }

  async release(appId: string, channel: string, key: string, owner: string): Promise<boolean> {
    const k = this.#key(appId, channel, key, 'x', owner);
    const cur = this.#map.get(k, this.#now());
    if (cur?.value.kind !== 'pending' || cur.value.owner !== owner) return false;
    return this.#map.delete(k);
  }

  #key(appId: string, channel: string, key: string, fingerprint: string, owner: string): string {
    assertScope(appId, channel);
    checkKey('idempotency key', key, 1024);
    checkKey('fingerprint', fingerprint, 256);
    checkKey('owner', owner, 256);
    return scopedKey(appId, channel, key);
  }
}

// ---------------------------------------------------------------------------------------------
// Single-runner claims

export class MemoryClaimStore implements ClaimStore {
  readonly #now: () => number;
  readonly #map: ExpiringMap<string, string>;

  constructor(opts: MemoryStoreOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#map = new ExpiringMap(opts.maxEntries ?? 100_000);
  }

  async tryClaim(appId: string, name: string, owner: string, ttlMs: number): Promise<ClaimResult> {
    assertScope(appId);
    checkKey('claim name', name, 2048);
    checkKey('owner', owner, 256);
    assertTtl('ttlMs', ttlMs);
    const k = scopedKey(appId, name);
    const now = this.#now();
    const cur = this.#map.get(k, now);
    if (cur) return { claimed: false, owner: cur.value, expiresAtMs: cur.expiresAtMs };
    const expiresAtMs = now + ttlMs;
    this.#map.set(k, owner, expiresAtMs, now);
    return { claimed: true, expiresAtMs };
  }

  async release(appId: string, name: string, owner: string): Promise<boolean> {
    assertScope(appId);
    const k = scopedKey(appId, name);
    const cur = this.#map.get(k, this.#now());
    if (!cur || cur.value !== owner) return false;
    return this.#map.delete(k);
  }
}

// ---------------------------------------------------------------------------------------------
// Active-stream registry

interface RegEntry {
  readonly entry: ActiveStreamEntry;
  readonly chanKey: string;
  readonly expiresAtMs: number;
}

/** Hard ceiling of one `listIdle` page (the janitor's 4096, PROTOCOL.md 7.5). */
export const MAX_IDLE_PAGE = 4096;

export class MemoryActiveStreamRegistry implements ActiveStreamRegistry {
  readonly #now: () => number;
  readonly #max: number;
  /** Ordered by last upsert, i.e. by lastSeenMs (stamped from the clock). */
  readonly #entries = new Map<string, RegEntry>();
  readonly #counts = new Map<string, number>();

  constructor(opts: MemoryStoreOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#max = opts.maxEntries ?? 100_000;
  }

  async upsert(e: ActiveStreamUpsert, ttlMs: number): Promise<boolean> {
    assertScope(e.appId, e.channel);
    checkKey('messageSerial', e.messageSerial, 128);
    assertTtl('ttlMs', ttlMs);
    const now = this.#now();
    this.#sweep(now, 8);
    const key = scopedKey(e.appId, e.channel, e.messageSerial);
    const cur = this.#live(key, now);
    if (cur && cur.entry.deliverySerial > e.deliverySerial) return false;
    const chanKey = scopedKey(e.appId, e.channel);
    if (cur) this.#entries.delete(key);
    else this.#counts.set(chanKey, (this.#counts.get(chanKey) ?? 0) + 1);
    const entry: ActiveStreamEntry = {
      appId: e.appId,
      channel: e.channel,
      messageSerial: e.messageSerial,
      versionSerial: e.versionSerial,
      historySerial: e.historySerial,
      deliverySerial: e.deliverySerial,
      lastSeenMs: now,
    };
    this.#entries.set(key, { entry, chanKey, expiresAtMs: now + ttlMs });
    while (this.#entries.size > this.#max) this.#drop(this.#entries.keys().next().value as string);
    return true;
  }

  async remove(appId: string, channel: string, messageSerial: string, deliverySerial?: number): Promise<boolean> {
    assertScope(appId, channel);
    const key = scopedKey(appId, channel, messageSerial);
    const cur = this.#live(key, this.#now());
    if (!cur) return false;
    if (deliverySerial !== undefined && cur.entry.deliverySerial > deliverySerial) return false;
    this.#drop(key);
    return true;
  }

  async get(appId: string, channel: string, messageSerial: string): Promise<ActiveStreamEntry | undefined> {
    assertScope(appId, channel);
    return this.#live(scopedKey(appId, channel, messageSerial), this.#now())?.entry;
  }

  async count(appId: string, channel: string): Promise<number> {
    assertScope(appId, channel);
    this.#sweep(this.#now(), 64);
    return this.#counts.get(scopedKey(appId, channel)) ?? 0;
  }

  async listIdle(cutoffMs: number, limit: number): Promise<ActiveStreamEntry[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer');
    const max = Math.min(limit, MAX_IDLE_PAGE);
    const now = this.#now();
    const out: ActiveStreamEntry[] = [];
    const expired: string[] = [];
    let visited = 0;
    for (const [key, r] of this.#entries) {
      // Bounded: at most max live results plus a bounded number of expired ones per call.
      if (out.length >= max || visited++ >= max * 2) break;
      if (r.expiresAtMs <= now) {
        expired.push(key);
        continue;
      }
      if (r.entry.lastSeenMs > cutoffMs) break;
      out.push(r.entry);
    }
    for (const k of expired) this.#drop(k);
    return out;
  }

  #live(key: string, now: number): RegEntry | undefined {
    const r = this.#entries.get(key);
    if (!r) return undefined;
    if (r.expiresAtMs <= now) {
      this.#drop(key);
      return undefined;
    }
    return r;
  }

  #drop(key: string): void {
    const r = this.#entries.get(key);
    if (!r) return;
    this.#entries.delete(key);
    const n = (this.#counts.get(r.chanKey) ?? 1) - 1;
    if (n <= 0) this.#counts.delete(r.chanKey);
    else this.#counts.set(r.chanKey, n);
  }

  #sweep(now: number, budget: number): void {
    let n = 0;
    for (const [key, r] of this.#entries) {
      if (n >= budget || r.expiresAtMs > now) break;
      this.#drop(key);
      n++;
    }
  }
}
