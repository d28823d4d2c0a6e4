import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.ts';

describe('RateLimiter', () => {
  it('allows a burst of one second, then refuses with Retry-After', () => {
    const rl = new RateLimiter();
    for (let i = 0; i < 3; i++) expect(rl.check('a', 3, 1000).allowed).toBe(true);
    expect(rl.check('a', 3, 1000)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('refills continuously', () => {
    const rl = new RateLimiter();
    for (let i = 0; i < 2; i++) rl.check('a', 2, 0);
    expect(rl.check('a', 2, 100).allowed).toBe(false);
    expect(rl.check('a', 2, 600).allowed).toBe(true);
  });

  it('keeps apps apart and treats 0 as unlimited', () => {
    const rl = new RateLimiter();
    expect(rl.check('a', 1, 0).allowed).toBe(true);
    expect(rl.check('a', 1, 0).allowed).toBe(false);
    expect(rl.check('b', 1, 0).allowed).toBe(true);
    for (let i = 0; i < 1000; i++) expect(rl.check('c', 0, 0).allowed).toBe(true);
  });

  it('rounds Retry-After up to whole seconds for slow limits', () => {
    const rl = new RateLimiter();
    // 1 per second: empty bucket needs a full second.
    rl.check('a', 1, 0);
    expect(rl.check('a', 1, 0).retryAfterSeconds).toBe(1);
  });
});
