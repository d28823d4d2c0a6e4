import { describe, expect, it } from 'vitest';
import type { ChannelMessage, ChannelSignal } from '../pipeline/message.ts';
import { serialOf } from '../pipeline/message.ts';
import { ChannelOrderer, type OrdererDeps } from './orderer.ts';

const ev = (serial: number, streamId = 's1', channel = 'c'): ChannelMessage => ({
  kind: 'event',
  appId: 'a',
  channel,
  event: 'e',
  data: String(serial),
  serial,
  streamId,
});

function harness(store: ChannelMessage[] = [], overrides: Partial<OrdererDeps> = {}) {
  const delivered: ChannelSignal[] = [];
  const timers: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  const gaps: Array<[string, number]> = [];
  let duplicates = 0;
  const repairs: Array<[number, number]> = [];
  const o = new ChannelOrderer({
    now: () => 0,
    setTimer: (fn, ms) => {
      const t = { fn, ms, cancelled: false };
      timers.push(t);
      return t;
    },
    clearTimer: (h) => {
      (h as { cancelled: boolean }).cancelled = true;
    },
    deliver: (m) => delivered.push(m),
    repair: async (_a, channel, _k, from, to) => {
      repairs.push([from, to]);
      return store.filter((m) => m.channel === channel && (serialOf(m) ?? 0) >= from && (serialOf(m) ?? 0) <= to);
    },
    gapTimeoutMs: 100,
    maxPendingPerChannel: 10,
    maxChannels: 100,
    onDuplicate: () => duplicates++,
    onGap: (r, n) => gaps.push([r, n]),
    ...overrides,
  });
  const fire = async () => {
    for (const t of timers.splice(0)) if (!t.cancelled) t.fn();
    await new Promise((r) => setImmediate(r));
  };
  const serials = () => delivered.map((m) => (m.kind === 'reset' ? -1 : serialOf(m)));
  return { o, delivered, serials, fire, gaps, repairs, dup: () => duplicates, timers };
}

describe('ChannelOrderer', () => {
  it('delivers in serial order whatever order messages arrive in', () => {
    const h = harness();
    for (const s of [1, 3, 2, 5, 4]) h.o.accept(ev(s));
    expect(h.serials()).toEqual([1, 2, 3, 4, 5]);
    expect(h.o.held).toBe(0);
  });

  it('drops duplicates', () => {
    const h = harness();
    for (const s of [1, 2, 2, 1, 3, 3]) h.o.accept(ev(s));
    expect(h.serials()).toEqual([1, 2, 3]);
    expect(h.dup()).toBe(3);
  });

  it('repairs a gap from the store after the timeout, in order', async () => {
    const h = harness([ev(2), ev(3)]);
    h.o.accept(ev(1));
    h.o.accept(ev(4));
    expect(h.serials()).toEqual([1]);
    expect(h.timers[0]?.ms).toBe(100);
    await h.fire();
    expect(h.repairs).toEqual([[2, 3]]);
    expect(h.serials()).toEqual([1, 2, 3, 4]);
    expect(h.gaps).toEqual([['repaired', 2]]);
  });

  it('skips what the store no longer has, counted as unrecoverable', async () => {
    const h = harness([]);
    h.o.accept(ev(1));
    h.o.accept(ev(5));
    await h.fire();
    expect(h.serials()).toEqual([1, 5]);
    expect(h.gaps).toEqual([['unrecoverable', 3]]);
    h.o.accept(ev(6));
    expect(h.serials()).toEqual([1, 5, 6]);
  });

  it('keeps holding while the store cannot be reached, and repairs once it can', async () => {
    let reachable = false;
    const h = harness([ev(2)], {
      repair: async (_a, _c, _k, from, to) => {
        if (!reachable) throw new Error('store unavailable');
        return [ev(2)].filter((m) => (serialOf(m) ?? 0) >= from && (serialOf(m) ?? 0) <= to);
      },
    });
    h.o.accept(ev(1));
    h.o.accept(ev(3));
    await h.fire();
    await h.fire();
    expect(h.serials(), 'nothing skipped while the store is down').toEqual([1]);
    expect(
      h.timers.some((t) => !t.cancelled && t.ms > 100),
      'backs off',
    ).toBe(true);
    reachable = true;
    await h.fire();
    expect(h.serials()).toEqual([1, 2, 3]);
    expect(h.gaps).toEqual([['repaired', 1]]);
  });

  it('repairs at once when too many messages wait', async () => {
    const h = harness([ev(2)], { maxPendingPerChannel: 2 });
    h.o.accept(ev(1));
    for (const s of [3, 4, 5]) h.o.accept(ev(s));
    await new Promise((r) => setImmediate(r));
    expect(h.serials()).toEqual([1, 2, 3, 4, 5]);
  });

  it('starts over on a new stream id, and a reset forgets the channel', () => {
    const h = harness();
    h.o.accept(ev(1));
    h.o.accept(ev(2));
    h.o.accept(ev(1, 's2'));
    h.o.accept(ev(2, 's2'));
    expect(h.serials()).toEqual([1, 2, 1, 2]);
    h.o.accept({ kind: 'reset', appId: 'a', channel: 'c', previousStreamId: 's2', newStreamId: 's3' });
    expect(h.o.tracked).toBe(0);
    h.o.accept(ev(7, 's3'));
    expect(h.serials()).toEqual([1, 2, 1, 2, -1, 7]);
  });

  it('passes messages without a serial straight through and keeps channels apart', () => {
    const h = harness();
    h.o.accept({ kind: 'event', appId: 'a', channel: 'x', event: 'e', data: '' });
    h.o.accept(ev(1, 's', 'c1'));
    h.o.accept(ev(3, 's', 'c1'));
    h.o.accept(ev(1, 's', 'c2'));
    expect(h.delivered).toHaveLength(3);
    expect(h.o.held).toBe(1);
  });

  it('catches up from the store heads after a reconnect', async () => {
    const store = [ev(2), ev(3), ev(4)];
    const h = harness(store);
    h.o.accept(ev(1));
    const n = await h.o.catchUp(h.o.channels(), async () => 4);
    expect(n).toEqual({ delivered: 3, failed: [] });
    expect(h.serials()).toEqual([1, 2, 3, 4]);
  });

  it('orders a channel from an attach point: an earlier message never seen is repaired, not skipped', async () => {
    const h = harness([ev(1)]);
    h.o.expect('a', 'c', 'event', 's1', 1);
    h.o.accept(ev(2));
    expect(h.serials()).toEqual([]);
    await h.fire();
    expect(h.serials()).toEqual([1, 2]);
    // An attach point of a channel already tracked changes nothing.
    h.o.expect('a', 'c', 'event', 's1', 99);
    h.o.accept(ev(3));
    expect(h.serials()).toEqual([1, 2, 3]);
  });

  it('names the channels a catch-up could not read, for the caller to try again', async () => {
    const h = harness([ev(2)]);
    h.o.accept(ev(1));
    const down = await h.o.catchUp(h.o.channels(), async () => {
      throw new Error('store unavailable');
    });
    expect(down.failed).toHaveLength(1);
    expect(h.serials()).toEqual([1]);
    const back = await h.o.catchUp(down.failed, async () => 2);
    expect(back).toEqual({ delivered: 1, failed: [] });
    expect(h.serials()).toEqual([1, 2]);
  });
});
