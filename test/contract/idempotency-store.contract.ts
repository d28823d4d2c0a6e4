// The IdempotencyStore contract (PROTOCOL.md 3.4 layer 1, the HTTP response cache). The store
// under test must be configured with ttlMs 120 000 and claimTtlMs 30 000.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IdempotencyStore } from '../../dataplane/src/server/rest/idempotency.ts';
import { idempotencyCacheKey } from '../../dataplane/src/server/rest/idempotency.ts';
import { ManualClock, range, type StoreFactory, type StoreHarness, uniqueApp } from './harness.ts';

export function idempotencyStoreContract(name: string, makeStore: StoreFactory<IdempotencyStore>): void {
  describe(`IdempotencyStore contract: ${name} (ttl 120 s, claim ttl 30 s)`, () => {
    let clock: ManualClock;
    let h: StoreHarness<IdempotencyStore>;
    let store: IdempotencyStore;
    let key: string;

    beforeEach(async () => {
      clock = new ManualClock();
      h = await makeStore({ now: clock.now });
      store = h.store;
      key = idempotencyCacheKey(uniqueApp('idem'), 'k-1', 'event');
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const response = {
      status: 200,
      body: { channels: { 'private-ai-x': { message_serial: 'ms', history_serial: 7 } } },
    };

    it('claimed → in flight → done with the cached response', async () => {
      expect(await store.claim(key, clock.now())).toEqual({ state: 'claimed' });
      expect(await store.claim(key, clock.now())).toEqual({ state: 'in_flight' });
      await store.complete(key, response, clock.now());
      expect(await store.claim(key, clock.now())).toEqual({ state: 'done', response });
      expect(await store.claim(key, clock.now())).toEqual({ state: 'done', response });
    });

    it('gives exactly one claim under concurrency', async () => {
      const outs = await Promise.all(range(1, 50).map(() => store.claim(key, clock.now())));
      expect(outs.filter((o) => o.state === 'claimed')).toHaveLength(1);
      expect(outs.filter((o) => o.state === 'in_flight')).toHaveLength(49);
    });

    it('release lets a retry claim again, but never drops a finished response', async () => {
      await store.claim(key, clock.now());
      await store.release(key);
      expect(await store.claim(key, clock.now())).toEqual({ state: 'claimed' });
      await store.complete(key, response, clock.now());
      await store.release(key);
      expect(await store.claim(key, clock.now())).toEqual({ state: 'done', response });
    });

    it('treats a claim as abandoned after the claim TTL', async () => {
      await store.claim(key, clock.now());
      clock.advance(29_999);
      expect(await store.claim(key, clock.now())).toEqual({ state: 'in_flight' });
      clock.advance(1);
      expect(await store.claim(key, clock.now())).toEqual({ state: 'claimed' });
    });

    it('replays the response for the TTL, then forgets it', async () => {
      await store.claim(key, clock.now());
      await store.complete(key, response, clock.now());
      clock.advance(119_999);
      expect((await store.claim(key, clock.now())).state).toBe('done');
      clock.advance(1);
      expect(await store.claim(key, clock.now())).toEqual({ state: 'claimed' });
    });

    it('keeps keys, apps and the batch namespace apart (I1)', async () => {
      await store.claim(key, clock.now());
      await store.complete(key, response, clock.now());
      const app = uniqueApp('idem');
      const other = idempotencyCacheKey(uniqueApp('other'), 'k-1', 'event');
      expect(await store.claim(other, clock.now())).toEqual({ state: 'claimed' });
      expect(await store.claim(idempotencyCacheKey(app, 'k-1', 'batch'), clock.now())).toEqual({ state: 'claimed' });
      expect(await store.claim(idempotencyCacheKey(app, 'k-1', 'event'), clock.now())).toEqual({ state: 'claimed' });
    });

    it('round-trips response bodies of any JSON shape', async () => {
      const odd = { status: 201, body: ['a', 1, null, { 'ü|x': 'line\nbreak', n: 9007199254740991 }] };
      await store.claim(key, clock.now());
      await store.complete(key, odd, clock.now());
      expect(await store.claim(key, clock.now())).toEqual({ state: 'done', response: odd });
    });
  });
}
