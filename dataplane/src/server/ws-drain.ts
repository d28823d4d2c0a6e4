// Drain (STANDARDS F6, admin API): once started, the engine refuses upgrades (503) and this
// controller closes connections in batches of `batchSize` with 4200 every `batchIntervalMs`
// (from `closeAfterMs` on), so clients reconnect elsewhere in waves. It owns one timer while a
// drain runs.
import type { DrainRequest, DrainStatus } from './admin-types.ts';

export interface DrainDeps {
  now: () => number;
  /** Open connections on this node. */
  remaining: () => number;
  /** Closes up to `n` connections with 4200 and `reason`; returns how many it closed. */
  closeBatch: (n: number, reason: string) => number;
  defaults: { batchSize: number; batchIntervalMs: number };
  /** Rollup windows holding appends plus publishes in flight (what a flush would still write). */
  pendingFlushes?: () => number;
}

interface Waiter {
  resolve: () => void;
  timer: NodeJS.Timeout;
}

export class DrainController {
  readonly #deps: DrainDeps;
  #status: DrainStatus | null = null;
  #timer: NodeJS.Timeout | undefined;
  #waiters = new Set<Waiter>();

  constructor(deps: DrainDeps) {
    this.#deps = deps;
  }

  get draining(): boolean {
    return this.#status !== null;
  }

  /** Starts the drain, or returns the running one's status (idempotent). */
  start(req: DrainRequest = {}): DrainStatus {
    if (this.#status) return this.status() as DrainStatus;
    const batchSize = positiveInt(req.batchSize) ?? this.#deps.defaults.batchSize;
    const interval = nonNegativeInt(req.batchIntervalMs) ?? this.#deps.defaults.batchIntervalMs;
    const reason = (req.reason ?? 'node draining').slice(0, 80);
    const closeAfter = nonNegativeInt(req.closeAfterMs) ?? 0;
    const startedAtMs = this.#deps.now();
    this.#status = {
      state: 'draining',
      startedAtMs,
      remainingConnections: this.#deps.remaining(),
      closedConnections: 0,
      closingFromMs: startedAtMs + closeAfter,
      pendingFlushes: this.#deps.pendingFlushes?.() ?? 0,
    };
    const step = (): void => {
      this.#timer = undefined;
      const status = this.#status;
      if (!status) return;
      status.closedConnections += this.#deps.closeBatch(batchSize, reason);
      this.notify();
      if (status.state === 'draining' && this.#deps.remaining() > 0) this.#timer = setTimeout(step, interval);
    };
    if (closeAfter > 0) this.#timer = setTimeout(step, closeAfter);
    else step();
    return this.status() as DrainStatus;
  }

  status(): DrainStatus | null {
    if (!this.#status) return null;
    return {
      ...this.#status,
      remainingConnections: this.#deps.remaining(),
      pendingFlushes: this.#deps.pendingFlushes?.() ?? 0,
    };
  }

  /** Called whenever a connection goes away: completes the drain and wakes waiters at zero. */
  notify(): void {
    if (this.#deps.remaining() > 0) return;
    if (this.#status && this.#status.state === 'draining') this.#status.state = 'drained';
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.resolve();
    }
    this.#waiters.clear();
  }

  /**
   * Resolves when no connection is left or at the deadline. `deadlineMs` is an absolute time
   * on the engine clock (epoch ms); a value below 1e12 is read as a duration from now.
   */
  wait(deadlineMs: number): Promise<void> {
    if (this.#deps.remaining() === 0) return Promise.resolve();
    const now = this.#deps.now();
    const delay = Math.max(0, deadlineMs < 1e12 ? deadlineMs : deadlineMs - now);
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          resolve();
        }, delay),
      };
      this.#waiters.add(waiter);
    });
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined;
}

function nonNegativeInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}
