// A bounded map whose entries expire. Insertion order approximates expiry order (each store uses
// one TTL per kind of entry), so expired entries are swept from the old end a few at a time and
// the cap drops the oldest entry. Every operation is O(1) amortized (STANDARDS C3).

interface Slot<V> {
  value: V;
  expiresAtMs: number;
}

export class ExpiringMap<K, V> {
  readonly #max: number;
  readonly #sweepBudget: number;
  readonly #slots = new Map<K, Slot<V>>();
  /** Live entries dropped by the cap before they expired (a metric for undersized stores). */
  evictedLive = 0;

  constructor(maxEntries: number, sweepBudget = 8) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new TypeError('maxEntries must be a positive integer');
    this.#max = maxEntries;
    this.#sweepBudget = sweepBudget;
  }

  get size(): number {
    return this.#slots.size;
  }

  /** The live entry, or undefined (an expired one is deleted). */
  get(key: K, now: number): { value: V; expiresAtMs: number } | undefined {
    const slot = this.#slots.get(key);
    if (!slot) return undefined;
    if (slot.expiresAtMs <= now) {
      this.#slots.delete(key);
      return undefined;
    }
    return slot;
  }

  /** Sets (and moves to the young end) an entry. */
  set(key: K, value: V, expiresAtMs: number, now: number): void {
    this.#slots.delete(key);
    this.#slots.set(key, { value, expiresAtMs });
    this.sweep(now, this.#sweepBudget);
    while (this.#slots.size > this.#max) {
      const oldest = this.#slots.entries().next().value as [K, Slot<V>];
      this.#slots.delete(oldest[0]);
      if (oldest[1].expiresAtMs > now) this.evictedLive++;
    }
  }

  delete(key: K): boolean {
    return this.#slots.delete(key);
  }

  /** Deletes up to `budget` expired entries from the old end; stops at the first live one. */
  sweep(now: number, budget: number): number {
    let n = 0;
    for (const [k, s] of this.#slots) {
      if (n >= budget || s.expiresAtMs > now) break;
      this.#slots.delete(k);
      n++;
    }
    return n;
  }

  /** Iterates entries from the old end (for bounded scans); callers must not mutate meanwhile. */
  entries(): IterableIterator<[K, Slot<V>]> {
    return this.#slots.entries();
  }
}
