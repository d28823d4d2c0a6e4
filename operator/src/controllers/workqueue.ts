// A rate-limited work queue of object keys, with client-go's semantics: a key is queued at most
// once (dedupe), is processed by at most one worker at a time (a key added while in flight is
// queued again once done), failed keys come back after a per-key exponential delay, and
// requeueAfter schedules a key later. Timers come from an injected Clock.
import type { Clock } from '../kube/clock.ts';

export interface WorkQueueOptions {
  readonly clock: Clock;
  /** Delay after the first failure of a key; doubles per consecutive failure. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Called whenever the number of queued keys changes (the depth gauge). */
  readonly onDepth?: (depth: number) => void;
}

export class WorkQueue {
  readonly #o: WorkQueueOptions;
  readonly #queue: string[] = [];
  /** Keys waiting to be processed (queued, or re-added while in flight). */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { due: number; cancel: () => void }>();
  readonly #waiters: Array<(key: string | undefined) => void> = [];
  #shutDown = false;

  constructor(o: WorkQueueOptions) {
    this.#o = o;
  }

  #depthChanged(): void {
    this.#o.onDepth?.(this.#queue.length);
  }

  #push(key: string): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
      return;
    }
    this.#queue.push(key);
    this.#depthChanged();
  }

  /** Queues `key` now, unless it is already waiting. */
  add(key: string): void {
    if (this.#shutDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return; // done() queues it again
    this.#push(key);
  }

  /** Queues `key` after `ms` (an earlier pending schedule wins). */
  addAfter(key: string, ms: number): void {
    if (this.#shutDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const due = this.#o.clock.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending && pending.due <= due) return;
    pending?.cancel();
    const cancel = this.#o.clock.setTimer(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { due, cancel });
  }

  /** The delay the next failure of `key` gets: base·2^failures, capped. */
  backoffFor(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    return Math.min(this.#o.maxDelayMs ?? 300_000, (this.#o.baseDelayMs ?? 1_000) * 2 ** Math.min(n, 30));
  }

  /** Queues `key` after its backoff and counts a failure. */
  addRateLimited(key: string): number {
    const delay = this.backoffFor(key);
    this.#failures.set(key, (this.#failures.get(key) ?? 0) + 1);
    this.addAfter(key, delay);
    return delay;
  }

  /** Forgets the failures of `key` (after a success). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key to process, marked in flight; undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.#shutDown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#depthChanged();
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks `key` processed; a key re-added meanwhile is queued again now. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shutDown) this.#push(key);
  }

  len(): number {
    return this.#queue.length;
  }

  isProcessing(key: string): boolean {
    return this.#processing.has(key);
  }

  /** Stops handing out keys: pending get() calls resolve undefined, delayed keys are dropped. */
  shutDown(): void {
    this.#shutDown = true;
    for (const d of this.#delayed.values()) d.cancel();
    this.#delayed.clear();
    this.#queue.length = 0;
    this.#dirty.clear();
    for (const w of this.#waiters.splice(0)) w(undefined);
    this.#depthChanged();
  }
}
