import { describe, expect, it } from 'vitest';
import { drainBudgetMs } from './node.ts';

describe('drainBudgetMs', () => {
  it('keeps a margin of 20 %, at least 0.5 s and at most 5 s, inside the grace period', () => {
    expect(drainBudgetMs(30)).toBe(25_000);
    expect(drainBudgetMs(60)).toBe(55_000);
    expect(drainBudgetMs(10)).toBe(8_000);
    expect(drainBudgetMs(2)).toBe(1_500);
    expect(drainBudgetMs(1)).toBe(500);
  });
});
