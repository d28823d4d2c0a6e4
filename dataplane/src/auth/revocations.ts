// Capability-token revocations by jti and by client id (PROTOCOL.md 2.4). The store interface is
// async so a Redis implementation (keys `…:capability_revocation:{app}:jti:{jti}` and
// `…:client:{client_id}`, each with a TTL) can stand in for the in-memory one used by a single node.

export interface RevocationStore {
  /** Records a revocation of a jti, a client id, or both. At least one is required. */
  revoke(r: { appId: string; jti?: string; clientId?: string; ttlMs: number }, nowMs: number): Promise<void>;
  /** True when either the jti or the client id is revoked for this app and not yet expired. */
  isRevoked(appId: string, jti: string | undefined, clientId: string | undefined, nowMs: number): Promise<boolean>;
}

export const DEFAULT_REVOCATION_TTL_MS = 24 * 60 * 60 * 1000;
export const MIN_REVOCATION_TTL_MS = 1000;
export const DEFAULT_MAX_REVOCATIONS_PER_APP = 100_000;

/**
 * How long a revocation lasts: `ttl_seconds`, else `expires_at` (unix seconds) minus now, else
 * 24 h; never under 1 s. Non-numeric values are treated as absent: the route validates types.
 */
export function revocationTtlMs(body: { ttl_seconds?: unknown; expires_at?: unknown }, nowMs: number): number {
  let ttlMs = DEFAULT_REVOCATION_TTL_MS;
  if (typeof body.ttl_seconds === 'number' && Number.isFinite(body.ttl_seconds)) {
    ttlMs = body.ttl_seconds * 1000;
  } else if (typeof body.expires_at === 'number' && Number.isFinite(body.expires_at)) {
    ttlMs = body.expires_at * 1000 - nowMs;
  }
  return Math.max(MIN_REVOCATION_TTL_MS, Math.ceil(ttlMs));
}

function jtiKey(jti: string): string {
  return `jti:${jti}`;
}

function clientKey(clientId: string): string {
  return `client:${clientId}`;
}

/**
 * A per-node revocation store. Entries are kept per app (one app's revocations never match or
 * evict another's), expire at their TTL, and each app holds at most `maxEntriesPerApp`.
 * When an app is full, expired entries go first, then the entry closest to expiry, which is the
 * one that protects least; `evictedUnexpired` counts those so the caller can meter them.
 */
export class MemoryRevocationStore implements RevocationStore {
  readonly #maxEntriesPerApp: number;
  /** appId → (`jti:…` | `client:…`) → expiry in ms. */
  readonly #apps = new Map<string, Map<string, number>>();
  #evictedUnexpired = 0;

  constructor(opts: { maxEntriesPerApp?: number } = {}) {
    const max = opts.maxEntriesPerApp ?? DEFAULT_MAX_REVOCATIONS_PER_APP;
    if (!Number.isInteger(max) || max < 2) throw new TypeError('maxEntriesPerApp must be an integer >= 2');
    this.#maxEntriesPerApp = max;
  }

  /** Live plus not-yet-pruned entries across every app. */
  get size(): number {
    let n = 0;
    for (const entries of this.#apps.values()) n += entries.size;
    return n;
  }

  /** Unexpired entries dropped because an app reached its cap. */
  get evictedUnexpired(): number {
    return this.#evictedUnexpired;
  }

  async revoke(r: { appId: string; jti?: string; clientId?: string; ttlMs: number }, nowMs: number): Promise<void> {
    if (!r.appId) throw new TypeError('appId is required');
    if (!r.jti && !r.clientId) throw new TypeError('a revocation needs a jti or a clientId');
    if (!Number.isFinite(r.ttlMs) || r.ttlMs <= 0) throw new TypeError('ttlMs must be a positive number');
    const expiresAt = nowMs + r.ttlMs;
    if (r.jti) this.#put(r.appId, jtiKey(r.jti), expiresAt, nowMs);
    if (r.clientId) this.#put(r.appId, clientKey(r.clientId), expiresAt, nowMs);
  }

  async isRevoked(
    appId: string,
    jti: string | undefined,
    clientId: string | undefined,
    nowMs: number,
  ): Promise<boolean> {
    const entries = this.#apps.get(appId);
    if (!entries) return false;
    return (
      (!!jti && this.#live(entries, jtiKey(jti), nowMs)) ||
      (!!clientId && this.#live(entries, clientKey(clientId), nowMs))
    );
  }

  /** Drops every expired entry; returns how many. Callers may run it periodically, in any case it runs when an app is full. */
  prune(nowMs: number): number {
    let removed = 0;
    for (const [appId, entries] of this.#apps) {
      removed += this.#pruneApp(entries, nowMs);
      if (entries.size === 0) this.#apps.delete(appId);
    }
    return removed;
  }

  #live(entries: Map<string, number>, key: string, nowMs: number): boolean {
    const expiresAt = entries.get(key);
    if (expiresAt === undefined) return false;
    if (expiresAt > nowMs) return true;
    entries.delete(key);
    return false;
  }

  #pruneApp(entries: Map<string, number>, nowMs: number): number {
    let removed = 0;
    for (const [key, expiresAt] of entries) {
      if (expiresAt <= nowMs) {
        entries.delete(key);
        removed++;
      }
    }
    return removed;
  }

  #put(appId: string, key: string, expiresAt: number, nowMs: number): void {
    let entries = this.#apps.get(appId);
    if (!entries) {
      entries = new Map();
      this.#apps.set(appId, entries);
    }
    const existing = entries.get(key);
    if (existing !== undefined) {
      // A second revocation can lengthen the first, never shorten it.
      entries.set(key, Math.max(existing, expiresAt));
      return;
    }
    if (entries.size >= this.#maxEntriesPerApp) {
      // O(n) but only when an app is full, and revocations are rare admin calls.
      this.#pruneApp(entries, nowMs);
      if (entries.size >= this.#maxEntriesPerApp) this.#evictSoonest(entries);
    }
    entries.set(key, expiresAt);
  }

  #evictSoonest(entries: Map<string, number>): void {
    let victim: string | undefined;
    let soonest = Number.POSITIVE_INFINITY;
    for (const [key, expiresAt] of entries) {
      if (expiresAt < soonest) {
        soonest = expiresAt;
        victim = key;
      }
    }
    if (victim !== undefined) {
      entries.delete(victim);
      this.#evictedUnexpired++;
    }
  }
}
