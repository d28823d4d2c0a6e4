// Last event of each cache channel (Pusher cache channels), per app. Pure (the clock is
// passed in). Bounded: entries expire after `ttlMs` and the store holds at most
// `maxEntries`; the oldest write is evicted first (a rewrite moves an entry to the end).

export interface CachedEvent {
  readonly event: string;
  readonly data: unknown;
}

interface Entry extends CachedEvent {
  readonly atMs: number;
}

export class ChannelCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  /** Key: `${appId}\n${channel}` (app ids cannot contain a newline). */
  readonly #entries = new Map<string, Entry>();

  constructor(opts: { ttlMs?: number; maxEntries?: number } = {}) {
    this.#ttlMs = opts.ttlMs ?? 30 * 60_000;
    this.#maxEntries = opts.maxEntries ?? 100_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  set(appId: string, channel: string, ev: CachedEvent, nowMs: number): void {
    const key = `${appId}\n${channel}`;
    this.#entries.delete(key);
    this.#entries.set(key, { event: ev.event, data: ev.data, atMs: nowMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  get(appId: string, channel: string, nowMs: number): CachedEvent | undefined {
    const key = `${appId}\n${channel}`;
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (nowMs - e.atMs >= this.#ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return { event: e.event, data: e.data };
  }

  /** Drops expired entries, looking at `budget` entries at most (oldest writes first). */
  sweep(nowMs: number, budget = 1000): number {
    let dropped = 0;
    let seen = 0;
    for (const [key, e] of this.#entries) {
      if (seen++ >= budget) break;
      if (nowMs - e.atMs < this.#ttlMs) break; // insertion order = write order: the rest are newer
      this.#entries.delete(key);
      dropped++;
    }
    return dropped;
  }
}
