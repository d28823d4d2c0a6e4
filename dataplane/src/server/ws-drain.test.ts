import { afterEach, describe, expect, it, vi } from 'vitest';
import { DrainController } from './ws-drain.ts';

afterEach(() => {
  vi.useRealTimers();
});

function setup(open: number) {
  let remaining = open;
  const batches: number[] = [];
  const d = new DrainController({
    now: () => Date.now(),
    remaining: () => remaining,
    closeBatch: (n) => {
      const k = Math.min(n, remaining);
      remaining -= k;
      batches.push(k);
      return k;
    },
    defaults: { batchSize: 2, batchIntervalMs: 1000 },
  });
  return { d, batches, setRemaining: (n: number) => (remaining = n) };
}

describe('DrainController', () => {
  it('closes in batches on its interval until none remain', () => {
    vi.useFakeTimers();
    const { d, batches } = setup(5);
    expect(d.start()).toMatchObject({ state: 'draining', closedConnections: 2, remainingConnections: 3 });
    vi.advanceTimersByTime(999);
    expect(batches).toEqual([2]);
    vi.advanceTimersByTime(1);
    expect(batches).toEqual([2, 2]);
    vi.advanceTimersByTime(1000);
    expect(batches).toEqual([2, 2, 1]);
    expect(d.status()).toMatchObject({ state: 'drained', closedConnections: 5, remainingConnections: 0 });
    vi.advanceTimersByTime(5000);
    expect(batches).toEqual([2, 2, 1]);
  });

  it('honours the request and is idempotent', () => {
    vi.useFakeTimers();
    const { d, batches } = setup(10);
    d.start({ batchSize: 4, batchIntervalMs: 10 });
    d.start({ batchSize: 1 });
    vi.advanceTimersByTime(10);
    expect(batches).toEqual([4, 4]);
    d.stop();
  });

  it('wait resolves at zero or at the deadline (absolute or relative)', async () => {
    vi.useFakeTimers();
    const { d, setRemaining } = setup(1);
    let done = false;
    void d.wait(Date.now() + 10_000).then(() => {
      done = true;
    });
    setRemaining(0);
    d.notify();
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
    setRemaining(1);
    let late = false;
    void d.wait(500).then(() => {
      late = true;
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(late).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(late).toBe(true);
  });
});
