// Time- and pressure-driven behaviour: heartbeats, the sign-in deadline, the slow-consumer
// policy, drain and shutdown.
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { signinSignature } from '../../dataplane/src/auth/index.ts';
import { startTestNode, type TestNode } from '../helpers/test-node.ts';
import { TestWsClient, tryUpgrade } from '../helpers/ws-client.ts';

let node: TestNode;
const sockets: TestWsClient[] = [];
async function open(query: Record<string, string> = { protocol: '7' }, opts: { autoPong?: boolean } = {}) {
  const c = await TestWsClient.established(node.wsUrl(query), opts);
  sockets.push(c);
  return c;
}
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await node?.close();
});

describe('heartbeats', () => {
  it('V1: pings an idle socket and closes it with 4201 when no pong comes', async () => {
    node = await startTestNode({ websocket: { activityTimeoutSeconds: 1, pongTimeoutSeconds: 1 } });
    const silent = await open();
    const polite = await open();
    expect(JSON.parse(silent.frames[0]?.data as string)).toMatchObject({ activity_timeout: 1 });
    polite.ws.on('message', (d) => {
      if (String(d) === '{"event":"pusher:ping"}') polite.send({ event: 'pusher:pong' });
    });
    await silent.waitForEvent('pusher:ping', 2500);
    expect(await silent.waitClose(2500)).toEqual({ code: 4201, reason: 'Pong reply not received in time' });
    await polite.waitForEvent('pusher:ping', 2500);
    await new Promise((r) => setTimeout(r, 1200));
    expect(polite.closeInfo).toBeUndefined();
    expect(await node.metric('connection_errors_total', { error_type: 'pong_timeout' })).toBe(1);
  });

  it('V2: uses native pings and closes with 4201 when the native pong is missing', async () => {
    node = await startTestNode({
      websocket: { activityTimeoutSeconds: 1, pongTimeoutSeconds: 1, pingIntervalSeconds: 1 },
    });
    const deaf = await open({ protocol: '2' }, { autoPong: false });
    const alive = await open({ protocol: '2' });
    let pings = 0;
    alive.ws.on('ping', () => pings++);
    expect((await deaf.waitClose(4000)).code).toBe(4201);
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(alive.closeInfo).toBeUndefined();
    // No application-level ping on V2.
    expect(alive.frames.some((f) => f.event.endsWith(':ping'))).toBe(false);
  });
});

describe('enableUserAuthentication', () => {
  it('closes a socket that neither signs in nor authorizes in time (4009)', async () => {
    node = await startTestNode({ app: { enableUserAuthentication: true, userAuthenticationTimeoutSeconds: 1 } });
    const anon = await open();
    const user = await open();
    const userData = JSON.stringify({ id: 'u1' });
    user.send({
      event: 'pusher:signin',
      data: { user_data: userData, auth: `app-key:${signinSignature('app-secret', user.socketId, userData)}` },
    });
    await user.waitForEvent('pusher:signin_success');
    const close = await anon.waitClose(3000);
    expect(close.code).toBe(4009);
    expect(anon.frames.at(-1)?.data).toEqual({ code: 4009, message: 'Connection not authenticated within 1s' });
    await new Promise((r) => setTimeout(r, 300));
    expect(user.closeInfo).toBeUndefined();
  });
});

describe('slow consumers', () => {
  it('closes a socket that stops reading with 4100 and keeps memory bounded', async () => {
    node = await startTestNode({ websocket: { sendBufferMaxBytes: 64 * 1024 } });
    const slow = await open();
    const fast = await open();
    await slow.subscribe('firehose');
    await fast.subscribe('firehose');
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    const payload = 'x'.repeat(16 * 1024);
    let fastGot = 0;
    fast.ws.on('message', () => fastGot++);
    let sent = 0;
    // Two 16 KiB frames per tick stay under the 64 KiB budget of a socket that reads; the
    // paused one fills the kernel buffers, then ws's, then its budget.
    while ((await node.metric('connection_errors_total', { error_type: 'client_too_slow' })) === 0 && sent < 20_000) {
      node.engine.publish({ appId: 'app-id', channel: 'firehose', event: 'big', data: payload });
      node.engine.publish({ appId: 'app-id', channel: 'firehose', event: 'big', data: payload });
      sent += 2;
      await expect.poll(() => fastGot >= sent, { interval: 1, timeout: 2000 }).toBe(true);
    }
    expect(await node.metric('connection_errors_total', { error_type: 'client_too_slow' })).toBe(1);
    expect(node.engine.connectionCount()).toBe(1);
    expect(node.engine.channelInfo('app-id', 'firehose').subscriptionCount).toBe(1);
    // Once it reads again, the client sees the 4100 close after what was already in flight.
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    expect((await slow.waitClose(5000)).code).toBe(4100);
    expect(fast.closeInfo).toBeUndefined();
  });
});

describe('drain and shutdown', () => {
  it('refuses upgrades with 503 and closes connections in batches with 4200', async () => {
    node = await startTestNode();
    const clients = await Promise.all(Array.from({ length: 5 }, () => open()));
    const status = node.engine.startDrain({ batchSize: 2, batchIntervalMs: 300, reason: 'rolling upgrade' });
    expect(status).toMatchObject({ state: 'draining', closedConnections: 2, remainingConnections: 3 });
    expect(node.engine.draining).toBe(true);
    expect(node.engine.startDrain()).toMatchObject({ state: 'draining' }); // idempotent
    const refused = await tryUpgrade(node.wsUrl());
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    await new Promise((r) => setTimeout(r, 100));
    expect(clients.filter((c) => c.closeInfo).length).toBe(2);
    await node.engine.waitDrained(Date.now() + 5000);
    expect(node.engine.drainStatus()).toMatchObject({
      state: 'drained',
      closedConnections: 5,
      remainingConnections: 0,
    });
    for (const c of clients) {
      expect(await c.waitClose()).toEqual({ code: 4200, reason: 'Reconnect: rolling upgrade' });
      expect(c.frames.at(-1)).toMatchObject({ event: 'pusher:error', data: { code: 4200 } });
    }
  });

  it('waitDrained gives up at its deadline', async () => {
    node = await startTestNode();
    await open();
    const t0 = Date.now();
    await node.engine.waitDrained(Date.now() + 150);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(node.engine.connectionCount()).toBe(1);
  });

  it('close() closes every socket with 1001', async () => {
    node = await startTestNode();
    const c = await open();
    await node.engine.close();
    expect((await c.waitClose()).code).toBe(1001);
    expect(node.engine.connectionCount()).toBe(0);
  });
});
