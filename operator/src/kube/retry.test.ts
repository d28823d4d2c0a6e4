import { describe, expect, it } from 'vitest';
import { KubeApiError, KubeTimeoutError } from './errors.ts';
import { FakeClock } from './fake-clock.ts';
import { backoffDelay, withRetry } from './retry.ts';

const status = (code: number, reason = 'X') => new KubeApiError('GET', '/x', code, { reason, message: 'm' });

describe('backoffDelay (full jitter)', () => {
  it('draws from [0, min(max, base·2^attempt))', () => {
    const o = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, o, () => 0.999)).toBe(99);
    expect(backoffDelay(3, o, () => 0.5)).toBe(400);
    expect(backoffDelay(10, o, () => 0.999)).toBe(999);
    expect(backoffDelay(2, o, () => 0)).toBe(0);
  });
});

describe('withRetry', () => {
  const run = async (errors: unknown[], attempts = 5) => {
    const clock = new FakeClock();
    const delays: number[] = [];
    let calls = 0;
    const p = withRetry(
      async () => {
        const e = errors[calls++];
        if (e) throw e;
        return 'ok';
      },
      {
        attempts,
        baseMs: 100,
        maxMs: 1000,
        clock,
        random: () => 0.5,
        onRetry: (_e, _a, d) => delays.push(d),
      },
    );
    const settled = p.then(
      (v) => ({ v }),
      (e: unknown) => ({ e }),
    );
    for (let i = 0; i < 10; i++) await clock.advance(1000);
    return { result: await settled, calls, delays };
  };

  it('retries 429, 5xx, timeouts and network errors with growing delays', async () => {
    const net = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const r = await run([status(503), status(429), new KubeTimeoutError('GET', '/x', 10), net]);
    expect(r.result).toEqual({ v: 'ok' });
    expect(r.calls).toBe(5);
    expect(r.delays).toEqual([50, 100, 200, 400]);
  });

  it('never retries validation, conflict, not-found or forbidden errors', async () => {
    for (const code of [400, 403, 404, 409, 422]) {
      const r = await run([status(code)]);
      expect(r.calls).toBe(1);
      expect((r.result as { e: KubeApiError }).e.status).toBe(code);
    }
  });

  it('gives up after the attempt budget with the last error', async () => {
    const r = await run([status(500), status(502), status(504)], 3);
    expect(r.calls).toBe(3);
    expect((r.result as { e: KubeApiError }).e.status).toBe(504);
  });

  it('waits at least Retry-After (capped by maxMs)', async () => {
    const clock = new FakeClock();
    const delays: number[] = [];
    let calls = 0;
    const p = withRetry(
      async () => {
        if (calls++ === 0) throw new KubeApiError('GET', '/x', 429, { reason: 'TooManyRequests' }, 5000);
        return 1;
      },
      { attempts: 3, baseMs: 10, maxMs: 2000, clock, random: () => 0, onRetry: (_e, _a, d) => delays.push(d) },
    );
    await clock.advance(2000);
    await expect(p).resolves.toBe(1);
    expect(delays).toEqual([2000]);
  });
});
