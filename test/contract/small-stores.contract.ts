// Contracts of the small shared-state stores: publish idempotency claims (layer 2), single-runner
// claims (orphan janitor), the active-stream registry, and the hot replay buffer.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HotReplayBuffer } from '../../dataplane/src/history/hot-buffer.ts';
import type {
  ActiveStreamRegistry,
  ClaimStore,
  PublishClaimStore,
  PublishReceipt,
} from '../../dataplane/src/stores/types.ts';
import { orphanClaimName } from '../../dataplane/src/stores/types.ts';
import { ManualClock, range, type StoreFactory, type StoreHarness, uniqueApp } from './harness.ts';

function useHarness<S>(makeStore: StoreFactory<S>) {
  const ctx = {} as { clock: ManualClock; h: StoreHarness<S>; store: S; app: string };
  beforeEach(async () => {
    ctx.clock = new ManualClock();
    ctx.h = await makeStore({ now: ctx.clock.now });
    ctx.store = ctx.h.store;
    ctx.app = uniqueApp('small');
  });
  afterEach(async () => {
    await ctx.h.cleanup();
  });
  return ctx;
}

const RECEIPT: PublishReceipt = {
  acknowledgementId: 'ack-1',
  messageSerial: 'ms-1',
  historySerial: 7,
  deliverySerial: 9,
};

export function publishClaimStoreContract(name: string, makeStore: StoreFactory<PublishClaimStore>): void {
  describe(`PublishClaimStore contract: ${name}`, () => {
    const t = useHarness(makeStore);
    const ch = 'private-ai-x';

    it('new → pending → committed, with the same fingerprint', async () => {
      const { store, app } = t;
      expect((await store.claim(app, ch, 'k', 'fp', 'node-a', 5000)).status).toBe('new');
      expect(await store.claim(app, ch, 'k', 'fp', 'node-b', 5000)).toMatchObject({
        status: 'pending',
        owner: 'node-a',
      });
      expect(await store.commit(app, ch, 'k', 'fp', 'node-a', RECEIPT, 60_000)).toEqual({ status: 'committed' });
      expect(await store.claim(app, ch, 'k', 'fp', 'node-b', 5000)).toEqual({ status: 'committed', receipt: RECEIPT });
    });

    it('conflicts on another fingerprint, pending or committed', async () => {
      const { store, app } = t;
      await store.claim(app, ch, 'k', 'fp', 'node-a', 5000);
      expect(await store.claim(app, ch, 'k', 'other', 'node-b', 5000)).toEqual({ status: 'conflict' });
      await store.commit(app, ch, 'k', 'fp', 'node-a', RECEIPT, 60_000);
      expect(await store.claim(app, ch, 'k', 'other', 'node-b', 5000)).toEqual({ status: 'conflict' });
      expect(await store.commit(app, ch, 'k', 'other', 'node-b', RECEIPT, 60_000)).toEqual({ status: 'conflict' });
    });

    it('gives exactly one new claim under concurrency', async () => {
      const { store, app } = t;
      const outs = await Promise.all(range(1, 50).map((i) => store.claim(app, ch, 'k', 'fp', `n${i}`, 5000)));
      expect(outs.filter((o) => o.status === 'new')).toHaveLength(1);
      expect(outs.filter((o) => o.status === 'pending')).toHaveLength(49);
    });

    it('expires pending claims and committed receipts by TTL', async () => {
      const { store, app, clock } = t;
      await store.claim(app, ch, 'k', 'fp', 'node-a', 5000);
      clock.advance(5000);
      expect((await store.claim(app, ch, 'k', 'fp', 'node-b', 5000)).status).toBe('new');
      // node-a's late commit: node-b holds the key now.
      expect(await store.commit(app, ch, 'k', 'fp', 'node-a', RECEIPT, 60_000)).toEqual({
        status: 'claimed_by_other',
        owner: 'node-b',
      });
      await store.commit(app, ch, 'k', 'fp', 'node-b', RECEIPT, 60_000);
      clock.advance(59_999);
      expect((await store.claim(app, ch, 'k', 'fp', 'node-c', 5000)).status).toBe('committed');
      clock.advance(1);
      expect((await store.claim(app, ch, 'k', 'fp', 'node-c', 5000)).status).toBe('new');
    });

    it('keeps the first receipt and releases only the owner’s pending claim', async () => {
      const { store, app } = t;
      await store.claim(app, ch, 'k', 'fp', 'node-a', 5000);
      expect(await store.release(app, ch, 'k', 'node-b')).toBe(false);
      expect(await store.release(app, ch, 'k', 'node-a')).toBe(true);
      expect((await store.claim(app, ch, 'k', 'fp', 'node-b', 5000)).status).toBe('new');
      await store.commit(app, ch, 'k', 'fp', 'node-b', RECEIPT, 60_000);
      expect(await store.release(app, ch, 'k', 'node-b')).toBe(false);
      expect(
        await store.commit(app, ch, 'k', 'fp', 'node-b', { ...RECEIPT, acknowledgementId: 'ack-2' }, 60_000),
      ).toEqual({ status: 'already_committed', receipt: RECEIPT });
    });

    it('scopes keys by app and channel (I1)', async () => {
      const { store, app } = t;
      const other = uniqueApp('other');
      await store.claim(app, ch, 'k', 'fp', 'node-a', 5000);
      expect((await store.claim(other, ch, 'k', 'fp2', 'node-a', 5000)).status).toBe('new');
      expect((await store.claim(app, 'another', 'k', 'fp2', 'node-a', 5000)).status).toBe('new');
    });
  });
}

export function claimStoreContract(name: string, makeStore: StoreFactory<ClaimStore>): void {
  describe(`ClaimStore contract: ${name}`, () => {
    const t = useHarness(makeStore);
    const item = orphanClaimName('private-ai-x', 'ms-1');

    it('lets exactly one of many concurrent claimants win', async () => {
      const { store, app } = t;
      const outs = await Promise.all(range(1, 50).map((i) => store.tryClaim(app, item, `node-${i}:1`, 120_000)));
      const winners = outs.filter((o) => o.claimed);
      expect(winners).toHaveLength(1);
      const winner = `node-${outs.findIndex((o) => o.claimed) + 1}:1`;
      for (const o of outs) if (!o.claimed) expect(o.owner).toBe(winner);
    });

    it('refuses everyone, the owner included, until the TTL passes', async () => {
      const { store, app, clock } = t;
      expect((await store.tryClaim(app, item, 'a', 1000)).claimed).toBe(true);
      clock.advance(999);
      expect(await store.tryClaim(app, item, 'a', 1000)).toMatchObject({ claimed: false, owner: 'a' });
      expect((await store.tryClaim(app, item, 'b', 1000)).claimed).toBe(false);
      clock.advance(1);
      expect((await store.tryClaim(app, item, 'b', 1000)).claimed).toBe(true);
    });

    it('releases only the owner’s claim', async () => {
      const { store, app } = t;
      await store.tryClaim(app, item, 'a', 60_000);
      expect(await store.release(app, item, 'b')).toBe(false);
      expect(await store.release(app, item, 'a')).toBe(true);
      expect((await store.tryClaim(app, item, 'b', 60_000)).claimed).toBe(true);
    });

    it('scopes claims by app and item (I1)', async () => {
      const { store, app } = t;
      await store.tryClaim(app, item, 'a', 60_000);
      expect((await store.tryClaim(uniqueApp('o'), item, 'a', 60_000)).claimed).toBe(true);
      expect((await store.tryClaim(app, orphanClaimName('private-ai-x', 'ms-2'), 'a', 60_000)).claimed).toBe(true);
    });
  });
}

export function activeStreamRegistryContract(name: string, makeStore: StoreFactory<ActiveStreamRegistry>): void {
  describe(`ActiveStreamRegistry contract: ${name}`, () => {
    const t = useHarness(makeStore);
    const ch = 'private-ai-x';
    const entry = (ms: string, delivery = 1, appId?: string) => ({
      appId: appId ?? t.app,
      channel: ch,
      messageSerial: ms,
      versionSerial: `v-${delivery}`,
      historySerial: 1,
      deliverySerial: delivery,
    });

    it('upserts, reads, counts and removes', async () => {
      const { store, app, clock } = t;
      expect(await store.upsert(entry('a'), 180_000)).toBe(true);
      await store.upsert(entry('b'), 180_000);
      expect(await store.count(app, ch)).toBe(2);
      clock.advance(10);
      await store.upsert(entry('a', 2), 180_000);
      expect(await store.get(app, ch, 'a')).toMatchObject({
        deliverySerial: 2,
        versionSerial: 'v-2',
        lastSeenMs: clock.now(),
      });
      expect(await store.count(app, ch)).toBe(2);
      expect(await store.remove(app, ch, 'a')).toBe(true);
      expect(await store.remove(app, ch, 'a')).toBe(false);
      expect(await store.get(app, ch, 'a')).toBeUndefined();
      expect(await store.count(app, ch)).toBe(1);
    });

    it('never rolls an entry back to an older delivery serial', async () => {
      const { store, app } = t;
      await store.upsert(entry('a', 5), 180_000);
      expect(await store.upsert(entry('a', 4), 180_000)).toBe(false);
      expect((await store.get(app, ch, 'a'))?.deliverySerial).toBe(5);
      expect(await store.remove(app, ch, 'a', 4)).toBe(false);
      expect(await store.remove(app, ch, 'a', 5)).toBe(true);
    });

    it('lists idle entries oldest first, bounded by the cutoff and the limit', async () => {
      const { store, clock } = t;
      for (const ms of ['a', 'b', 'c', 'd']) {
        await store.upsert(entry(ms), 180_000);
        clock.advance(1000);
      }
      const t0 = clock.now() - 4000; // a at t0, b at t0+1000, …
      await store.upsert(entry('a', 2), 180_000); // a is fresh again
      const idle = await store.listIdle(t0 + 1000, 100);
      expect(idle.map((e) => e.messageSerial)).toEqual(['b']);
      const more = await store.listIdle(t0 + 3000, 100);
      expect(more.map((e) => e.messageSerial)).toEqual(['b', 'c', 'd']);
      expect((await store.listIdle(t0 + 3000, 2)).map((e) => e.messageSerial)).toEqual(['b', 'c']);
    });

    it('expires entries by TTL', async () => {
      const { store, app, clock } = t;
      await store.upsert(entry('a'), 1000);
      clock.advance(1000);
      expect(await store.get(app, ch, 'a')).toBeUndefined();
      expect(await store.listIdle(clock.now(), 100)).toEqual([]);
      expect(await store.count(app, ch)).toBe(0);
    });

    it('keeps apps apart (I1)', async () => {
      const { store, app } = t;
      const other = uniqueApp('o');
      await store.upsert(entry('a', 1, other), 180_000);
      expect(await store.get(app, ch, 'a')).toBeUndefined();
      expect(await store.count(app, ch)).toBe(0);
      expect(await store.count(other, ch)).toBe(1);
    });
  });
}

/** The hot buffer under test must be configured with maxMessages 5 and ttlMs 10 000. */
export function hotReplayBufferContract(name: string, makeStore: StoreFactory<HotReplayBuffer>): void {
  describe(`HotReplayBuffer contract: ${name} (maxMessages 5, ttl 10 s)`, () => {
    const t = useHarness(makeStore);
    const ch = 'private-ai-x';
    const push = (serial: number, streamId = 's1', appId?: string) =>
      t.store.push(appId ?? t.app, ch, { serial, streamId, messageId: `m${serial}`, frame: `{"serial":${serial}}` });

    it('returns frames after a serial, in order, bounded by max', async () => {
      const { store, app } = t;
      for (const s of [1, 2, 3, 4]) await push(s);
      const snap = await store.after(app, ch, 1, 100);
      expect(snap).toMatchObject({ streamId: 's1', oldestSerial: 1, newestSerial: 4 });
      expect(snap.entries.map((e) => e.serial)).toEqual([2, 3, 4]);
      expect(snap.entries[0]).toMatchObject({ messageId: 'm2', frame: '{"serial":2}' });
      expect((await store.after(app, ch, 0, 2)).entries.map((e) => e.serial)).toEqual([1, 2]);
      expect((await store.after(app, ch, 4, 100)).entries).toEqual([]);
    });

    it('keeps at most maxMessages frames and drops expired ones', async () => {
      const { store, app, clock } = t;
      for (const s of range(1, 8)) await push(s);
      expect(await store.after(app, ch, 0, 100)).toMatchObject({ oldestSerial: 4, newestSerial: 8 });
      clock.advance(10_000);
      expect(await store.after(app, ch, 0, 100)).toMatchObject({ oldestSerial: null, newestSerial: null, entries: [] });
    });

    it('ignores stale serials and restarts on a new stream id', async () => {
      const { store, app } = t;
      await push(1);
      await push(2);
      expect(await push(2)).toBe('ignored');
      expect(await push(1, 's2')).toBe('reset');
      expect(await store.after(app, ch, 0, 100)).toMatchObject({ streamId: 's2', oldestSerial: 1, newestSerial: 1 });
    });

    it('is empty for an unknown channel and keeps apps apart', async () => {
      const { store } = t;
      await push(1);
      const other = uniqueApp('o');
      expect(await store.after(other, ch, 0, 100)).toEqual({
        streamId: null,
        oldestSerial: null,
        newestSerial: null,
        entries: [],
      });
      await store.clear(t.app, ch);
      expect((await store.after(t.app, ch, 0, 100)).streamId).toBeNull();
    });
  });
}
