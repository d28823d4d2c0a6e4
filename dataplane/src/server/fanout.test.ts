import { afterEach, describe, expect, it } from 'vitest';
import { ChannelRegistry } from '../channels/registry.ts';
import { createMetrics } from '../metrics/registry.ts';
import { type BroadcastMessage, createWire, type Wire } from '../protocol/sender.ts';
import type { Connection, FlushTally } from './connection.ts';
import { Fanout } from './fanout.ts';
import { framePayloadBytes, textFrame } from './ws-frame.ts';

/** A connection with a real queue contract but an in-memory "socket" (the frames written). */
interface FakeConn {
  socketId: string;
  appId: string;
  version: 1 | 2;
  state: 'open' | 'closing';
  queued: Buffer[];
  written: Buffer[][];
  budget: number;
  readonly queuedFrames: number;
  enqueue(message: string | Buffer, bytes: number): boolean;
  enqueueFrame(frame: Buffer, payloadBytes: number): boolean;
  flush(tally: FlushTally): void;
  discardQueue(): void;
}

function fake(socketId: string, version: 1 | 2, budget = 1e9): FakeConn {
  let used = 0;
  return {
    socketId,
    appId: 'a',
    version,
    state: 'open',
    queued: [],
    written: [],
    budget,
    get queuedFrames() {
      return this.queued.length;
    },
    enqueue(message, bytes) {
      if (used + bytes > this.budget) return false;
      return this.enqueueFrame(textFrame(message), bytes);
    },
    enqueueFrame(frame) {
      if (this.state !== 'open' || used + frame.length > this.budget) return false;
      used += frame.length;
      this.queued.push(frame);
      return true;
    },
    flush(tally) {
      const q = this.queued;
      this.queued = [];
      used = 0;
      if (q.length) this.written.push(q);
      tally.frames += q.length;
      tally.bytes += q.reduce((n, f) => n + framePayloadBytes(f), 0);
    },
    discardQueue() {
      this.queued = [];
      used = 0;
    },
  };
}

/** The text of a frame built by textFrame. */
const text = (frame: Buffer | undefined): string =>
  frame ? frame.subarray(frame.length - framePayloadBytes(frame)).toString('utf8') : '';

function countingWire(version: 1 | 2, calls: { n: number }): Wire {
  const w = createWire(version, () => 'id');
  return {
    ...w,
    broadcast: (m: BroadcastMessage) => {
      calls.n++;
      return w.broadcast(m);
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));
let slow: Connection[] = [];
afterEach(() => {
  slow = [];
});

function setup() {
  const calls1 = { n: 0 };
  const calls2 = { n: 0 };
  const metrics = createMetrics('t', { defaultMetrics: false });
  const fanout = new Fanout({
    metrics,
    wires: { 1: countingWire(1, calls1), 2: countingWire(2, calls2) },
    onSlowConsumer: (c) => slow.push(c),
  });
  const registry = new ChannelRegistry<Connection>();
  return { fanout, registry, calls1, calls2, metrics };
}

describe('Fanout', () => {
  it('encodes once per protocol version and shares the same Buffer', async () => {
    const { fanout, registry, calls1, calls2 } = setup();
    const conns = [fake('1', 1), fake('2', 1), fake('3', 2), fake('4', 2), fake('5', 2)];
    for (const c of conns) registry.subscribe('a', 'ch', c as unknown as Connection);
    const state = registry.get('a', 'ch');
    if (!state) throw new Error('no state');
    expect(fanout.broadcast('a', state, { event: 'e', channel: 'ch', data: 'd' })).toBe(5);
    expect(calls1.n).toBe(1);
    expect(calls2.n).toBe(1);
    expect(conns[0]?.queued[0]).toBe(conns[1]?.queued[0]);
    expect(conns[2]?.queued[0]).toBe(conns[4]?.queued[0]);
    await tick();
    expect(conns.every((c) => c.written.length === 1)).toBe(true);
    expect(JSON.parse(text(conns[0]?.written[0]?.[0]))).toEqual({ event: 'e', channel: 'ch', data: 'd' });
  });

  it('frames a shared message once for every recipient queued with it', async () => {
    const { fanout, metrics } = setup();
    const conns = [fake('1', 2), fake('2', 2), fake('3', 2)];
    const message = Buffer.from('{"event":"e"}');
    for (const c of conns) expect(fanout.queueShared(c as unknown as Connection, message)).toBe(true);
    const other = Buffer.from('{"event":"f"}');
    expect(fanout.queueShared(conns[0] as unknown as Connection, other)).toBe(true);
    expect(conns[0]?.queued[0]).toBe(conns[2]?.queued[0]);
    expect(conns[0]?.queued.map(text)).toEqual(['{"event":"e"}', '{"event":"f"}']);
    await tick();
    expect(conns.map((c) => c.written.length)).toEqual([1, 1, 1]);
    // Metrics are summed over the flush: 4 frames, 4 * 13 payload bytes.
    const sent = await metrics.wsMessagesSentTotal.get();
    const bytes = await metrics.socketTransmittedBytes.get();
    expect(sent.values).toEqual([{ labels: { app_id: 'a' }, value: 4 }]);
    expect(bytes.values).toEqual([{ labels: { app_id: 'a' }, value: 52 }]);
  });

  it('coalesces frames due in the same tick into one write per socket, in order', async () => {
    const { fanout, registry } = setup();
    const c = fake('1', 1);
    registry.subscribe('a', 'ch', c as unknown as Connection);
    const state = registry.get('a', 'ch');
    if (!state) throw new Error('no state');
    for (let i = 0; i < 5; i++) fanout.broadcast('a', state, { event: 'e', channel: 'ch', data: String(i) });
    fanout.send(c as unknown as Connection, 'direct');
    await tick();
    expect(c.written).toHaveLength(1);
    expect(c.written[0]?.map(text).map((s) => (s.startsWith('{') ? JSON.parse(s).data : s))).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      'direct',
    ]);
  });

  it('skips the excluded socket and reports over-budget sockets after the loop', async () => {
    const { fanout, registry } = setup();
    const a = fake('a', 1);
    const b = fake('b', 1, 10);
    const x = fake('x', 2);
    for (const c of [a, b, x]) registry.subscribe('a', 'ch', c as unknown as Connection);
    const state = registry.get('a', 'ch');
    if (!state) throw new Error('no state');
    expect(fanout.broadcast('a', state, { event: 'e', channel: 'ch', data: 'd' }, { excludeSocketId: 'x' })).toBe(1);
    expect(slow).toEqual([]);
    await tick();
    expect(slow).toEqual([b]);
    expect(x.written).toEqual([]);
  });
});
