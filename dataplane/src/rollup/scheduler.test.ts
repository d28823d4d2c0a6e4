import { describe, expect, it } from 'vitest';
import { propertySeeds, Rng } from '../messages/testing/prng.ts';
import { DeadlineHeap } from './deadline-heap.ts';
import { type Delivery, type RollupInput, type RollupKey, RollupScheduler } from './scheduler.ts';
import { isAllowedRollupWindow, parseRollupWindow } from './windows.ts';

const key = (ms = 'm1', channel = 'private-ai-x'): RollupKey => ({ appId: 'app', channel, messageSerial: ms });
const ap = (fragment: string, terminal = false): RollupInput<string> => ({
  action: 'append',
  fragment,
  terminal,
  message: `v:${fragment}`,
});
const brief = (ds: Delivery<string>[]) => ds.map((d) => [d.window, d.reason, d.fragment, d.coalesced]);

describe('DeadlineHeap', () => {
  it.each(propertySeeds(10))('pops in (due, insertion) order (seed %i)', (seed) => {
    const rng = new Rng(seed);
    const heap = new DeadlineHeap<number>();
    const pushed: [number, number][] = [];
    for (let i = 0; i < 500; i++) {
      const due = rng.int(0, 50);
      heap.push(due, i);
      pushed.push([due, i]);
      if (rng.bool(0.2)) {
        pushed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        const [d, item] = pushed.shift()!;
        expect(heap.pop()).toEqual({ due: d, item });
      }
    }
    pushed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (const [d, item] of pushed) {
      expect(heap.peekDue()).toBe(d);
      expect(heap.pop()).toEqual({ due: d, item });
    }
    expect(heap.pop()).toBeUndefined();
  });
});

describe('windows', () => {
  it('accepts only the allowed values', () => {
    expect([0, 20, 40, 100, 500].every(isAllowedRollupWindow)).toBe(true);
    expect(isAllowedRollupWindow(30)).toBe(false);
    expect(parseRollupWindow(undefined)).toBe(40);
    expect(parseRollupWindow('100')).toBe(100);
    expect(parseRollupWindow('30')).toBeUndefined();
    expect(parseRollupWindow('1e2')).toBeUndefined();
    expect(parseRollupWindow(-0.5)).toBeUndefined();
  });
});

describe('RollupScheduler at one window', () => {
  it('delivers the first append, holds the rest, flushes them once at the deadline', () => {
    const s = new RollupScheduler<string>();
    expect(brief(s.offer(key(), ap('a'), [40], 1000))).toEqual([[40, 'immediate', 'a', 1]]);
    expect(s.offer(key(), ap('b'), [40], 1010)).toEqual([]);
    expect(s.offer(key(), ap('c'), [40], 1020)).toEqual([]);
    expect(s.stats()).toMatchObject({ heldBytes: 2, pendingWindows: 1, activeStreams: 1 });
    expect(s.tick(1039).deliveries).toEqual([]);
    const [d] = s.tick(1040).deliveries;
    expect(d).toEqual({
      key: key(),
      window: 40,
      reason: 'deadline',
      action: 'append',
      message: 'v:c',
      fragment: 'bc',
      coalesced: 2,
      firstSeenMs: 1010,
      deliveredAtMs: 1040,
      dueMs: 1040,
    });
    expect(s.stats().heldBytes).toBe(0);
  });

  it('keeps one delivery per window while the stream is steady, and untracks after W idle', () => {
    const s = new RollupScheduler<string>();
    s.offer(key(), ap('a'), [40], 0);
    s.offer(key(), ap('b'), [40], 10);
    expect(brief(s.tick(45).deliveries)).toEqual([[40, 'deadline', 'b', 1]]); // next deadline 85
    s.offer(key(), ap('c'), [40], 50);
    expect(s.tick(80).deliveries).toEqual([]);
    expect(brief(s.tick(85).deliveries)).toEqual([[40, 'deadline', 'c', 1]]); // next deadline 125
    expect(s.isTracked(key(), 40)).toBe(true);
    expect(s.tick(125).deliveries).toEqual([]); // nothing held for a whole window: idle
    expect(s.isTracked(key(), 40)).toBe(false);
    expect(s.stats()).toMatchObject({ activeStreams: 0, trackedWindows: 0 });
    expect(brief(s.offer(key(), ap('d'), [40], 126))).toEqual([[40, 'immediate', 'd', 1]]);
  });

  it('merges an append that arrives after a missed deadline into ONE delivery', () => {
    const s = new RollupScheduler<string>();
    s.offer(key(), ap('a'), [40], 0);
    s.offer(key(), ap('b'), [40], 10);
    // No tick ran at 40; the next append comes at 42.
    expect(brief(s.offer(key(), ap('c'), [40], 42))).toEqual([[40, 'late', 'bc', 2]]);
    // The stale deadline entry at 40 is re-queued for 82, not flushed.
    expect(s.tick(50).deliveries).toEqual([]);
    s.offer(key(), ap('d'), [40], 60);
    expect(s.tick(81).deliveries).toEqual([]);
    expect(brief(s.tick(82).deliveries)).toEqual([[40, 'deadline', 'd', 1]]);
  });

  it('a late append with nothing held is delivered alone and restarts the window', () => {
    const s = new RollupScheduler<string>();
    s.offer(key(), ap('a'), [40], 0);
    expect(brief(s.offer(key(), ap('b'), [40], 41))).toEqual([[40, 'late', 'b', 1]]);
    expect(s.offer(key(), ap('c'), [40], 50)).toEqual([]);
    expect(brief(s.tick(81).deliveries)).toEqual([[40, 'deadline', 'c', 1]]);
  });

  it.each(['update', 'delete'] as const)('%s flushes what is held first, then goes out and untracks', (action) => {
    const s = new RollupScheduler<string>();
    s.offer(key(), ap('a'), [40], 0);
    s.offer(key(), ap('b'), [40], 5);
    const out = s.offer(key(), { action, message: action }, [40], 6);
    expect(out.map((d) => [d.reason, d.action, d.message, d.fragment])).toEqual([
      ['flush', 'append', 'v:b', 'b'],
      ['terminal', action, action, ''],
    ]);
    expect(s.isTracked(key(), 40)).toBe(false);
    expect(s.tick(1000).deliveries).toEqual([]);
    expect(brief(s.offer(key(), ap('c'), [40], 7))).toEqual([[40, 'immediate', 'c', 1]]);
  });

  it('a terminal append goes out at once with what is held, and untracks', () => {
    const s = new RollupScheduler<string>();
    s.offer(key(), ap('a'), [40], 0);
    s.offer(key(), ap('b'), [40], 5);
    const out = s.offer(key(), ap('!', true), [40], 6);
    expect(brief(out)).toEqual([[40, 'terminal', 'b!', 2]]);
    expect(out[0]).toMatchObject({ message: 'v:!', firstSeenMs: 5, deliveredAtMs: 6, action: 'append' });
    expect(s.stats()).toMatchObject({ activeStreams: 0, heldBytes: 0 });
    expect(brief(s.offer(key('m2'), ap('x', true), [40], 7))).toEqual([[40, 'terminal', 'x', 1]]);
    expect(s.isTracked(key('m2'), 40)).toBe(false);
  });

  it('W = 0 and a disabled scheduler pass every append through', () => {
    const s = new RollupScheduler<string>();
    expect(brief([...s.offer(key(), ap('a'), [0], 0), ...s.offer(key(), ap('b'), [0], 1)])).toEqual([
      [0, 'passthrough', 'a', 1],
      [0, 'passthrough', 'b', 1],
    ]);
    expect(s.stats().activeStreams).toBe(0);
    const off = new RollupScheduler<string>({ enabled: false });
    expect(brief([...off.offer(key(), ap('a'), [40], 0), ...off.offer(key(), ap('b'), [40], 1)])).toEqual([
      [40, 'passthrough', 'a', 1],
      [40, 'passthrough', 'b', 1],
    ]);
  });

  it('never runs its clock backwards', () => {
    const s = new RollupScheduler<string>();
    s.offer(key(), ap('a'), [40], 1000);
    s.offer(key(), ap('b'), [40], 500); // injected clock stepped back: treated as 1000
    expect(s.tick(900).deliveries).toEqual([]);
    const [d] = s.tick(1040).deliveries;
    expect(d?.firstSeenMs).toBe(1000);
    expect(d?.deliveredAtMs).toBe(1040);
  });
});

describe('RollupScheduler window groups (decision 12)', () => {
  it('keeps state only for the windows in use, and delivers per group', () => {
    const s = new RollupScheduler<string>();
    expect(brief(s.offer(key(), ap('a'), [0, 40, 100, 40], 0))).toEqual([
      [0, 'passthrough', 'a', 1],
      [40, 'immediate', 'a', 1],
      [100, 'immediate', 'a', 1],
    ]);
    expect(s.isTracked(key(), 20)).toBe(false);
    expect(s.stats()).toMatchObject({ activeStreams: 1, trackedWindows: 2 });
    expect(brief(s.offer(key(), ap('b'), [0, 40, 100], 10))).toEqual([[0, 'passthrough', 'b', 1]]);
    expect(brief(s.tick(40).deliveries)).toEqual([[40, 'deadline', 'b', 1]]);
    s.offer(key(), ap('c'), [0, 40, 100], 50);
    expect(brief(s.tick(80).deliveries)).toEqual([[40, 'deadline', 'c', 1]]);
    expect(brief(s.tick(100).deliveries)).toEqual([[100, 'deadline', 'bc', 2]]);
  });

  it('a terminal mutation reaches every window that still has state', () => {
    const s = new RollupScheduler<string>();
    s.offer(key(), ap('a'), [40, 100], 0);
    s.offer(key(), ap('b'), [40, 100], 1);
    // The 100 ms subscribers left; their state still flushes and untracks.
    const out = s.offer(key(), { action: 'update', message: 'u' }, [40], 2);
    expect(out.map((d) => [d.window, d.reason])).toEqual([
      [40, 'flush'],
      [40, 'terminal'],
      [100, 'flush'],
      [100, 'terminal'],
    ]);
    expect(s.stats()).toMatchObject({ activeStreams: 0, trackedWindows: 0 });
  });

  it('rejects malformed windows', () => {
    const s = new RollupScheduler<string>();
    expect(() => s.offer(key(), ap('a'), [-1], 0)).toThrow(TypeError);
    expect(() => s.offer(key(), ap('a'), [1.5], 0)).toThrow(TypeError);
  });
});

describe('RollupScheduler bounds', () => {
  it('bypasses streams past the per-channel cap, per channel', () => {
    const s = new RollupScheduler<string>({ maxTrackedStreamsPerChannel: 2 });
    s.offer(key('m1'), ap('a'), [40], 0);
    s.offer(key('m2'), ap('a'), [40], 0);
    expect(brief(s.offer(key('m3'), ap('a'), [40], 0))).toEqual([[40, 'bypass', 'a', 1]]);
    expect(brief(s.offer(key('m3'), ap('b'), [40], 1))).toEqual([[40, 'bypass', 'b', 1]]);
    expect(brief(s.offer(key('m9', 'other'), ap('a'), [40], 1))).toEqual([[40, 'immediate', 'a', 1]]);
    // A tracked stream may add a window without counting twice.
    expect(brief(s.offer(key('m1'), ap('b'), [40, 100], 2))).toEqual([[100, 'immediate', 'b', 1]]);
    expect(s.stats().bypassed).toBe(2);
    // Freeing a slot lets the next stream in.
    s.offer(key('m2'), { action: 'delete', message: 'd' }, [40], 3);
    expect(brief(s.offer(key('m3'), ap('c'), [40], 4))).toEqual([[40, 'immediate', 'c', 1]]);
  });

  it('delivers early instead of holding past the byte ceiling', () => {
    const s = new RollupScheduler<string>({ maxHeldBytes: 4 });
    s.offer(key(), ap('a'), [40], 0);
    expect(s.offer(key(), ap('bcd'), [40], 1)).toEqual([]);
    expect(brief(s.offer(key(), ap('éé'), [40], 2))).toEqual([[40, 'overflow', 'bcdéé', 2]]);
    expect(s.stats()).toMatchObject({ heldBytes: 0, overflowed: 1 });
  });

  it('counts held messages with sizeOf, replacing the previous one', () => {
    const s = new RollupScheduler<string>({ sizeOf: (m) => m.length * 10, maxHeldBytes: 100 });
    s.offer(key(), ap('a'), [40], 0);
    s.offer(key(), ap('b'), [40], 1); // 1 + 'v:b'.length * 10
    expect(s.stats().heldBytes).toBe(31);
    s.offer(key(), ap('cc'), [40], 2); // + 2, message replaced: 31 + 2 + 40 - 30
    expect(s.stats().heldBytes).toBe(43);
    expect(brief(s.offer(key(), ap('d'.repeat(30)), [40], 3))).toEqual([[40, 'overflow', 'bcc' + 'd'.repeat(30), 3]]);
    expect(s.stats().heldBytes).toBe(0);
  });

  it('pops at most maxItems per tick and says when more are due', () => {
    const s = new RollupScheduler<string>({ maxTrackedStreamsPerChannel: 10_000 });
    for (let i = 0; i < 100; i++) s.offer(key(`m${i}`), ap('a'), [40], 0);
    for (let i = 0; i < 100; i++) s.offer(key(`m${i}`), ap('b'), [40], 1);
    const first = s.tick(40, 30);
    expect(first).toMatchObject({ examined: 30, more: true });
    expect(first.deliveries).toHaveLength(30);
    let total = first.deliveries.length;
    for (;;) {
      const r = s.tick(40, 30);
      expect(r.examined).toBeLessThanOrEqual(30);
      total += r.deliveries.length;
      if (!r.more) break;
    }
    expect(total).toBe(100);
    expect(s.stats().heldBytes).toBe(0);
  });

  it('drain delivers everything held and forgets every stream', () => {
    const s = new RollupScheduler<string>();
    s.offer(key('m1'), ap('a'), [40, 100], 0);
    s.offer(key('m1'), ap('b'), [40, 100], 1);
    s.offer(key('m2', 'c2'), ap('x'), [40], 0);
    const out = s.drain(5);
    expect(brief(out)).toEqual([
      [40, 'drain', 'b', 1],
      [100, 'drain', 'b', 1],
    ]);
    expect(s.stats()).toMatchObject({
      activeStreams: 0,
      trackedWindows: 0,
      pendingWindows: 0,
      heldBytes: 0,
      scheduledDeadlines: 0,
    });
    expect(s.nextDueMs()).toBeUndefined();
  });

  it('counts received and delivered appends for the rollup ratio', () => {
    const s = new RollupScheduler<string>();
    s.offer(key(), ap('a'), [40], 0);
    s.offer(key(), ap('b'), [40], 1);
    s.offer(key(), ap('c'), [40], 2);
    s.tick(40);
    s.offer(key(), { action: 'update', message: 'u' }, [40], 41);
    expect(s.stats()).toMatchObject({ appendsReceived: 3, appendsDelivered: 2 });
  });

  it('flushBefore delivers, in order, the held appends of other streams that come earlier', () => {
    type M = { s: number };
    const s = new RollupScheduler<M>();
    const order = (m: M) => m.s;
    const app = (serial: number): RollupInput<M> => ({
      action: 'append',
      fragment: `f${serial}`,
      message: { s: serial },
    });
    s.offer(key('a'), app(1), [40], 0); // immediate
    s.offer(key('b'), app(2), [40], 0); // immediate
    s.offer(key('a'), app(3), [40], 1); // held
    s.offer(key('b'), app(4), [40], 2); // held
    s.offer(key('a'), app(6), [40], 3); // held: a's latest is 6
    const out = s.flushBefore('app', 'private-ai-x', 40, 5, order, 4);
    expect(out.map((d) => [d.key.messageSerial, d.message.s, d.fragment, d.reason])).toEqual([['b', 4, 'f4', 'flush']]);
    // a (latest 6) stays held; another window or channel is untouched.
    expect(s.flushBefore('app', 'private-ai-x', 100, 99, order, 4)).toEqual([]);
    expect(s.flushChannelWindow('app', 'private-ai-x', 40, order, 5).map((d) => d.message.s)).toEqual([6]);
    expect(s.isTracked(key('a'), 40)).toBe(true);
  });

  it('dropChannel forgets a channel without delivering and reports what it dropped', () => {
    const s = new RollupScheduler<string>();
    s.offer(key('m1'), ap('a'), [40], 0);
    s.offer(key('m1'), ap('b'), [40], 1);
    s.offer(key('m2', 'other'), ap('x'), [40], 0);
    s.offer(key('m2', 'other'), ap('y'), [40], 1);
    expect(s.dropChannel('app', 'private-ai-x')).toBe(1);
    expect(s.isTracked(key('m1'), 40)).toBe(false);
    expect(brief(s.tick(100).deliveries)).toEqual([[40, 'deadline', 'y', 1]]);
    expect(s.activeStreamsByApp()).toEqual(new Map([['app', 1]]));
  });

  it('rejects bad options', () => {
    expect(() => new RollupScheduler({ maxHeldBytes: -1 })).toThrow(TypeError);
  });
});
