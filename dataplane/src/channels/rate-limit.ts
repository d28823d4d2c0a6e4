// A token bucket with an injected clock (STYLE.md 6), used for the per-connection client
// event limit (STANDARDS I2). Capacity = one second of rate, so short bursts up to the
// per-second limit pass and a flood is cut at the limit.

export class TokenBucket {
  readonly #ratePerSecond: number;
  readonly #capacity: number;
  #tokens: number;
  #lastMs: number;

  /** `ratePerSecond` 0 = unlimited. */
  constructor(ratePerSecond: number, nowMs: number, capacity: number = ratePerSecond) {
    if (!Number.isFinite(ratePerSecond) || ratePerSecond < 0) throw new TypeError('ratePerSecond must be >= 0');
    this.#ratePerSecond = ratePerSecond;
    this.#capacity = Math.max(1, capacity);
    this.#tokens = this.#capacity;
    this.#lastMs = nowMs;
  }

  /** Takes one token; false when the limit is hit. */
  take(nowMs: number): boolean {
    if (this.#ratePerSecond === 0) return true;
    const elapsed = Math.max(0, nowMs - this.#lastMs);
    this.#lastMs = Math.max(this.#lastMs, nowMs);
    this.#tokens = Math.min(this.#capacity, this.#tokens + (elapsed * this.#ratePerSecond) / 1000);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
