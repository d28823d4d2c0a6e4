// The VersionStore contract, driven through the real mutation rules (`messages/mutations.ts`):
// snapshot → applyMutation → commit (CAS), retrying on conflict, exactly as the service will.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommitOutcome, VersionStore } from '../../dataplane/src/history/version-store.ts';
import type { Aggregate } from '../../dataplane/src/messages/model.ts';
import { applyMutation, type MutationInput, NO_LIMITS } from '../../dataplane/src/messages/mutations.ts';
import { SerialGenerator } from '../../dataplane/src/messages/serials.ts';
import { ManualClock, range, type StoreFactory, type StoreHarness, uniqueApp } from './harness.ts';

export function versionStoreContract(name: string, makeStore: StoreFactory<VersionStore>): void {
  describe(`VersionStore contract: ${name}`, () => {
    let clock: ManualClock;
    let h: StoreHarness<VersionStore>;
    let store: VersionStore;
    let gen: SerialGenerator;
    let app: string;
    let historySerial: number;
    const ch = 'private-ai-x';

    beforeEach(async () => {
      clock = new ManualClock();
      h = await makeStore({ now: clock.now });
      store = h.store;
      gen = new SerialGenerator({ node: 'node-a', now: clock.now });
      app = uniqueApp('ver');
      historySerial = 0;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    async function create(
      opts: { streaming?: boolean; maxOpenStreaming?: number; appId?: string; data?: string } = {},
    ): Promise<CommitOutcome> {
      const appId = opts.appId ?? app;
      const st = await store.streamState(appId, ch);
      historySerial++;
      const res = applyMutation(
        undefined,
        { action: 'create', name: 'ai-output', data: opts.data ?? '', history_serial: historySerial },
        NO_LIMITS,
        { version_serial: gen.next(), delivery_serial: st.nextDeliverySerial, timestamp_ms: clock.now() },
      );
      if (!res.ok || res.status !== 'applied') throw new Error('create did not apply');
      const input: { next: Aggregate; streaming: boolean; maxOpenStreaming?: number } = {
        next: res.next,
        streaming: opts.streaming ?? false,
      };
      if (opts.maxOpenStreaming !== undefined) input.maxOpenStreaming = opts.maxOpenStreaming;
      return store.commitCreate(appId, ch, input);
    }

    async function createOk(opts: Parameters<typeof create>[0] = {}): Promise<string> {
      const out = await create(opts);
      if (out.status !== 'committed') throw new Error(`create: ${out.status}`);
      return out.record.message_serial;
    }

    /** snapshot → applyMutation → CAS commit, retrying on conflict (bounded). */
    async function mutate(
      ms: string,
      input: MutationInput,
      opts: { streaming?: boolean; maxOpenStreaming?: number } = {},
    ): Promise<CommitOutcome | { status: 'rules_duplicate' } | { status: 'rules_error'; reason: string }> {
      const op = input.op_id === undefined ? undefined : { action: input.action, opId: input.op_id };
      for (let attempt = 0; attempt < 100; attempt++) {
        const snap = await store.snapshot(app, ch, ms, op);
        const res = applyMutation(snap.latest, input, NO_LIMITS, {
          version_serial: gen.next(snap.latest?.latest.version_serial),
          delivery_serial: snap.nextDeliverySerial,
          timestamp_ms: clock.now(),
          prior_op: snap.priorOp,
        });
        if (!res.ok) return { status: 'rules_error', reason: res.error.reason };
        if (res.status === 'duplicate') return { status: 'rules_duplicate' };
        const commit: Parameters<VersionStore['commitMutation']>[3] = {
          expectedLatestVersionSerial: snap.latest?.latest.version_serial as string,
          next: res.next,
          streaming: opts.streaming ?? false,
          ...(opts.maxOpenStreaming === undefined ? {} : { maxOpenStreaming: opts.maxOpenStreaming }),
        };
        const out = await store.commitMutation(app, ch, ms, commit);
        if (out.status !== 'conflict') return out;
      }
      throw new Error('too many CAS conflicts');
    }

    describe('creates and delivery serials', () => {
      it('assigns delivery serials 1, 2, 3 across messages with a stable stream id', async () => {
        const a = await create();
        const b = await create();
        const c = await create();
        expect([a, b, c].map((o) => (o.status === 'committed' ? o.record.delivery_serial : -1))).toEqual([1, 2, 3]);
        const ids = new Set([a, b, c].map((o) => (o.status === 'committed' ? o.streamId : '')));
        expect(ids.size).toBe(1);
        const st = await store.streamState(app, ch);
        expect(st).toMatchObject({ nextDeliverySerial: 4, messageCount: 3, durableState: 'healthy' });
        expect(st.streamId).toBe([...ids][0]);
      });

      it('stays contiguous under 100 concurrent creates', async () => {
        const outs = await Promise.all(range(1, 100).map(() => create()));
        const got = outs.map((o) => (o.status === 'committed' ? o.record.delivery_serial : -1)).sort((x, y) => x - y);
        expect(got).toEqual(range(1, 100));
      });

      it('refuses a second create of the same message_serial', async () => {
        const out = await create();
        if (out.status !== 'committed') throw new Error('create');
        const again = await store.commitCreate(app, ch, { next: out.aggregate, streaming: false });
        expect(again.status).toBe('exists');
        expect((await store.streamState(app, ch)).nextDeliverySerial).toBe(2);
      });

      it('returns the committed aggregate from latest()', async () => {
        const out = await create({ data: 'hello' });
        if (out.status !== 'committed') throw new Error('create');
        const latest = await store.latest(app, ch, out.record.message_serial);
        expect(latest?.latest).toMatchObject({
          action: 'create',
          data: 'hello',
          delivery_serial: 1,
          history_serial: 1,
        });
        expect(await store.latest(app, ch, 'nope')).toBeUndefined();
      });
    });

    describe('mutations', () => {
      it('commits appends with the next delivery serial (separate from history serials)', async () => {
        const ms = await createOk();
        const out = await mutate(ms, { action: 'append', data: 'Hel' });
        expect(out).toMatchObject({
          status: 'committed',
          record: { action: 'append', delivery_serial: 2, history_serial: 1 },
        });
        await mutate(ms, { action: 'append', data: 'lo' });
        const latest = await store.latest(app, ch, ms);
        expect(latest?.latest).toMatchObject({ data: 'Hello', delivery_serial: 3, fragment: 'lo' });
        expect(latest?.append_count).toBe(2);
      });

      it('returns not_found for an unknown message', async () => {
        await createOk();
        const other = await createOk();
        const snap = await store.snapshot(app, ch, other);
        const res = applyMutation(snap.latest, { action: 'append', data: 'x' }, NO_LIMITS, {
          version_serial: gen.next(),
          delivery_serial: snap.nextDeliverySerial,
          timestamp_ms: clock.now(),
        });
        if (!res.ok) throw new Error('apply');
        const forged = { ...res.next, latest: { ...res.next.latest, message_serial: 'missing' } };
        const out = await store.commitMutation(app, ch, 'missing', {
          expectedLatestVersionSerial: 'x',
          next: forged,
          streaming: false,
        });
        expect(out.status).toBe('not_found');
      });

      it('detects a lost compare-and-swap and hands back a fresh snapshot', async () => {
        const ms = await createOk();
        const snap = await store.snapshot(app, ch, ms);
        const build = (data: string) => {
          const r = applyMutation(snap.latest, { action: 'append', data }, NO_LIMITS, {
            version_serial: gen.next(snap.latest?.latest.version_serial),
            delivery_serial: snap.nextDeliverySerial,
            timestamp_ms: clock.now(),
          });
          if (!r.ok || r.status !== 'applied') throw new Error('apply');
          return r.next;
        };
        const expected = snap.latest?.latest.version_serial as string;
        const first = await store.commitMutation(app, ch, ms, {
          expectedLatestVersionSerial: expected,
          next: build('a'),
          streaming: false,
        });
        expect(first.status).toBe('committed');
        const second = await store.commitMutation(app, ch, ms, {
          expectedLatestVersionSerial: expected,
          next: build('b'),
          streaming: false,
        });
        expect(second.status).toBe('conflict');
        if (second.status !== 'conflict') return;
        expect(second.snapshot.latest?.latest.data).toBe('a');
        expect(second.snapshot.nextDeliverySerial).toBe(3);
        expect((await store.latest(app, ch, ms))?.latest.data).toBe('a');
      });

      it('keeps every concurrent append exactly once with contiguous delivery serials', async () => {
        const ms = await createOk();
        const frags = range(1, 40).map((i) => `<${i}>`);
        const outs = await Promise.all(frags.map((f) => mutate(ms, { action: 'append', data: f })));
        for (const o of outs) expect(o.status).toBe('committed');
        const latest = await store.latest(app, ch, ms);
        const data = latest?.latest.data as string;
        for (const f of frags) expect(data.split(f)).toHaveLength(2);
        const ds = outs.map((o) => (o.status === 'committed' ? o.record.delivery_serial : -1)).sort((a, b) => a - b);
        expect(ds).toEqual(range(2, 41));
        expect(latest?.append_count).toBe(40);
      });

      it('refuses a version_serial that does not increase', async () => {
        const ms = await createOk();
        const snap = await store.snapshot(app, ch, ms);
        const latest = snap.latest as Aggregate;
        const stale = {
          ...latest,
          latest: { ...latest.latest, action: 'update' as const, version_serial: '0', data: 'x' },
        };
        const out = await store.commitMutation(app, ch, ms, {
          expectedLatestVersionSerial: latest.latest.version_serial,
          next: stale,
          streaming: false,
        });
        expect(out.status).toBe('stale_version_serial');
      });
    });

    describe('op_id (idempotency layer 3)', () => {
      it('returns the original receipt for a duplicate and a conflict for another payload', async () => {
        const ms = await createOk();
        const first = await mutate(ms, { action: 'append', data: 'x', op_id: 'op-1' });
        if (first.status !== 'committed') throw new Error(first.status);
        // Retry through the rules: the snapshot carries the receipt, so nothing is written.
        expect(await mutate(ms, { action: 'append', data: 'x', op_id: 'op-1' })).toEqual({ status: 'rules_duplicate' });
        const snap = await store.snapshot(app, ch, ms, { action: 'append', opId: 'op-1' });
        expect(snap.priorOp).toMatchObject({
          version_serial: first.record.version_serial,
          delivery_serial: first.record.delivery_serial,
          action: 'append',
        });
        expect(await mutate(ms, { action: 'append', data: 'y', op_id: 'op-1' })).toEqual({
          status: 'rules_error',
          reason: 'op_id_conflict',
        });
        // The same op_id on another action is a different operation.
        expect((await mutate(ms, { action: 'update', data: 'z', op_id: 'op-1' })).status).toBe('committed');
        expect((await store.streamState(app, ch)).nextDeliverySerial).toBe(4);
      });

      it('detects a duplicate at commit time even with a stale predecessor', async () => {
        const ms = await createOk();
        const snap = await store.snapshot(app, ch, ms, { action: 'append', opId: 'op-9' });
        const res = applyMutation(snap.latest, { action: 'append', data: 'x', op_id: 'op-9' }, NO_LIMITS, {
          version_serial: gen.next(snap.latest?.latest.version_serial),
          delivery_serial: snap.nextDeliverySerial,
          timestamp_ms: clock.now(),
        });
        if (!res.ok || res.status !== 'applied') throw new Error('apply');
        const expected = snap.latest?.latest.version_serial as string;
        const a = await store.commitMutation(app, ch, ms, {
          expectedLatestVersionSerial: expected,
          next: res.next,
          streaming: false,
        });
        expect(a.status).toBe('committed');
        const b = await store.commitMutation(app, ch, ms, {
          expectedLatestVersionSerial: expected,
          next: res.next,
          streaming: false,
        });
        expect(b.status).toBe('duplicate');
        if (b.status === 'duplicate' && a.status === 'committed') {
          expect(b.receipt.delivery_serial).toBe(a.record.delivery_serial);
        }
        const tampered = { ...res.next, latest: { ...res.next.latest, op_fingerprint: 'f'.repeat(64) } };
        const c = await store.commitMutation(app, ch, ms, {
          expectedLatestVersionSerial: expected,
          next: tampered,
          streaming: false,
        });
        expect(c.status).toBe('op_conflict');
      });
    });

    describe('open streaming messages', () => {
      it('counts streaming messages and enforces the cap atomically', async () => {
        const a = await createOk({ streaming: true, maxOpenStreaming: 2 });
        await createOk({ streaming: true, maxOpenStreaming: 2 });
        expect(await store.openStreamingCount(app, ch)).toBe(2);
        const third = await create({ streaming: true, maxOpenStreaming: 2 });
        expect(third).toMatchObject({ status: 'limit_exceeded', limit: 'open_streaming_messages', max: 2, current: 2 });
        // A refused commit consumes no delivery serial.
        expect((await store.streamState(app, ch)).nextDeliverySerial).toBe(3);
        // Appends to an open stream are not a transition: allowed at the cap.
        expect(
          (await mutate(a, { action: 'append', data: 'x' }, { streaming: true, maxOpenStreaming: 2 })).status,
        ).toBe('committed');
        // Completing one frees a slot.
        expect((await mutate(a, { action: 'update', data: 'done' }, { streaming: false })).status).toBe('committed');
        expect(await store.openStreamingCount(app, ch)).toBe(1);
        expect((await create({ streaming: true, maxOpenStreaming: 2 })).status).toBe('committed');
      });

      it('never exceeds the cap under concurrent creates', async () => {
        const outs = await Promise.all(range(1, 20).map(() => create({ streaming: true, maxOpenStreaming: 5 })));
        expect(outs.filter((o) => o.status === 'committed')).toHaveLength(5);
        expect(await store.openStreamingCount(app, ch)).toBe(5);
      });
    });

    describe('reads', () => {
      it('pages versions by version_serial in both directions', async () => {
        const ms = await createOk();
        for (let i = 1; i <= 6; i++) await mutate(ms, { action: 'append', data: `f${i}` });
        const all = await store.versions(app, ch, ms, { direction: 'oldest_first', limit: 100 });
        expect(all.items.map((v) => v.action)).toEqual(['create', ...Array(6).fill('append')]);
        expect(all.items.slice(1).map((v) => v.fragment)).toEqual(['f1', 'f2', 'f3', 'f4', 'f5', 'f6']);
        const serials = all.items.map((v) => v.version_serial);
        const p1 = await store.versions(app, ch, ms, { limit: 3 });
        expect(p1.items.map((v) => v.version_serial)).toEqual(serials.slice(4).reverse());
        expect(p1.hasMore).toBe(true);
        const p2 = await store.versions(app, ch, ms, { limit: 3, cursor: p1.nextCursor });
        expect(p2.items.map((v) => v.version_serial)).toEqual(serials.slice(1, 4).reverse());
        const p3 = await store.versions(app, ch, ms, { limit: 3, cursor: p2.nextCursor });
        expect(p3.items.map((v) => v.version_serial)).toEqual([serials[0]]);
        expect(p3.hasMore).toBe(false);
        expect(p3.nextCursor).toBeNull();
        const f1 = await store.versions(app, ch, ms, { direction: 'oldest_first', limit: 4 });
        const f2 = await store.versions(app, ch, ms, { direction: 'oldest_first', limit: 4, cursor: f1.nextCursor });
        expect([...f1.items, ...f2.items].map((v) => v.version_serial)).toEqual(serials);
        expect((await store.versions(app, ch, 'unknown')).items).toEqual([]);
        await expect(store.versions(app, ch, ms, { limit: 0 })).rejects.toMatchObject({ code: 'invalid_query' });
      });

      it('replays contiguously after a delivery serial, with the latest aggregates', async () => {
        const a = await createOk();
        const b = await createOk();
        for (let i = 0; i < 4; i++) {
          await mutate(a, { action: 'append', data: 'a' });
          await mutate(b, { action: 'append', data: 'b' });
        }
        // delivery serials 1..10
        const page = await store.replayAfter(app, ch, 3, 100);
        expect(page.items.map((r) => r.delivery_serial)).toEqual(range(4, 10));
        expect(page.hasMore).toBe(false);
        expect(page.stream).toMatchObject({
          nextDeliverySerial: 11,
          oldestDeliverySerial: 1,
          newestDeliverySerial: 10,
        });
        expect(page.latest.map((l) => l.latest.data).sort()).toEqual(['aaaa', 'bbbb']);
        const limited = await store.replayAfter(app, ch, 0, 4);
        expect(limited.items.map((r) => r.delivery_serial)).toEqual([1, 2, 3, 4]);
        expect(limited.hasMore).toBe(true);
        expect((await store.replayAfter(app, ch, 10, 100)).items).toEqual([]);
        expect((await store.replayAfter(app, ch, 50, 100)).items).toEqual([]);
      });
    });

    describe('epochs and isolation', () => {
      it('reset drops messages, rotates the stream id and restarts delivery serials', async () => {
        await createOk();
        const before = await store.streamState(app, ch);
        const res = await store.reset(app, ch, 'operator');
        expect(res).toMatchObject({ previousStreamId: before.streamId, purgedMessages: 1 });
        expect(res.newStreamId).not.toBe(before.streamId);
        const out = await create();
        expect(out).toMatchObject({ status: 'committed', streamId: res.newStreamId, record: { delivery_serial: 1 } });
      });

      it('detects lost data through the epoch', async (ctx) => {
        if (!h.simulateDataLoss) return ctx.skip();
        await createOk();
        const before = await store.streamState(app, ch);
        await h.simulateDataLoss();
        const st = await store.streamState(app, ch);
        expect(st).toMatchObject({
          durableState: 'reset_required',
          reason: 'durable_stream_lost',
          lostStreamId: before.streamId,
        });
        expect(st.streamId).not.toBe(before.streamId);
        await store.reset(app, ch, 'recover');
        expect((await store.streamState(app, ch)).durableState).toBe('healthy');
      });

      it('keeps apps apart', async () => {
        const other = uniqueApp('other');
        const ms = await createOk();
        const o = await create({ appId: other });
        expect(o).toMatchObject({ status: 'committed', record: { delivery_serial: 1 } });
        expect(await store.latest(other, ch, ms)).toBeUndefined();
        expect((await store.replayAfter(other, ch, 0, 100)).items).toHaveLength(1);
      });
    });
  });
}
