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

describe('DrainController closeAfterMs and pending flushes', () => {
  it('turns draining on at once and closes the first batch only after closeAfterMs', () => {
    vi.useFakeTimers();
    const { d, batches } = setup(3);
    const s = d.start({ closeAfterMs: 500 });
    expect(d.draining).toBe(true);
    expect(s).toMatchObject({ state: 'draining', closedConnections: 0, closingFromMs: s.startedAtMs + 500 });
    vi.advanceTimersByTime(499);
    expect(batches).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(batches).toEqual([2]);
    d.stop();
  });

  it('reports the work still to flush, live', () => {
    let pending = 3;
    const d = new DrainController({
      now: () => Date.now(),
      remaining: () => 0,
      closeBatch: () => 0,
      defaults: { batchSize: 1, batchIntervalMs: 10 },
      pendingFlushes: () => pending,
    });
    expect(d.start().pendingFlushes).toBe(3);
    pending = 0;
    expect(d.status()?.pendingFlushes).toBe(0);
  });
});
