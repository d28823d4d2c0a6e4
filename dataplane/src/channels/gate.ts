// The per-channel ordering gate (STANDARDS C2): publishes and mutations of one channel run one at
// a time, in arrival order, so the store assigns serials in the order they are fanned out; other
// channels never wait on each other. Each key's queue is bounded (C4): past the bound `run`
// refuses at once (the caller answers 503 backpressure) instead of growing memory.

export class GateFullError extends Error {
  readonly pending: number;
  constructor(pending: number) {
    super(`ordering gate full (${pending} pending)`);
    this.name = 'GateFullError';
    this.pending = pending;
  }
}

interface Lane {
  tail: Promise<unknown>;
  depth: number;
}

export class OrderingGate {
  readonly #maxPerKey: number;
  readonly #lanes = new Map<string, Lane>();
  #pending = 0;

  constructor(maxPendingPerKey: number) {
    if (!Number.isSafeInteger(maxPendingPerKey) || maxPendingPerKey < 1) {
      throw new TypeError('maxPendingPerKey must be a positive integer');
    }
    this.#maxPerKey = maxPendingPerKey;
  }

  /** Operations queued or running, all keys (the `history_queue_depth` gauge). */
  get pending(): number {
    return this.#pending;
  }

  /** Keys with at least one operation queued or running. */
  get activeKeys(): number {
    return this.#lanes.size;
  }

  /** Visits every key with work queued or running (bounded by the active keys). */
  forEachLane(visit: (key: string, depth: number) => void): void {
    for (const [key, lane] of this.#lanes) visit(key, lane.depth);
  }

  depthOf(key: string): number {
    return this.#lanes.get(key)?.depth ?? 0;
  }

  /**
   * Runs `fn` after every earlier `run` of the same key settled (fulfilled or rejected); its
   * result or error is returned. Throws GateFullError synchronously-ish (a rejected promise)
   * when the key already holds the maximum.
   */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let lane = this.#lanes.get(key);
    if (lane && lane.depth >= this.#maxPerKey) return Promise.reject(new GateFullError(lane.depth));
    if (!lane) {
      lane = { tail: Promise.resolve(), depth: 0 };
      this.#lanes.set(key, lane);
    }
    const l = lane;
    l.depth++;
    this.#pending++;
    const result = l.tail.then(fn);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    l.tail = settled;
    void settled.then(() => {
      l.depth--;
      this.#pending--;
      if (l.depth === 0 && this.#lanes.get(key) === l) this.#lanes.delete(key);
    });
    return result;
  }

  /** Resolves when every operation queued so far has settled (graceful shutdown). */
  async idle(): Promise<void> {
    while (this.#lanes.size > 0) {
      await Promise.all([...this.#lanes.values()].map((l) => l.tail));
      // Let the settle handlers drop the finished lanes before looking again.
      await new Promise((r) => setImmediate(r));
    }
  }
}
