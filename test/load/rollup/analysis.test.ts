import { describe, expect, it } from 'vitest';
import {
  formatToken,
  framesPerSecondBound,
  judgePhase,
  type StreamExpectation,
  type StreamObservation,
  sha256,
  tokenTimes,
} from './analysis.ts';

describe('B2 token format', () => {
  it('reads the send times of the oldest and newest token of a coalesced fragment', () => {
    const fragment = formatToken(100n) + formatToken(250n) + formatToken(12345678901234567n);
    expect(tokenTimes(fragment)).toEqual({ oldestNs: 100n, newestNs: 12345678901234567n });
    expect(tokenTimes(formatToken(7n))).toEqual({ oldestNs: 7n, newestNs: 7n });
  });

  it('has no times for a fragment without a well-formed token', () => {
    expect(tokenTimes('')).toBeUndefined();
    expect(tokenTimes('plain text')).toBeUndefined();
    expect(tokenTimes('~12x ')).toBeUndefined();
  });
});

describe('B2 verdicts', () => {
  const text = 'abc';
  const want: StreamExpectation = { appends: 11, sha256: sha256(text), length: text.length };
  const seen = (o: Partial<StreamObservation> = {}): StreamObservation => ({
    appendFrames: 11,
    firstFrameMs: 0,
    lastFrameMs: 10_000,
    complete: true,
    sha256: sha256(text),
    length: text.length,
    ...o,
  });
  const one = (w: number, o: Partial<StreamObservation> = {}) =>
    judgePhase(w, new Map([['m1', want]]), [{ streams: ['m1'], seen: { m1: seen(o) } }]);

  it('bounds frames per second by 1000/W + 2', () => {
    expect(framesPerSecondBound(40)).toBe(27);
    expect(framesPerSecondBound(0)).toBe(Number.POSITIVE_INFINITY);
    // 250 frames over 10 s at W = 40: within the bound and the strict lifetime bound (10000/40 + 2).
    const ok = one(40, { appendFrames: 250 });
    expect(ok.framesBoundViolations).toBe(0);
    expect(ok.framesPerStreamPerSecond.max).toBe(25);
    expect(ok.maxExcessOverLifetimeBound).toBe(-2);
    expect(one(40, { appendFrames: 280 }).framesBoundViolations).toBe(1);
  });

  it('expects one frame per append at W = 0', () => {
    expect(one(0).framesBoundViolations).toBe(0);
    expect(one(0, { appendFrames: 10 }).framesBoundViolations).toBe(1);
    expect(one(0).maxExcessOverLifetimeBound).toBeNaN();
  });

  it('counts transcripts that differ, and streams a subscriber never saw, as mismatches', () => {
    expect(one(40).transcriptMismatches).toBe(0);
    expect(one(40, { sha256: sha256('abd') }).transcriptMismatches).toBe(1);
    expect(one(40, { length: 2 }).transcriptMismatches).toBe(1);
    const missing = judgePhase(40, new Map([['m1', want]]), [{ streams: ['m1'], seen: {} }]);
    expect(missing).toMatchObject({ transcriptMismatches: 1, incomplete: 1 });
    expect(one(40, { complete: false })).toMatchObject({ transcriptMismatches: 0, incomplete: 1 });
  });
});
