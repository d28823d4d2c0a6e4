// Pure parts of benchmark B2 (rollup fanout): the token format that carries the producer's
// send time, the frame-rate bound of decision 7, and the per-phase verdicts computed from what
// subscribers observed. The I/O lives in bench.ts and subscribers.ts.
import { createHash } from 'node:crypto';

/**
 * A token is `~<hrtime ns> `: the producer's process.hrtime.bigint() when it sent the append
 * (CLOCK_MONOTONIC, shared by every process on the machine). A delta frame carries the
 * concatenation of the tokens it coalesced, oldest first.
 */
export function formatToken(sentAtNs: bigint): string {
  return `~${sentAtNs} `;
}

/** Send times of the oldest and newest token in a fragment (undefined when it has none). */
export function tokenTimes(fragment: string): { oldestNs: bigint; newestNs: bigint } | undefined {
  const first = fragment.indexOf('~');
  if (first < 0) return undefined;
  const last = fragment.lastIndexOf('~');
  const at = (i: number): bigint | undefined => {
    const end = fragment.indexOf(' ', i);
    const digits = fragment.slice(i + 1, end < 0 ? undefined : end);
    return /^\d+$/.test(digits) ? BigInt(digits) : undefined;
  };
  const oldestNs = at(first);
  const newestNs = at(last);
  return oldestNs === undefined || newestNs === undefined ? undefined : { oldestNs, newestNs };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Decision 7: over a life of D ms, a stream at window W gets at most D/W + 2 frames (one per W,
 * plus the first and the terminal one); as a rate for streams of a second or more, at most
 * 1000/W + 2 frames per second (W > 0).
 */
export function framesPerSecondBound(windowMs: number): number {
  return windowMs > 0 ? 1000 / windowMs + 2 : Number.POSITIVE_INFINITY;
}

/** What one subscriber saw of one stream. */
export interface StreamObservation {
  /** `sockudo:message.append` frames received (the terminal append included). */
  appendFrames: number;
  /** Receive times (ms, monotonic) of its first and last append frame. */
  firstFrameMs: number;
  lastFrameMs: number;
  /** The terminal append (status complete) arrived. */
  complete: boolean;
  /** sha256 and length of the text the subscriber's MessageReducer ended with. */
  sha256: string;
  length: number;
}

/** What the producer sent on one stream. */
export interface StreamExpectation {
  /** Appends applied, the terminal append included. */
  appends: number;
  sha256: string;
  length: number;
}

export interface PhaseVerdict {
  /** (subscriber, stream) pairs whose reduced text differs from what the producer sent, or is missing. */
  transcriptMismatches: number;
  /** Pairs over the frame bound: W > 0, more than 1000/W + 2 frames per second; W = 0, not one frame per append. */
  framesBoundViolations: number;
  /** Pairs that never saw their stream's terminal append. */
  incomplete: number;
  framesPerStreamPerSecond: { mean: number; max: number };
  /**
   * W > 0: the largest `frames − (span/W + 2)` over pairs, span = first to last frame as the
   * subscriber saw it (≤ 0 when the strict lifetime bound held; receive jitter can add a frame).
   */
  maxExcessOverLifetimeBound: number;
}

/**
 * Judges one phase. `observed` maps each subscriber to what it saw per stream (by message
 * serial); every subscriber is expected to see every stream of `expected` it was subscribed to
 * (`streamsOf`).
 */
export function judgePhase(
  windowMs: number,
  expected: ReadonlyMap<string, StreamExpectation>,
  observed: ReadonlyArray<{ streams: readonly string[]; seen: Readonly<Record<string, StreamObservation>> }>,
): PhaseVerdict {
  let mismatches = 0;
  let violations = 0;
  let incomplete = 0;
  let rateSum = 0;
  let rateMax = 0;
  let pairs = 0;
  let excess = Number.NEGATIVE_INFINITY;
  const bound = framesPerSecondBound(windowMs);
  for (const sub of observed) {
    for (const ms of sub.streams) {
      const want = expected.get(ms);
      const got = sub.seen[ms];
      if (!want || !got) {
        mismatches++;
        incomplete++;
        continue;
      }
      if (got.sha256 !== want.sha256 || got.length !== want.length) mismatches++;
      if (!got.complete) incomplete++;
      const spanMs = got.lastFrameMs - got.firstFrameMs;
      // The per-second form of the bound holds for streams of a second or more.
      const rate = got.appendFrames / Math.max(1, spanMs / 1000);
      if (windowMs > 0) excess = Math.max(excess, got.appendFrames - (spanMs / windowMs + 2));
      pairs++;
      rateSum += rate;
      rateMax = Math.max(rateMax, rate);
      if (windowMs > 0 ? rate > bound : got.appendFrames !== want.appends) violations++;
    }
  }
  return {
    transcriptMismatches: mismatches,
    framesBoundViolations: violations,
    incomplete,
    framesPerStreamPerSecond: { mean: pairs > 0 ? rateSum / pairs : Number.NaN, max: rateMax },
    maxExcessOverLifetimeBound: windowMs > 0 && pairs > 0 ? excess : Number.NaN,
  };
}
