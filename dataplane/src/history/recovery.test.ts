import { describe, expect, it } from 'vitest';
import type { VersionRecord } from '../messages/model.ts';
import type { HotEntry, HotSnapshot } from './hot-buffer.ts';
import { MemoryHotReplayBuffer } from './hot-buffer.ts';
import { MemoryHistoryStore } from './memory-store.ts';
import {
  decideHot,
  planColdHistory,
  planColdVersioned,
  type RecoverySources,
  resolveResume,
  resumeFailedData,
  verifyColdHistory,
  verifyColdVersioned,
} from './recovery.ts';
import { HistoryError, type HistoryStreamInfo, type StreamState } from './types.ts';
import type { ReplayPage, VersionStreamInfo } from './version-store.ts';

const L = { maxReplay: 5 };

function hot(serials: number[], streamId = 's1'): HotSnapshot {
  const entries: HotEntry[] = serials.map((s) => ({
    serial: s,
    streamId,
    messageId: `m${s}`,
    frame: `f${s}`,
    storedAtMs: 0,
  }));
  return { streamId, oldestSerial: serials[0] ?? null, newestSerial: serials[serials.length - 1] ?? null, entries };
}
/** A snapshot as `after(pos, max)` returns it: the buffer holds oldest..newest, entries > pos. */
function hotAfter(oldest: number, newest: number, pos: number, streamId = 's1', skip?: number): HotSnapshot {
  const all: number[] = [];
  for (let s = oldest; s <= newest; s++) if (s !== skip) all.push(s);
  const snap = hot(all, streamId);
  return { ...snap, oldestSerial: oldest, newestSerial: newest, entries: snap.entries.filter((e) => e.serial > pos) };
}

describe('decideHot', () => {
  it('replays exactly serial+1..newest', () => {
    const out = decideHot({ serial: 3, streamId: 's1' }, hotAfter(1, 6, 3), L);
    expect(out).toMatchObject({
      kind: 'recovered',
      source: 'hot',
      position: { streamId: 's1', serial: 6, lastMessageId: 'm6' },
    });
    if (out.kind === 'recovered' && out.source === 'hot') expect(out.entries.map((e) => e.serial)).toEqual([4, 5, 6]);
  });

  it('recovers an up-to-date client with nothing to replay', () => {
    const out = decideHot({ serial: 6, streamId: 's1', lastMessageId: 'm6' }, hotAfter(1, 6, 6), L);
    expect(out).toMatchObject({ kind: 'recovered', entries: [], position: { serial: 6, lastMessageId: 'm6' } });
  });

  it('accepts legacy serial-only positions', () => {
    expect(decideHot({ serial: 4 }, hotAfter(1, 6, 4), L).kind).toBe('recovered');
  });

  it.each([
    [
      'stream id mismatch',
      { serial: 3, streamId: 'old' },
      hotAfter(1, 6, 3),
      {
        kind: 'failed',
        code: 'stream_reset',
        reason: 'stream_id_mismatch',
        expectedStreamId: 'old',
        currentStreamId: 's1',
      },
    ],
    [
      'too many to replay',
      { serial: 1, streamId: 's1' },
      hotAfter(1, 7, 1),
      { kind: 'failed', code: 'position_expired', reason: 'recovery_window_exceeded' },
    ],
    [
      'too many even when expired',
      { serial: 0, streamId: 's1' },
      hotAfter(10, 14, 0),
      { kind: 'failed', code: 'position_expired' },
    ],
    [
      'nothing buffered',
      { serial: 3, streamId: 's1' },
      { streamId: null, oldestSerial: null, newestSerial: null, entries: [] },
      { kind: 'fallthrough', why: 'empty' },
    ],
    ['ahead', { serial: 9, streamId: 's1' }, hotAfter(1, 6, 9), { kind: 'fallthrough', why: 'ahead' }],
    ['expired', { serial: 4, streamId: 's1' }, hotAfter(7, 8, 4), { kind: 'fallthrough', why: 'expired' }],
    ['gapped', { serial: 3, streamId: 's1' }, hotAfter(1, 6, 3, 's1', 5), { kind: 'fallthrough', why: 'gapped' }],
  ] as const)('%s', (_l, pos, snap, expected) => {
    expect(decideHot(pos, snap, L)).toMatchObject(expected);
  });
});

const okState = (over: Partial<StreamState> = {}): StreamState => ({
  streamId: 'h1',
  durableState: 'healthy',
  recoveryAllowed: true,
  reason: null,
  lastTransitionAtMs: 0,
  nodeId: null,
  lostStreamId: null,
  authoritativeSource: 'memory',
  observedSource: 'store',
  ...over,
});
function info(oldest: number | null, next: number, state: Partial<StreamState> = {}): HistoryStreamInfo {
  return {
    appId: 'a',
    channel: 'c',
    streamId: 'h1',
    nextSerial: next,
    retention: null,
    state: okState(state),
    retained: {
      streamId: 'h1',
      oldestAvailableSerial: oldest,
      newestAvailableSerial: next - 1 || null,
      oldestAvailablePublishedAtMs: null,
      newestAvailablePublishedAtMs: null,
      retainedMessages: 0,
      retainedBytes: 0,
    },
  };
}

describe('planColdHistory', () => {
  it.each([
    ['history disabled', { serial: 1, streamId: 'h1' }, null, { code: 'position_expired', reason: 'history_disabled' }],
    [
      'legacy position',
      { serial: 1 },
      info(1, 5),
      { code: 'continuity_unverifiable', reason: 'legacy_position_unverifiable' },
    ],
    [
      'reset_required',
      { serial: 1, streamId: 'h1' },
      info(1, 5, { durableState: 'reset_required' }),
      { code: 'stream_reset', reason: 'durable_stream_reset_required' },
    ],
    [
      'degraded',
      { serial: 1, streamId: 'h1' },
      info(1, 5, { durableState: 'degraded' }),
      { code: 'persistence_unavailable', reason: 'history_stream_degraded' },
    ],
    [
      'stream mismatch',
      { serial: 1, streamId: 'zz' },
      info(1, 5),
      { code: 'stream_reset', reason: 'stream_id_mismatch', currentStreamId: 'h1', expectedStreamId: 'zz' },
    ],
    [
      'ahead',
      { serial: 9, streamId: 'h1' },
      info(1, 5),
      { code: 'continuity_unverifiable', reason: 'position_ahead_of_stream' },
    ],
    [
      'below the floor',
      { serial: 2, streamId: 'h1' },
      info(5, 8),
      { code: 'position_expired', reason: 'position_below_retention_floor', oldestAvailableSerial: 5 },
    ],
    [
      'beyond the window',
      { serial: 1, streamId: 'h1' },
      info(1, 10),
      { code: 'position_expired', reason: 'recovery_window_exceeded' },
    ],
  ] as const)('%s fails', (_l, pos, i, expected) => {
    expect(planColdHistory(pos, i, L)).toMatchObject({ kind: 'failed', ...expected });
  });

  it('plans the fetch and verifies contiguity', () => {
    const plan = planColdHistory({ serial: 4, streamId: 'h1' }, info(2, 8), L);
    expect(plan).toEqual({ kind: 'fetch', afterSerial: 4, newestSerial: 7, streamId: 'h1', count: 3 });
    if (plan.kind !== 'fetch') return;
    const row = (s: number, streamId = 'h1') => ({
      streamId,
      historySerial: s,
      publishedAtMs: 0,
      messageId: `m${s}`,
      eventName: 'e',
      operationKind: 'publish',
      payloadSizeBytes: 1,
      message: {},
    });
    expect(verifyColdHistory({ serial: 4, streamId: 'h1' }, plan, [row(5), row(6), row(7)])).toMatchObject({
      kind: 'recovered',
      source: 'cold',
      replayed: 3,
      position: { streamId: 'h1', serial: 7, lastMessageId: 'm7' },
    });
    expect(verifyColdHistory({ serial: 4, streamId: 'h1' }, plan, [row(5), row(7)])).toMatchObject({
      code: 'continuity_unverifiable',
      reason: 'replay_not_contiguous',
    });
    expect(verifyColdHistory({ serial: 4, streamId: 'h1' }, plan, [row(5), row(6, 'x'), row(7)]).kind).toBe('failed');
  });

  it('accepts a position at the newest serial even when everything was evicted', () => {
    expect(planColdHistory({ serial: 7, streamId: 'h1' }, info(null, 8), L)).toMatchObject({ kind: 'fetch', count: 0 });
  });
});

function vstate(over: Partial<VersionStreamInfo> = {}): VersionStreamInfo {
  return {
    streamId: 'v1',
    durableState: 'healthy',
    reason: null,
    lostStreamId: null,
    lastTransitionAtMs: 0,
    nextDeliverySerial: 11,
    oldestDeliverySerial: 3,
    newestDeliverySerial: 10,
    openStreaming: 0,
    messageCount: 1,
    ...over,
  };
}
const rec = (d: number): VersionRecord => ({
  action: 'append',
  message_serial: 'ms',
  version_serial: `v${String(d).padStart(3, '0')}`,
  history_serial: 1,
  delivery_serial: d,
  timestamp_ms: 0,
  message_id: 'msg-1',
  fragment: 'x',
});

describe('planColdVersioned', () => {
  it.each([
    ['legacy', { serial: 5 }, vstate(), 'continuity_unverifiable'],
    ['reset_required', { serial: 5, streamId: 'v1' }, vstate({ durableState: 'reset_required' }), 'stream_reset'],
    ['mismatch', { serial: 5, streamId: 'v0' }, vstate(), 'stream_reset'],
    ['ahead', { serial: 11, streamId: 'v1' }, vstate(), 'continuity_unverifiable'],
    ['floor', { serial: 1, streamId: 'v1' }, vstate(), 'position_expired'],
    ['window', { serial: 3, streamId: 'v1' }, vstate(), 'position_expired'],
  ] as const)('%s', (_l, pos, st, code) => {
    expect(planColdVersioned(pos, st, L)).toMatchObject({ kind: 'failed', code });
  });

  it('replays contiguous versions and rejects gaps', () => {
    const pos = { serial: 7, streamId: 'v1' };
    const plan = planColdVersioned(pos, vstate(), L);
    expect(plan).toMatchObject({ kind: 'fetch', afterSerial: 7, newestSerial: 10, count: 3 });
    if (plan.kind !== 'fetch') return;
    const page = (items: VersionRecord[]): ReplayPage => ({ stream: vstate(), items, latest: [], hasMore: false });
    expect(verifyColdVersioned(pos, plan, page([rec(8), rec(9), rec(10), rec(11)]))).toMatchObject({
      kind: 'recovered',
      source: 'cold',
      replayed: 3,
      position: { streamId: 'v1', serial: 10, lastMessageId: 'msg-1' },
    });
    expect(verifyColdVersioned(pos, plan, page([rec(8), rec(10)]))).toMatchObject({ code: 'continuity_unverifiable' });
    expect(
      verifyColdVersioned(pos, plan, { ...page([rec(8), rec(9), rec(10)]), stream: vstate({ streamId: 'v2' }) }).kind,
    ).toBe('failed');
  });
});

describe('resolveResume', () => {
  it('uses the hot tier first, then durable history', async () => {
    let t = 1_000_000;
    const now = () => t;
    const history = new MemoryHistoryStore({ now });
    const buffer = new MemoryHotReplayBuffer({ now, maxMessages: 3, ttlMs: 60_000 });
    let streamId = '';
    for (let i = 1; i <= 8; i++) {
      const r = await history.append('app', 'ch', { messageId: `m${i}`, eventName: 'e', message: { i } }, {});
      streamId = r.streamId;
      await buffer.push('app', 'ch', { serial: r.historySerial, streamId, messageId: `m${i}`, frame: `f${i}` });
    }
    const src: RecoverySources = {
      maxReplay: 5,
      hot: (after, max) => buffer.after('app', 'ch', after, max),
      cold: {
        kind: 'history',
        state: () => history.state('app', 'ch'),
        rowsBetween: async (after, newest, limit) =>
          (
            await history.read({
              appId: 'app',
              channel: 'ch',
              direction: 'oldest_first',
              limit,
              bounds: { startSerial: after + 1, endSerial: newest },
            })
          ).items,
      },
    };
    expect(await resolveResume({ serial: 6, streamId }, src)).toMatchObject({ kind: 'recovered', source: 'hot' });
    const cold = await resolveResume({ serial: 4, streamId }, src);
    expect(cold).toMatchObject({ kind: 'recovered', source: 'cold', replayed: 4, position: { serial: 8 } });
    expect(await resolveResume({ serial: 1, streamId }, src)).toMatchObject({ code: 'position_expired' });
    await history.markDegraded('app', 'ch', 'durable_history_write_failed');
    t += 120_000; // the hot tier expired
    expect(await resolveResume({ serial: 4, streamId }, src)).toMatchObject({ code: 'persistence_unavailable' });
    expect(await resolveResume({ serial: 4, streamId }, { ...src, cold: { kind: 'disabled' } })).toMatchObject({
      code: 'position_expired',
      reason: 'history_disabled',
    });
    const down: RecoverySources = {
      ...src,
      cold: {
        kind: 'history',
        state: () => Promise.reject(new HistoryError('store_unavailable', 'redis down')),
        rowsBetween: async () => [],
      },
    };
    const failed = await resolveResume({ serial: 4, streamId }, down);
    expect(failed).toMatchObject({ code: 'persistence_unavailable', reason: 'durable_store_unavailable' });
    if (failed.kind === 'failed') {
      expect(resumeFailedData(failed)).toEqual({
        code: 'persistence_unavailable',
        reason: 'durable_store_unavailable',
        expected_stream_id: streamId,
        current_stream_id: null,
        oldest_available_serial: null,
        newest_available_serial: null,
      });
    }
  });
});
