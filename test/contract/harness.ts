// Shared pieces of the store contract suites: the factory shape every implementation provides,
// and a manual clock the suites advance by hand (TTL and age behaviour is driven by the injected
// clock, never by wall time, so the same suite runs against memory and Redis).

/** What a factory returns for one test: a fresh, empty store. */
export interface StoreHarness<S> {
  readonly store: S;
  /** Releases connections and deletes the test's keys. */
  readonly cleanup: () => Promise<void>;
  /** Makes the backend forget everything while the store object (the "node") keeps what it knows;
   * suites skip the data-loss tests when absent. */
  readonly simulateDataLoss?: () => void | Promise<void>;
}

export interface StoreContext {
  /** The clock the store must use for every timestamp, TTL and age decision. */
  readonly now: () => number;
}

export type StoreFactory<S> = (ctx: StoreContext) => Promise<StoreHarness<S>>;

export class ManualClock {
  #t: number;
  constructor(start = 1_700_000_000_000) {
    this.#t = start;
  }
  readonly now = (): number => this.#t;
  advance(ms: number): number {
    this.#t += ms;
    return this.#t;
  }
}

/** 1..n */
export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/** Unique app ids per test so a shared backend (Redis) never mixes runs. */
let seq = 0;
export function uniqueApp(prefix = 'app'): string {
  seq++;
  return `${prefix}-${process.pid}-${seq}`;
}
