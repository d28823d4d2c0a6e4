import { describe, expect, it } from 'vitest';
import { TokenBucket } from './rate-limit.ts';

describe('TokenBucket', () => {
  it('allows the per-second rate as a burst, then refills over time', () => {
    const b = new TokenBucket(10, 0);
    let ok = 0;
    for (let i = 0; i < 20; i++) if (b.take(0)) ok++;
    expect(ok).toBe(10);
    expect(b.take(50)).toBe(false);
    expect(b.take(100)).toBe(true); // 100 ms at 10/s = 1 token
    expect(b.take(100)).toBe(false);
    expect(b.take(10_000)).toBe(true);
  });
  it('0 means unlimited', () => {
    const b = new TokenBucket(0, 0);
    for (let i = 0; i < 1000; i++) expect(b.take(0)).toBe(true);
  });
  it('ignores a clock going backwards', () => {
    const b = new TokenBucket(1, 1000);
    expect(b.take(1000)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.take(1500)).toBe(false);
    expect(b.take(2000)).toBe(true);
  });
});
