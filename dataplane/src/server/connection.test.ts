import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { ResolvedApp } from '../config/load.ts';
import type { Wire } from '../protocol/sender.ts';
import { Connection } from './connection.ts';

/** A socket stand-in: only `bufferedAmount` is read by `enqueue`. */
function connection(maxBufferedBytes: number, ws: { bufferedAmount: number }) {
  return new Connection({
    socketId: '1.1',
    app: { id: 'app-1', limits: { maxClientEventsPerSecond: 10 }, enableUserAuthentication: false } as ResolvedApp,
    ws: ws as unknown as WebSocket,
    wire: {} as Wire,
    log: pino({ level: 'silent' }),
    params: {
      appKey: 'k',
      version: 2,
      echoMessages: true,
      appendRollupWindowMs: undefined,
      appendMode: 'full',
      token: undefined,
    },
    nowMs: 0,
    maxBufferedBytes,
  });
}

describe('Connection.enqueue send budget', () => {
  it('queues frames until the backlog would pass the budget', () => {
    const c = connection(100, { bufferedAmount: 0 });
    expect(c.enqueue('a', 60)).toBe(true);
    expect(c.enqueue('b', 40)).toBe(true);
    expect(c.queuedBytes).toBe(100);
    expect(c.enqueue('c', 1)).toBe(false);
    expect(c.queuedBytes).toBe(100);
  });

  it('counts what ws already buffers', () => {
    const ws = { bufferedAmount: 90 };
    const c = connection(100, ws);
    expect(c.enqueue('a', 20)).toBe(false);
    ws.bufferedAmount = 10;
    expect(c.enqueue('a', 20)).toBe(true);
  });

  it('lets one frame larger than the budget through to an idle socket, but not behind a backlog', () => {
    const idle = connection(100, { bufferedAmount: 0 });
    expect(idle.enqueue('big', 500)).toBe(true);
    expect(idle.enqueue('next', 1)).toBe(false);
    const busy = connection(100, { bufferedAmount: 1 });
    expect(busy.enqueue('big', 500)).toBe(false);
  });

  it('refuses once the socket is no longer open', () => {
    const c = connection(100, { bufferedAmount: 0 });
    c.state = 'closing';
    expect(c.enqueue('a', 1)).toBe(false);
  });
});
