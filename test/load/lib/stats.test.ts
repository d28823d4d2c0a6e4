import { describe, expect, it } from 'vitest';
import { lowestPerKey, percentile, round3, summarize } from './stats.ts';

describe('benchmark statistics', () => {
  it('uses nearest-rank percentiles', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile(sorted, 1)).toBe(100);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile(new Float64Array(), 0.5)).toBeNaN();
  });

  it('summarizes unsorted input without mutating it', () => {
    const input = [5, 1, 4, 2, 3];
    const s = summarize(input);
    expect(s).toMatchObject({ count: 5, min: 1, max: 5, p50: 3, mean: 3 });
    expect(input).toEqual([5, 1, 4, 2, 3]);
  });

  it('rounds numbers deep inside a report', () => {
    expect(round3({ a: 1.23456, b: [2.0004] })).toEqual({ a: 1.235, b: [2] });
  });

  it('keeps the cheapest item per key, in first-seen key order', () => {
    const rounds = [
      { target: 'a', cost: 3 },
      { target: 'b', cost: Number.NaN },
      { target: 'a', cost: 2 },
      { target: 'b', cost: 5 },
      { target: 'a', cost: 2 },
    ];
    const best = lowestPerKey(
      rounds,
      (r) => r.target,
      (r) => r.cost,
    );
    expect(best).toEqual([
      { target: 'a', cost: 2 },
      { target: 'b', cost: 5 },
    ]);
    expect(best[0]).toBe(rounds[2]);
  });
});
