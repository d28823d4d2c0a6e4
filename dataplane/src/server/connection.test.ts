// The direct writer of Connection on real loopback sockets: ws's server side, a ws client.
import type { AddressInfo, Socket } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { resolveConfig } from '../config/load.ts';
import { createWire } from '../protocol/sender.ts';
import { Connection, type FlushTally } from './connection.ts';
import { parseUpgradeRequest } from './ws-upgrade.ts';

const config = resolveConfig({ apps: [{ id: 'a', key: 'k', secret: 's' }] });
let server: WebSocketServer | undefined;
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A Connection on the server side of a real WebSocket, and the client that reads it. */
async function pair(maxBufferedBytes = 1 << 20): Promise<{ conn: Connection; client: WebSocket; got: string[] }> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => server?.once('listening', () => resolve()));
  const accepted = new Promise<WebSocket>((resolve) => server?.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, {
    perMessageDeflate: false,
  });
  clients.push(client);
  const got: string[] = [];
  client.on('message', (d) => got.push(d.toString()));
  const [ws] = await Promise.all([accepted, new Promise((resolve) => client.once('open', resolve))]);
  const parsed = parseUpgradeRequest('/app/k?protocol=2');
  if (!parsed.ok) throw new Error('params');
  const conn = new Connection({
    socketId: '1.1',
    app: config.apps[0] as (typeof config.apps)[number],
    ws,
    wire: createWire(2, () => 'm'),
    log: pino({ level: 'silent' }),
    params: parsed.params,
    nowMs: 0,
    maxBufferedBytes,
  });
  return { conn, client, got };
}

const tally = (): FlushTally => ({ frames: 0, bytes: 0 });

describe('Connection (direct frame writer)', () => {
  it('writes queued messages in order, one burst per flush, interleaved correctly with ws sends', async () => {
    const { conn, got } = await pair();
    expect(conn.enqueue('one', 3)).toBe(true);
    expect(conn.enqueue(Buffer.from('two'), 3)).toBe(true);
    expect(conn.queuedFrames).toBe(2);
    const t = tally();
    conn.flush(t);
    expect(t).toEqual({ frames: 2, bytes: 6 });
    expect(conn.queuedFrames).toBe(0);
    conn.ws.send('three');
    expect(conn.enqueue('four', 4)).toBe(true);
    conn.flush(t);
    await expect.poll(() => got.length).toBe(4);
    expect(got).toEqual(['one', 'two', 'three', 'four']);
  });

  it('refuses frames past the send budget, counting what the socket still holds', async () => {
    const { conn, client } = await pair(64 * 1024);
    (client as unknown as { _socket: Socket })._socket.pause();
    const big = 'x'.repeat(16 * 1024);
    let accepted = 0;
    // Bounded: the kernel buffers fill first, then the socket's writable buffer, then the budget.
    for (let i = 0; i < 2000 && conn.enqueue(big, big.length); i++) {
      accepted++;
      if (conn.queuedBytes > 32 * 1024) conn.flush(tally());
    }
    expect(accepted).toBeLessThan(2000);
    expect(conn.queuedBytes).toBeLessThanOrEqual(64 * 1024);
    expect(conn.enqueue(big, big.length)).toBe(false);
  });

  it('lets one frame larger than the budget through to an idle socket, but not behind a backlog', async () => {
    const { conn, got } = await pair(16 * 1024);
    const huge = 'y'.repeat(100 * 1024);
    expect(conn.enqueue(huge, huge.length)).toBe(true);
    expect(conn.enqueue('next', 4)).toBe(false);
    conn.flush(tally());
    await expect.poll(() => got.length).toBe(1);
    expect(got[0]?.length).toBe(huge.length);
  });

  it('writes nothing once the close handshake started, and nothing after discardQueue', async () => {
    const { conn, client, got } = await pair();
    conn.enqueue('dropped', 7);
    conn.discardQueue();
    conn.flush(tally());
    conn.enqueue('late', 4);
    conn.ws.close(1000);
    const t = tally();
    conn.flush(t);
    expect(t.frames).toBe(0);
    await new Promise<void>((resolve) => client.once('close', () => resolve()));
    expect(got).toEqual([]);
  });
});
