// Telling a dead Redis connection from a slow one. A connection whose packets are silently
// dropped (a partition, a blackholed route, a peer that vanished without a FIN) stays "ready" to
// ioredis for as long as TCP keepalive takes — hours with the kernel defaults — and every command
// on it times out. ioredis reconnects on errors, not on timeouts, so we decide: after
// `timeouts` answers in a row that were timeouts, with no answer at all for `silenceMs`, the
// connection is taken for dead and reconnected. One slow command, or a burst of them on a
// connection that still answers others, never trips it. Pure; the caller reconnects.

export interface LivenessOptions {
  /** Timeouts in a row before the connection is suspect (default 3). */
  readonly timeouts?: number;
  /** And no successful answer for this long (ms). */
  readonly silenceMs: number;
}

export class ConnectionLiveness {
  readonly #timeouts: number;
  readonly #silenceMs: number;
  #inARow = 0;
  #lastAnswerMs: number;

  constructor(opts: LivenessOptions, nowMs: number) {
    this.#timeouts = opts.timeouts ?? 3;
    this.#silenceMs = opts.silenceMs;
    this.#lastAnswerMs = nowMs;
  }

  /** A command got an answer (a reply or a Redis error: the connection is alive). */
  answered(nowMs: number): void {
    this.#inARow = 0;
    this.#lastAnswerMs = nowMs;
  }

  /** A command timed out; true when the connection should be dropped and reconnected. */
  timedOut(nowMs: number): boolean {
    this.#inARow++;
    if (this.#inARow < this.#timeouts || nowMs - this.#lastAnswerMs < this.#silenceMs) return false;
    // Start over: the reconnect gets its own chance.
    this.#inARow = 0;
    this.#lastAnswerMs = nowMs;
    return true;
  }
}
