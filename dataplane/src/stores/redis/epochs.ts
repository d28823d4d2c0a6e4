// What this node remembers of each channel's epoch (decision 11): the memory of the "node" that
// detects data loss when the store no longer has an epoch the node saw. Pure, bounded (LRU).
//
// A channel the store drops legitimately — idle for its whole window (`idleTtlMs`, or its age
// retention if longer) — must not look lost: the store drops a record only after
// `lastTouch + window + grace`, and the node forgets its memory at `lastSeen + window`, which
// is never later because every call of this node is a touch of the record.

interface Known {
  readonly epoch: string;
  readonly lastSeenMs: number;
  readonly windowMs: number;
}

export class KnownEpochs {
  readonly #max: number;
  readonly #map = new Map<string, Known>();

  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError('maxKnownEpochs must be a positive integer');
    }
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The epoch last seen for `key`, unless the channel may have idled out since. */
  get(key: string, nowMs: number): string | undefined {
    const k = this.#map.get(key);
    if (!k) return undefined;
    if (nowMs >= k.lastSeenMs + k.windowMs) {
      this.#map.delete(key);
      return undefined;
    }
    return k.epoch;
  }

  /** Records what a store call returned; most recent last, least recent dropped past the cap. */
  set(key: string, epoch: string, nowMs: number, windowMs: number): void {
    this.#map.delete(key);
    this.#map.set(key, { epoch, lastSeenMs: nowMs, windowMs });
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as string);
  }

  /** Forgets everything (a node restart). */
  clear(): void {
    this.#map.clear();
  }
}
