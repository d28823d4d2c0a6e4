// The HistoryStore contract: every behaviour an implementation must have. Run it with a factory:
//   historyStoreContract('memory', async ({ now }) => ({ store: new MemoryHistoryStore({ now }), cleanup: async () => {} }))
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../dataplane/src/history/cursor.ts';
import type { HistoryStore } from '../../dataplane/src/history/store.ts';
import type { HistoryAppend, HistoryPage, HistoryQuery, RetentionPolicy } from '../../dataplane/src/history/types.ts';
import { ManualClock, range, type StoreFactory, type StoreHarness, uniqueApp } from './harness.ts';

const KEEP: RetentionPolicy = { maxMessages: 10_000 };

function row(i: number, extra: Partial<HistoryAppend> = {}): HistoryAppend {
  return {
    messageId: `m-${i}`,
    eventName: 'ai-output',
    message: { event: 'ai-output', data: `payload ${i}`, message_id: `m-${i}` },
    ...extra,
  };
}

function serials(page: HistoryPage): number[] {
  return page.items.map((r) => r.historySerial);
}

export function historyStoreContract(name: string, makeStore: StoreFactory<HistoryStore>): void {
  describe(`HistoryStore contract: ${name}`, () => {
    let clock: ManualClock;
    let h: StoreHarness<HistoryStore>;
    let store: HistoryStore;
    let app: string;
    const ch = 'private-ai-chat';

    beforeEach(async () => {
      clock = new ManualClock();
      h = await makeStore({ now: clock.now });
      store = h.store;
      app = uniqueApp('hist');
    });
    afterEach(async () => {
      await h.cleanup();
    });

    async function appendN(n: number, policy: RetentionPolicy = KEEP, channel = ch, appId = app) {
      const out = [];
      for (let i = 1; i <= n; i++) out.push(await store.append(appId, channel, row(i), policy));
      return out;
    }

    async function readAll(q: Omit<HistoryQuery, 'cursor'>): Promise<number[]> {
      const out: number[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 1000; pages++) {
        const page: HistoryPage = await store.read({ ...q, cursor });
        out.push(...serials(page));
        expect(page.hasMore).toBe(page.nextCursor !== null);
        if (!page.nextCursor) return out;
        cursor = page.nextCursor;
      }
      throw new Error('pagination did not terminate');
    }

    describe('serials', () => {
      it('assigns 1, 2, 3 … per app+channel with a stable stream id', async () => {
        const res = await appendN(3);
        expect(res.map((r) => r.historySerial)).toEqual([1, 2, 3]);
        expect(new Set(res.map((r) => r.streamId)).size).toBe(1);
        const st = await store.state(app, ch);
        expect(st.streamId).toBe(res[0]?.streamId);
        expect(st.nextSerial).toBe(4);
        expect(st.retained).toMatchObject({ oldestAvailableSerial: 1, newestAvailableSerial: 3, retainedMessages: 3 });
      });

      it('stays contiguous under 200 concurrent appends', async () => {
        const res = await Promise.all(range(1, 200).map((i) => store.append(app, ch, row(i), KEEP)));
        const got = res.map((r) => r.historySerial).sort((a, b) => a - b);
        expect(got).toEqual(range(1, 200));
        const page = await store.read({ appId: app, channel: ch, direction: 'oldest_first', limit: 1000 });
        expect(serials(page)).toEqual(range(1, 200));
        // Each serial names the row that was appended with it.
        const bySerial = new Map(res.map((r, i) => [r.historySerial, `m-${i + 1}`]));
        for (const item of page.items) expect(item.messageId).toBe(bySerial.get(item.historySerial));
      });

      it('keeps separate counters per channel', async () => {
        await appendN(3, KEEP, 'a');
        const b = await store.append(app, 'b', row(1), KEEP);
        expect(b.historySerial).toBe(1);
      });
    });

    describe('rows', () => {
      it('round-trips the row and stamps publish time, size and defaults', async () => {
        const message = { event: 'ai-output', data: 'héllo', extras: { headers: { a: 1 } } };
        const r = await store.append(
          app,
          ch,
          { messageId: 'x1', eventName: 'ai-output', messageSerial: 'ms-1', operationKind: 'message.create', message },
          KEEP,
        );
        expect(r.publishedAtMs).toBe(clock.now());
        expect(r.payloadSizeBytes).toBe(Buffer.byteLength(JSON.stringify(message)));
        const plain = await store.append(app, ch, { messageId: 'x2', eventName: 'e', message: { a: 1 } }, KEEP);
        const page = await store.read({ appId: app, channel: ch, direction: 'oldest_first' });
        expect(page.items[0]).toEqual({
          streamId: r.streamId,
          historySerial: 1,
          publishedAtMs: r.publishedAtMs,
          messageId: 'x1',
          eventName: 'ai-output',
          operationKind: 'message.create',
          payloadSizeBytes: r.payloadSizeBytes,
          messageSerial: 'ms-1',
          message,
        });
        expect(page.items[1]?.operationKind).toBe('publish');
        expect(page.items[1]?.messageSerial).toBeUndefined();
        expect(plain.historySerial).toBe(2);
      });

      it('does not alias the caller’s message object', async () => {
        const message: Record<string, unknown> = { data: 'before' };
        await store.append(app, ch, { messageId: 'x', eventName: 'e', message }, KEEP);
        message['data'] = 'after';
        const page = await store.read({ appId: app, channel: ch });
        expect(page.items[0]?.message).toEqual({ data: 'before' });
      });

      it('never lets publish times go backwards within a stream', async () => {
        await store.append(app, ch, row(1, { publishedAtMs: clock.now() }), KEEP);
        const r = await store.append(app, ch, row(2, { publishedAtMs: clock.now() - 5000 }), KEEP);
        expect(r.publishedAtMs).toBe(clock.now());
      });
    });

    describe('pagination', () => {
      it('pages newest first by default', async () => {
        await appendN(25);
        const p1 = await store.read({ appId: app, channel: ch, limit: 10 });
        expect(p1.direction).toBe('newest_first');
        expect(serials(p1)).toEqual(range(16, 25).reverse());
        expect(p1.hasMore).toBe(true);
        const p2 = await store.read({ appId: app, channel: ch, limit: 10, cursor: p1.nextCursor });
        expect(serials(p2)).toEqual(range(6, 15).reverse());
        const p3 = await store.read({ appId: app, channel: ch, limit: 10, cursor: p2.nextCursor });
        expect(serials(p3)).toEqual(range(1, 5).reverse());
        expect(p3.hasMore).toBe(false);
        expect(p3.nextCursor).toBeNull();
      });

      it('pages oldest first', async () => {
        await appendN(25);
        expect(await readAll({ appId: app, channel: ch, direction: 'oldest_first', limit: 7 })).toEqual(range(1, 25));
      });

      it('ends exactly at a page boundary without an empty extra page', async () => {
        await appendN(20);
        const p1 = await store.read({ appId: app, channel: ch, limit: 10, direction: 'oldest_first' });
        const p2 = await store.read({
          appId: app,
          channel: ch,
          limit: 10,
          direction: 'oldest_first',
          cursor: p1.nextCursor,
        });
        expect(serials(p2)).toEqual(range(11, 20));
        expect(p2.hasMore).toBe(false);
      });

      it('includes rows appended after the first page when reading oldest first', async () => {
        await appendN(5);
        const p1 = await store.read({ appId: app, channel: ch, limit: 3, direction: 'oldest_first' });
        await store.append(app, ch, row(6), KEEP);
        const p2 = await store.read({
          appId: app,
          channel: ch,
          limit: 10,
          direction: 'oldest_first',
          cursor: p1.nextCursor,
        });
        expect(serials(p2)).toEqual([4, 5, 6]);
      });

      it('honours inclusive serial bounds in both directions', async () => {
        await appendN(30);
        const bounds = { startSerial: 5, endSerial: 15 };
        expect(await readAll({ appId: app, channel: ch, bounds, limit: 4, direction: 'oldest_first' })).toEqual(
          range(5, 15),
        );
        expect(await readAll({ appId: app, channel: ch, bounds, limit: 4 })).toEqual(range(5, 15).reverse());
        const open = await store.read({ appId: app, channel: ch, bounds: { startSerial: 28 } });
        expect(serials(open)).toEqual([30, 29, 28]);
        const page = await store.read({ appId: app, channel: ch, bounds });
        expect(page.bounds).toEqual(bounds);
      });

      it('honours inclusive time bounds in both directions', async () => {
        const t0 = clock.now();
        for (let i = 1; i <= 10; i++) {
          await store.append(app, ch, row(i), KEEP);
          clock.advance(1000);
        }
        // row i was published at t0 + (i-1)*1000
        const bounds = { startTimeMs: t0 + 2000, endTimeMs: t0 + 6000 };
        expect(await readAll({ appId: app, channel: ch, bounds, limit: 2, direction: 'oldest_first' })).toEqual(
          range(3, 7),
        );
        expect(await readAll({ appId: app, channel: ch, bounds, limit: 2 })).toEqual(range(3, 7).reverse());
        const both = await store.read({ appId: app, channel: ch, bounds: { ...bounds, startSerial: 5 } });
        expect(serials(both)).toEqual([7, 6, 5]);
      });

      it('returns an empty page for an empty channel or an empty range', async () => {
        const empty = await store.read({ appId: app, channel: ch });
        expect(empty.items).toEqual([]);
        expect(empty.hasMore).toBe(false);
        expect(empty.nextCursor).toBeNull();
        expect(empty.continuity).toMatchObject({
          oldestAvailableSerial: null,
          newestAvailableSerial: null,
          retainedMessages: 0,
          retainedBytes: 0,
          complete: true,
          truncatedByRetention: false,
        });
        expect(empty.streamState.durableState).toBe('healthy');
        await appendN(3);
        const none = await store.read({ appId: app, channel: ch, bounds: { startSerial: 10 } });
        expect(none.items).toEqual([]);
        expect(empty.continuity.streamId).toBe(none.continuity.streamId);
      });

      it('defaults, clamps and validates limit and bounds', async () => {
        await appendN(120);
        expect((await store.read({ appId: app, channel: ch })).items).toHaveLength(100);
        const big = await store.read({ appId: app, channel: ch, limit: 5000 });
        expect(big.limit).toBe(1000);
        expect(big.items).toHaveLength(120);
        for (const limit of [0, -1, 1.5, Number.NaN]) {
          await expect(store.read({ appId: app, channel: ch, limit })).rejects.toMatchObject({ code: 'invalid_query' });
        }
        await expect(
          store.read({ appId: app, channel: ch, bounds: { startSerial: 5, endSerial: 4 } }),
        ).rejects.toMatchObject({ code: 'invalid_query' });
        await expect(
          store.read({ appId: app, channel: ch, bounds: { startTimeMs: 5, endTimeMs: 4 } }),
        ).rejects.toMatchObject({ code: 'invalid_query' });
        await expect(store.read({ appId: app, channel: ch, bounds: { startSerial: -1 } })).rejects.toMatchObject({
          code: 'invalid_query',
        });
      });
    });

    describe('cursors', () => {
      async function firstCursor(q: Partial<HistoryQuery> = {}): Promise<string> {
        await appendN(10);
        const p = await store.read({ appId: app, channel: ch, limit: 3, ...q });
        expect(p.nextCursor).not.toBeNull();
        return p.nextCursor as string;
      }

      it('issues URL-safe cursors that decode to this query', async () => {
        const c = await firstCursor({ bounds: { startSerial: 2 } });
        expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
        const d = decodeCursor(c);
        expect(d).toMatchObject({ appId: app, channel: ch, direction: 'newest_first', serial: 7 });
        expect(d.bounds).toEqual({ startSerial: 2 });
      });

      it('rejects garbage, tampered and oversized cursors', async () => {
        const c = await firstCursor();
        for (const bad of ['', '!!!', 'not-a-cursor', `${c}A`, c.slice(0, -3), 'A'.repeat(17 * 1024)]) {
          await expect(store.read({ appId: app, channel: ch, limit: 3, cursor: bad })).rejects.toMatchObject({
            code: expect.stringMatching(/^(invalid_cursor|cursor_mismatch)$/),
          });
        }
        const forged = Buffer.from(
          JSON.stringify({ ...JSON.parse(Buffer.from(c, 'base64url').toString()), serial: -4 }),
        ).toString('base64url');
        await expect(store.read({ appId: app, channel: ch, limit: 3, cursor: forged })).rejects.toMatchObject({
          code: 'invalid_cursor',
        });
      });

      it('rejects a cursor used with another channel, direction or bounds', async () => {
        const c = await firstCursor();
        await expect(store.read({ appId: app, channel: 'other', cursor: c })).rejects.toMatchObject({
          code: 'cursor_mismatch',
        });
        await expect(
          store.read({ appId: app, channel: ch, cursor: c, direction: 'oldest_first' }),
        ).rejects.toMatchObject({ code: 'cursor_mismatch' });
        await expect(
          store.read({ appId: app, channel: ch, cursor: c, bounds: { startSerial: 1 } }),
        ).rejects.toMatchObject({ code: 'cursor_mismatch' });
      });

      it('rejects a cursor of another app even for the same channel name (I1)', async () => {
        const c = await firstCursor();
        const other = uniqueApp('other');
        await appendN(10, KEEP, ch, other);
        await expect(store.read({ appId: other, channel: ch, cursor: c })).rejects.toMatchObject({
          code: 'cursor_mismatch',
        });
        const d = decodeCursor(c);
        const rewritten = encodeCursor({ ...d, appId: other });
        await expect(store.read({ appId: other, channel: ch, cursor: rewritten })).rejects.toMatchObject({
          code: 'cursor_stream_reset',
        });
      });

      it('rejects a cursor issued before a reset', async () => {
        const c = await firstCursor();
        await store.reset(app, ch, { reason: 'test' });
        await appendN(10);
        await expect(store.read({ appId: app, channel: ch, limit: 3, cursor: c })).rejects.toMatchObject({
          code: 'cursor_stream_reset',
        });
      });
    });

    describe('retention', () => {
      it('evicts by count and counts what it evicted', async () => {
        const res = await appendN(8, { maxMessages: 5 });
        expect(res.map((r) => r.evictedMessages)).toEqual([0, 0, 0, 0, 0, 1, 1, 1]);
        const st = await store.state(app, ch);
        expect(st.retained).toMatchObject({ oldestAvailableSerial: 4, newestAvailableSerial: 8, retainedMessages: 5 });
        expect(st.nextSerial).toBe(9);
        expect(st.retention).toEqual({ maxMessages: 5 });
        const page = await store.read({ appId: app, channel: ch, direction: 'oldest_first' });
        expect(serials(page)).toEqual([4, 5, 6, 7, 8]);
        expect(page.continuity).toMatchObject({ complete: false, truncatedByRetention: true });
        const inside = await store.read({ appId: app, channel: ch, bounds: { startSerial: 6 } });
        expect(inside.continuity).toMatchObject({ complete: true, truncatedByRetention: false });
        const stats = (await store.stats()).apps[app];
        expect(stats).toMatchObject({ retainedMessages: 5, evictedMessages: 3 });
        expect(stats?.evictedBytes).toBe(res.slice(0, 3).reduce((s, r) => s + r.payloadSizeBytes, 0));
      });

      it('evicts by bytes but never the row just appended', async () => {
        const first = await store.append(app, ch, row(1), KEEP);
        const size = first.payloadSizeBytes;
        const policy = { maxBytes: size * 3 };
        await appendN(5, policy);
        const st = await store.state(app, ch);
        expect(st.retained.retainedBytes).toBeLessThanOrEqual(size * 3);
        expect(st.retained.retainedMessages).toBe(3);
        expect(st.retained.newestAvailableSerial).toBe(6);
        const huge = await store.append(
          app,
          ch,
          { messageId: 'big', eventName: 'e', message: { data: 'x'.repeat(size * 5) } },
          policy,
        );
        const after = await store.state(app, ch);
        expect(after.retained).toMatchObject({ retainedMessages: 1, oldestAvailableSerial: huge.historySerial });
      });

      it('evicts by age on write and hides expired rows on read', async () => {
        const policy = { maxAgeSeconds: 10 };
        await store.append(app, ch, row(1), policy);
        clock.advance(6000);
        await store.append(app, ch, row(2), policy);
        clock.advance(6000); // row 1 is 12 s old, row 2 is 6 s old
        const page = await store.read({ appId: app, channel: ch });
        expect(serials(page)).toEqual([2]);
        expect((await store.state(app, ch)).retained.retainedMessages).toBe(1);
        clock.advance(5000);
        expect((await store.read({ appId: app, channel: ch })).items).toEqual([]);
        const stats = (await store.stats()).apps[app];
        expect(stats).toMatchObject({ retainedMessages: 0, evictedMessages: 2 });
        const next = await store.append(app, ch, row(3), policy);
        expect(next.historySerial).toBe(3);
      });

      it('continues an oldest-first walk past rows evicted between pages and says so', async () => {
        await appendN(10, { maxMessages: 10 });
        const p1 = await store.read({ appId: app, channel: ch, direction: 'oldest_first', limit: 3 });
        for (let i = 11; i <= 16; i++) await store.append(app, ch, row(i), { maxMessages: 10 }); // evicts 1..6
        const p2 = await store.read({
          appId: app,
          channel: ch,
          direction: 'oldest_first',
          limit: 3,
          cursor: p1.nextCursor,
        });
        expect(serials(p2)).toEqual([7, 8, 9]);
        expect(p2.continuity.truncatedByRetention).toBe(true);
      });
    });

    describe('reset and purge', () => {
      it('reset purges, rotates the stream id and restarts serials at 1', async () => {
        const before = await appendN(4);
        const res = await store.reset(app, ch, { reason: 'operator request', requestedBy: 'sre' });
        expect(res.previousStreamId).toBe(before[0]?.streamId);
        expect(res.newStreamId).not.toBe(res.previousStreamId);
        expect(res.purgedMessages).toBe(4);
        expect(res.purgedBytes).toBe(before.reduce((s, r) => s + r.payloadSizeBytes, 0));
        expect(res.stream).toMatchObject({ streamId: res.newStreamId, nextSerial: 1 });
        expect(res.stream.state.durableState).toBe('healthy');
        const next = await store.append(app, ch, row(9), KEEP);
        expect(next).toMatchObject({ historySerial: 1, streamId: res.newStreamId });
        const page = await store.read({ appId: app, channel: ch });
        expect(page.items.map((i) => i.messageId)).toEqual(['m-9']);
        expect(page.continuity).toMatchObject({ complete: true, streamId: res.newStreamId });
      });

      it('reset and purge need a reason', async () => {
        await expect(store.reset(app, ch, { reason: '' })).rejects.toMatchObject({ code: 'invalid_request' });
        await expect(store.purge(app, ch, { mode: 'all', reason: ' ' })).rejects.toMatchObject({
          code: 'invalid_request',
        });
      });

      it('purge all keeps the stream id and the serial counter', async () => {
        const before = await appendN(5);
        const res = await store.purge(app, ch, { mode: 'all', reason: 'gdpr' });
        expect(res.purgedMessages).toBe(5);
        expect(res.stream).toMatchObject({ streamId: before[0]?.streamId, nextSerial: 6 });
        expect(res.stream.retained.retainedMessages).toBe(0);
        expect((await store.append(app, ch, row(6), KEEP)).historySerial).toBe(6);
        const page = await store.read({ appId: app, channel: ch });
        expect(page.continuity.truncatedByRetention).toBe(true);
      });

      it('purge before_serial and before_time_ms remove a prefix', async () => {
        for (let i = 1; i <= 10; i++) {
          await store.append(app, ch, row(i), KEEP);
          clock.advance(1000);
        }
        const bySerial = await store.purge(app, ch, { mode: 'before_serial', beforeSerial: 4, reason: 'r' });
        expect(bySerial.purgedMessages).toBe(3);
        expect(bySerial.stream.retained.oldestAvailableSerial).toBe(4);
        const t = (await store.read({ appId: app, channel: ch, direction: 'oldest_first' })).items[3]?.publishedAtMs;
        const byTime = await store.purge(app, ch, { mode: 'before_time_ms', beforeTimeMs: t as number, reason: 'r' });
        expect(byTime.purgedMessages).toBe(3);
        expect(byTime.stream.retained.oldestAvailableSerial).toBe(7);
        const none = await store.purge(app, ch, { mode: 'before_serial', beforeSerial: 2, reason: 'r' });
        expect(none.purgedMessages).toBe(0);
        expect((await store.stats()).apps[app]?.purgedMessages).toBe(6);
      });
    });

    describe('durable state', () => {
      it('degraded ↔ healthy', async () => {
        await appendN(1);
        const d = await store.markDegraded(app, ch, 'durable_history_write_failed');
        expect(d).toMatchObject({
          durableState: 'degraded',
          recoveryAllowed: false,
          reason: 'durable_history_write_failed',
        });
        expect((await store.read({ appId: app, channel: ch })).streamState.durableState).toBe('degraded');
        expect((await store.listNonHealthy()).items.map((i) => [i.appId, i.channel])).toContainEqual([app, ch]);
        expect((await store.stats()).apps[app]?.degradedChannels).toBe(1);
        clock.advance(10);
        const h2 = await store.clearDegraded(app, ch);
        expect(h2).toMatchObject({ durableState: 'healthy', recoveryAllowed: true, reason: null });
        expect(h2.lastTransitionAtMs).toBe(clock.now());
        expect((await store.listNonHealthy({ appId: app })).items).toEqual([]);
        expect((await store.stats()).apps[app]?.degradedChannels).toBe(0);
      });

      it('appends still work while degraded and report the state', async () => {
        await store.markDegraded(app, ch, 'history_writer_queue_full');
        const r = await store.append(app, ch, row(1), KEEP);
        expect(r.durableState).toBe('degraded');
      });

      it('lists non-healthy channels per app, paginated', async () => {
        for (const c of ['a', 'b', 'c']) await store.markDegraded(app, c, 'x');
        const other = uniqueApp('other');
        await store.markDegraded(other, 'a', 'x');
        const p1 = await store.listNonHealthy({ appId: app, limit: 2 });
        expect(p1.items).toHaveLength(2);
        expect(p1.nextCursor).not.toBeNull();
        const p2 = await store.listNonHealthy({ appId: app, limit: 2, cursor: p1.nextCursor });
        const names = [...p1.items, ...p2.items].map((i) => i.channel).sort();
        expect(names).toEqual(['a', 'b', 'c']);
        expect(p2.nextCursor).toBeNull();
        for (const i of [...p1.items, ...p2.items]) expect(i.appId).toBe(app);
      });

      it('detects lost data through the epoch: reset_required until reset', async (ctx) => {
        if (!h.simulateDataLoss) return ctx.skip();
        const before = await appendN(3);
        const oldStream = before[0]?.streamId;
        await h.simulateDataLoss();
        const r = await store.append(app, ch, row(4), KEEP);
        expect(r.streamId).not.toBe(oldStream);
        expect(r.historySerial).toBe(1);
        expect(r.durableState).toBe('reset_required');
        const st = await store.state(app, ch);
        expect(st.state).toMatchObject({
          durableState: 'reset_required',
          recoveryAllowed: false,
          reason: 'durable_stream_lost',
          lostStreamId: oldStream,
        });
        expect((await store.listNonHealthy({ appId: app })).items.map((i) => i.channel)).toEqual([ch]);
        expect((await store.stats()).apps[app]).toMatchObject({ resetRequiredChannels: 1, dataLossDetected: 1 });
        // Neither degraded transition touches reset_required.
        expect((await store.clearDegraded(app, ch)).durableState).toBe('reset_required');
        expect((await store.markDegraded(app, ch, 'x')).durableState).toBe('reset_required');
        const reset = await store.reset(app, ch, { reason: 'recover' });
        expect(reset.stream.state.durableState).toBe('healthy');
        expect((await store.stats()).apps[app]?.resetRequiredChannels).toBe(0);
      });

      it('detects lost data on a read too', async (ctx) => {
        if (!h.simulateDataLoss) return ctx.skip();
        await appendN(2);
        await h.simulateDataLoss();
        const page = await store.read({ appId: app, channel: ch });
        expect(page.items).toEqual([]);
        expect(page.streamState).toMatchObject({ durableState: 'reset_required', reason: 'durable_stream_lost' });
      });

      it('does not flag channels the node never saw', async (ctx) => {
        if (!h.simulateDataLoss) return ctx.skip();
        await h.simulateDataLoss();
        expect((await store.state(app, 'fresh')).state.durableState).toBe('healthy');
      });
    });

    describe('tenant isolation (I1)', () => {
      it('never mixes the same channel name across apps', async () => {
        const other = uniqueApp('other');
        await appendN(5, KEEP, ch, app);
        const b = await store.append(other, ch, row(100), KEEP);
        expect(b.historySerial).toBe(1);
        const pa = await store.read({ appId: app, channel: ch, limit: 100 });
        const pb = await store.read({ appId: other, channel: ch, limit: 100 });
        expect(pa.items.map((i) => i.messageId)).not.toContain('m-100');
        expect(pb.items.map((i) => i.messageId)).toEqual(['m-100']);
        expect(pa.continuity.streamId).not.toBe(pb.continuity.streamId);
        await store.reset(other, ch, { reason: 'x' });
        await store.markDegraded(other, ch, 'x');
        expect((await store.read({ appId: app, channel: ch })).items).toHaveLength(5);
        expect((await store.state(app, ch)).state.durableState).toBe('healthy');
        const stats = await store.stats();
        expect(stats.apps[app]?.retainedMessages).toBe(5);
        expect(stats.apps[other]?.retainedMessages).toBe(0);
      });

      it('keeps ids with separator-like characters apart', async () => {
        await store.append('a', 'b:c', row(1), KEEP);
        const r = await store.append('a:b', 'c', row(2), KEEP);
        expect(r.historySerial).toBe(1);
      });
    });
  });
}
