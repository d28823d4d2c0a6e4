import { describe, expect, it } from 'vitest';
import { ConnectionLiveness } from './liveness.ts';

describe('ConnectionLiveness', () => {
  it('takes a connection for dead after timeouts in a row and a long silence', () => {
    const l = new ConnectionLiveness({ timeouts: 3, silenceMs: 3000 }, 0);
    expect(l.timedOut(1000)).toBe(false);
    expect(l.timedOut(2000)).toBe(false);
    expect(l.timedOut(3000)).toBe(true);
    // The reconnect starts a fresh count.
    expect(l.timedOut(4000)).toBe(false);
  });

  it('never trips while other commands still get answers', () => {
    const l = new ConnectionLiveness({ timeouts: 3, silenceMs: 3000 }, 0);
    for (let t = 1000; t < 20_000; t += 1000) {
      expect(l.timedOut(t)).toBe(false);
      expect(l.timedOut(t + 10)).toBe(false);
      l.answered(t + 20);
    }
  });

  it('does not trip on a burst of timeouts shorter than the silence', () => {
    const l = new ConnectionLiveness({ timeouts: 3, silenceMs: 3000 }, 0);
    for (let i = 0; i < 10; i++) expect(l.timedOut(100 + i)).toBe(false);
    expect(l.timedOut(3100)).toBe(true);
  });
});
