import { describe, expect, it } from 'vitest';
import { AitError } from '../../protocol/errors.ts';
import { idempotencyCacheKey, MemoryIdempotencyStore, runIdempotent } from './idempotency.ts';

function deps(store = new MemoryIdempotencyStore(), clock = { t: 0 }) {
  const sleep = async (ms: number) => {
    clock.t += ms;
  };
  return { store, now: () => clock.t, sleep };
}

describe('MemoryIdempotencyStore', () => {
  it('claims once, reports in-flight, then replays the completed response until the TTL', async () => {
    const s = new MemoryIdempotencyStore({ ttlMs: 1000 });
    expect(await s.claim('k', 0)).toEqual({ state: 'claimed' });
    expect(await s.claim('k', 1)).toEqual({ state: 'in_flight' });
    await s.complete('k', { status: 200, body: { ok: true } }, 2);
    expect(await s.claim('k', 500)).toEqual({ state: 'done', response: { status: 200, body: { ok: true } } });
    expect(await s.claim('k', 1002)).toEqual({ state: 'claimed' });
  });

  it('lets a released claim be taken again, and expires abandoned claims', async () => {
    const s = new MemoryIdempotencyStore({ claimTtlMs: 100 });
    await s.claim('k', 0);
    await s.release('k');
    expect(await s.claim('k', 1)).toEqual({ state: 'claimed' });
    expect(await s.claim('k', 50)).toEqual({ state: 'in_flight' });
    expect(await s.claim('k', 200)).toEqual({ state: 'claimed' });
  });

  it('stays within maxEntries, evicting the oldest', async () => {
    const s = new MemoryIdempotencyStore({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c', 'd']) await s.complete(k, { status: 200, body: k }, 0);
    expect(s.size).toBe(3);
    expect(await s.claim('a', 1)).toEqual({ state: 'claimed' });
    expect((await s.claim('d', 1)).state).toBe('done');
  });

  it('scopes keys by app', () => {
    expect(idempotencyCacheKey('a', 'k', 'event')).toBe('app:a:idempotency:k');
    expect(idempotencyCacheKey('b', 'k', 'event')).not.toBe(idempotencyCacheKey('a', 'k', 'event'));
    expect(idempotencyCacheKey('a', 'k', 'batch')).toBe('app:a:batch-idempotency:k');
  });
});

describe('runIdempotent', () => {
  it('runs the work once and replays it', async () => {
    const d = deps();
    let runs = 0;
    const work = async () => ({ status: 200, body: { n: ++runs } });
    expect(await runIdempotent(d, 'k', work)).toEqual({ response: { status: 200, body: { n: 1 } }, replayed: false });
    expect(await runIdempotent(d, 'k', work)).toEqual({ response: { status: 200, body: { n: 1 } }, replayed: true });
    expect(runs).toBe(1);
  });

  it('waits for a concurrent duplicate and replays its result', async () => {
    const store = new MemoryIdempotencyStore();
    await store.claim('k', 0);
    const clock = { t: 0 };
    const d = {
      store,
      now: () => clock.t,
      sleep: async (ms: number) => {
        clock.t += ms;
        if (clock.t >= 100) await store.complete('k', { status: 200, body: 'first' }, clock.t);
      },
    };
    const r = await runIdempotent(d, 'k', async () => ({ status: 200, body: 'second' }));
    expect(r).toEqual({ response: { status: 200, body: 'first' }, replayed: true });
  });

  it('answers 503 backpressure with Retry-After 1 when the duplicate stays in flight', async () => {
    const store = new MemoryIdempotencyStore();
    await store.claim('k', 0);
    const err = await runIdempotent(deps(store), 'k', async () => ({ status: 200, body: 1 })).catch((e) => e);
    expect(err).toBeInstanceOf(AitError);
    expect(err.httpBody()).toMatchObject({ code: 'backpressure', status: 503 });
    expect(err.retryAfterSeconds).toBe(1);
  });

  it('does not cache failures', async () => {
    const d = deps();
    await expect(runIdempotent(d, 'k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await runIdempotent(d, 'k', async () => ({ status: 200, body: 'ok' }))).toMatchObject({ replayed: false });
  });

  it('maps a store failure to 503 service_unavailable', async () => {
    const broken = {
      claim: async () => Promise.reject(new Error('down')),
      complete: async () => {},
      release: async () => {},
    };
    const err = await runIdempotent(deps(broken as never), 'k', async () => ({ status: 200, body: 1 })).catch((e) => e);
    expect(err.httpBody()).toMatchObject({ code: 'service_unavailable', status: 503 });
  });
});
