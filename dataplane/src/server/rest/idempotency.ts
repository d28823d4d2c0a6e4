// First idempotency layer (PROTOCOL.md 3.4.1): an HTTP response cache keyed by the app and
// the request's idempotency key. A replay within the TTL answers the cached response and
// publishes nothing; a concurrent duplicate waits briefly, then gets 503 backpressure.
// The store is an interface so a Redis implementation can replace the memory one (I6).
import { aitError } from '../../protocol/errors.ts';

export interface CachedResponse {
  status: number;
  body: unknown;
}

export type IdempotencyClaim =
  | { state: 'claimed' }
  | { state: 'in_flight' }
  | { state: 'done'; response: CachedResponse };

export interface IdempotencyStore {
  /** Atomically claims `key` (set-if-absent), or reports the in-flight or finished request. */
  claim(key: string, nowMs: number): Promise<IdempotencyClaim>;
  /** Stores the response of a claimed key for the TTL. */
  complete(key: string, response: CachedResponse, nowMs: number): Promise<void>;
  /** Drops a claim whose request failed, so a retry can run. */
  release(key: string): Promise<void>;
}

/** Cache keys, scoped by app id (I1); a batch header key has its own namespace. */
export function idempotencyCacheKey(appId: string, key: string, scope: 'event' | 'batch'): string {
  return scope === 'batch' ? `app:${appId}:batch-idempotency:${key}` : `app:${appId}:idempotency:${key}`;
}

interface Entry {
  expiresAtMs: number;
  response?: CachedResponse;
}

export interface MemoryIdempotencyOptions {
  /** How long a finished response is replayed (default 120 s). */
  ttlMs?: number;
  /** How long an unfinished claim blocks duplicates before it is considered abandoned. */
  claimTtlMs?: number;
  /** Bound on stored keys; the oldest are evicted first (default 100 000). */
  maxEntries?: number;
}

/** A bounded in-process store: Map insertion order approximates expiry order (one TTL). */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #ttlMs: number;
  readonly #claimTtlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();

  constructor(opts: MemoryIdempotencyOptions = {}) {
    this.#ttlMs = opts.ttlMs ?? 120_000;
    this.#claimTtlMs = opts.claimTtlMs ?? 30_000;
    this.#maxEntries = Math.max(1, opts.maxEntries ?? 100_000);
  }

  get size(): number {
    return this.#entries.size;
  }

  async claim(key: string, nowMs: number): Promise<IdempotencyClaim> {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAtMs > nowMs) {
      return entry.response ? { state: 'done', response: entry.response } : { state: 'in_flight' };
    }
    this.#set(key, { expiresAtMs: nowMs + this.#claimTtlMs }, nowMs);
    return { state: 'claimed' };
  }

  async complete(key: string, response: CachedResponse, nowMs: number): Promise<void> {
    this.#set(key, { expiresAtMs: nowMs + this.#ttlMs, response }, nowMs);
  }

  async release(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry && !entry.response) this.#entries.delete(key);
  }

  #set(key: string, entry: Entry, nowMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    // Bounded work per insert: drop expired entries at the old end, then enforce the cap.
    let budget = 8;
    for (const [k, e] of this.#entries) {
      if (budget-- <= 0 || e.expiresAtMs > nowMs) break;
      this.#entries.delete(k);
    }
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}

export interface IdempotencyDeps {
  store: IdempotencyStore;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** Waits for a concurrent duplicate this many times, this long each (PROTOCOL.md 3.4.1). */
const WAIT_ATTEMPTS = 6;
const WAIT_MS = 50;

/**
 * Runs `work` at most once per key within the TTL. Returns the fresh or replayed response;
 * only 2xx responses are cached, a failure releases the claim so the client can retry.
 */
export async function runIdempotent(
  deps: IdempotencyDeps,
  key: string,
  work: () => Promise<CachedResponse>,
): Promise<{ response: CachedResponse; replayed: boolean }> {
  let claim: IdempotencyClaim;
  try {
    claim = await deps.store.claim(key, deps.now());
    for (let i = 0; claim.state === 'in_flight' && i < WAIT_ATTEMPTS; i++) {
      await deps.sleep(WAIT_MS);
      claim = await deps.store.claim(key, deps.now());
    }
  } catch (err) {
    throw aitError('AIT_ERR_UNAVAILABLE', { reason: 'idempotency cache unavailable' }, { cause: err });
  }
  if (claim.state === 'done') return { response: claim.response, replayed: true };
  if (claim.state === 'in_flight') {
    throw aitError(
      'AIT_ERR_BACKPRESSURE',
      { reason: 'a request with this idempotency key is still in progress' },
      { retryAfterSeconds: 1 },
    );
  }
  let response: CachedResponse;
  try {
    response = await work();
  } catch (err) {
    await deps.store.release(key).catch(() => undefined);
    throw err;
  }
  if (response.status >= 200 && response.status < 300) {
    await deps.store.complete(key, response, deps.now()).catch(() => undefined);
  } else {
    await deps.store.release(key).catch(() => undefined);
  }
  return { response, replayed: false };
}
