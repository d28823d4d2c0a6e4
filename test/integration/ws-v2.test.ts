// Protocol V2 frames and the handshake rules, with raw WebSocket clients.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/test-node.ts';
import { TestWsClient, tryUpgrade } from '../helpers/ws-client.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let node: TestNode;
const sockets: TestWsClient[] = [];
async function v2(query: Record<string, string> = {}): Promise<TestWsClient & { socketId: string }> {
  const c = await TestWsClient.established(node.wsUrl({ protocol: '2', ...query }));
  sockets.push(c);
  return c;
}
async function v1(): Promise<TestWsClient & { socketId: string }> {
  const c = await TestWsClient.established(node.wsUrl());
  sockets.push(c);
  return c;
}
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await node?.close();
});

describe('V2 handshake and direct frames', () => {
  it('sends sockudo:connection_established with string data and a message_id', async () => {
    node = await startTestNode();
    const c = await v2();
    const f = c.frames[0];
    expect(f?.event).toBe('sockudo:connection_established');
    expect(f?.message_id).toMatch(UUID);
    expect(JSON.parse(f?.data as string)).toEqual({ socket_id: c.socketId, activity_timeout: 120 });
  });

  it('answers sockudo:ping and pusher:ping with sockudo:pong without data or message_id', async () => {
    node = await startTestNode();
    const c = await v2();
    c.send({ event: 'sockudo:ping' });
    c.send({ event: 'pusher:ping', data: {} });
    await c.waitForEvent('sockudo:pong');
    await c.waitForEvent('sockudo:pong');
    expect(c.raw.filter((r) => r === '{"event":"sockudo:pong"}')).toHaveLength(2);
  });

  it('acks a subscribe (either prefix, data as object or JSON string) with sockudo_internal:subscription_succeeded', async () => {
    node = await startTestNode();
    const c = await v2();
    const a = await c.subscribe('news', {}, 'sockudo');
    expect(a).toMatchObject({ event: 'sockudo_internal:subscription_succeeded', channel: 'news', data: '{}' });
    expect(a.message_id).toMatch(UUID);
    c.send({ event: 'pusher:subscribe', data: JSON.stringify({ channel: 'other' }) });
    await c.waitFor((f) => f.event === 'sockudo_internal:subscription_succeeded' && f.channel === 'other');
  });

  it('shapes broadcasts per protocol: V2 keeps message_id/extras/user_id/tags, V1 strips them', async () => {
    node = await startTestNode();
    const a = await v2();
    const b = await v2();
    const old = await v1();
    for (const c of [a, b, old]) await c.subscribe('feed');
    node.engine.publish({
      appId: 'app-id',
      channel: 'feed',
      event: 'update',
      data: '{"n":1}',
      userId: 'u1',
      extras: { headers: { k: 'v' } },
      tags: { region: 'eu' },
    });
    const fa = await a.waitForEvent('update');
    const fb = await b.waitForEvent('update');
    const fo = await old.waitForEvent('update');
    expect(fa).toEqual({
      event: 'update',
      channel: 'feed',
      data: '{"n":1}',
      user_id: 'u1',
      tags: { region: 'eu' },
      message_id: fa.message_id,
      extras: { headers: { k: 'v' } },
    });
    expect(fa.message_id).toMatch(UUID);
    expect(fb.message_id).toBe(fa.message_id);
    expect(fo).toEqual({ event: 'update', channel: 'feed', data: '{"n":1}', user_id: 'u1' });
  });

  it('keeps per-channel order and honours excludeSocketId', async () => {
    node = await startTestNode();
    const a = await v2();
    const b = await v2();
    await a.subscribe('ordered');
    await b.subscribe('ordered');
    for (let i = 0; i < 200; i++) {
      node.engine.publish({
        appId: 'app-id',
        channel: 'ordered',
        event: 'n',
        data: String(i),
        messageId: `m-${i}`,
        excludeSocketId: b.socketId,
      });
    }
    await a.waitFor((f) => f.data === '199');
    expect(a.frames.filter((f) => f.event === 'n').map((f) => f.data)).toEqual(
      Array.from({ length: 200 }, (_, i) => String(i)),
    );
    expect(a.frames.find((f) => f.data === '7')?.message_id).toBe('m-7');
    expect(b.frames.filter((f) => f.event === 'n')).toEqual([]);
  });

  it('echoes client events to a V2 sender by default and not with echo_messages=false', async () => {
    node = await startTestNode({ app: { enableClientMessages: true } });
    const { channelAuthSignature } = await import('../../dataplane/src/auth/index.ts');
    const echo = await v2();
    const quiet = await v2({ echo_messages: 'false' });
    for (const c of [echo, quiet]) {
      await c.subscribe('private-c', {
        auth: `app-key:${channelAuthSignature('app-secret', c.socketId, 'private-c')}`,
      });
    }
    echo.send({ event: 'client-a', channel: 'private-c', data: { from: 'echo' } });
    await echo.waitFor((f) => f.event === 'client-a');
    const atQuiet = await quiet.waitFor((f) => f.event === 'client-a');
    expect(atQuiet.message_id).toMatch(UUID);
    quiet.send({ event: 'client-b', channel: 'private-c', data: { from: 'quiet' } });
    await echo.waitFor((f) => f.event === 'client-b');
    await new Promise((r) => setTimeout(r, 50));
    expect(quiet.frames.some((f) => f.event === 'client-b')).toBe(false);
  });
});

describe('handshake refusals', () => {
  it.each([
    ['/app/app-key?protocol=abc', 400, 'protocol must be an integer'],
    ['/app/app-key?protocol=2&format=msgpack', 400, 'format msgpack is not supported'],
    ['/app/app-key?protocol=2&format=xml', 400, 'unknown format'],
    ['/app/app-key?protocol=2&append_rollup_window=30', 400, 'append_rollup_window must be one of 0, 20, 40, 100, 500'],
    ['/app/app-key?protocol=2&append_mode=weird', 400, 'append_mode must be delta or full'],
    ['/app/app-key?protocol=2&echo_messages=maybe', 400, 'echo_messages'],
    ['/nope', 404, 'Not found'],
    ['/app/', 404, 'Not found'],
  ])('%s → HTTP %i', async (path, status, text) => {
    node = await startTestNode();
    const r = await tryUpgrade(`${node.url}${path}`);
    expect(r.status).toBe(status);
    expect(r.body).toContain(text);
  });

  it('accepts the V2 options it knows', async () => {
    node = await startTestNode();
    const c = await v2({ format: 'json', append_rollup_window: '40', append_mode: 'full', echo_messages: '1' });
    expect(c.frames[0]?.event).toBe('sockudo:connection_established');
    // format is V2-only: a V1 connection ignores it.
    const r = await tryUpgrade(`${node.url}/app/app-key?protocol=7&format=msgpack`);
    expect(r.status).toBe(101);
  });

  it.each([
    ['unknown app key', 'nope', {}, 4001],
    ['disabled app', 'app-key', { app: { enabled: false } }, 4003],
  ])('%s → error frame then close with the same code', async (_name, key, cfg, code) => {
    node = await startTestNode(cfg);
    for (const protocol of ['7', '2']) {
      const c = await TestWsClient.connect(node.wsUrl({ protocol }, key));
      const close = await c.waitClose();
      expect(close.code).toBe(code);
      expect(c.frames).toHaveLength(1);
      expect(c.frames[0]).toMatchObject({
        event: protocol === '2' ? 'sockudo:error' : 'pusher:error',
        data: { code },
      });
    }
  });

  it('refuses an origin not in allowedOrigins with 4009', async () => {
    node = await startTestNode({ app: { allowedOrigins: ['https://*.example.com'] } });
    const bad = await TestWsClient.connect(node.wsUrl(), { origin: 'https://evil.test' });
    expect((await bad.waitClose()).code).toBe(4009);
    expect(bad.frames[0]).toEqual({ event: 'pusher:error', data: { code: 4009, message: 'Origin not allowed' } });
    const good = await TestWsClient.established(node.wsUrl(), { origin: 'https://app.example.com' });
    good.close();
  });

  it('enforces the node (4100) and app (4004) connection limits', async () => {
    node = await startTestNode({ websocket: { maxConnections: 2 }, app: { limits: { maxConnections: 1 } } });
    await v1();
    const overApp = await TestWsClient.connect(node.wsUrl());
    expect((await overApp.waitClose()).code).toBe(4004);
    await node.close();
    node = await startTestNode({ websocket: { maxConnections: 1 } });
    await v1();
    const overNode = await TestWsClient.connect(node.wsUrl());
    expect((await overNode.waitClose()).code).toBe(4100);
    expect(await node.metric('connection_errors_total', { error_type: 'node_over_capacity' })).toBe(1);
  });

  it('refuses a token on a V1 connection with 4009', async () => {
    node = await startTestNode();
    const c = await TestWsClient.connect(node.wsUrl({ protocol: '7', token: 'x.y.z' }));
    expect((await c.waitClose()).code).toBe(4009);
    expect(c.frames[0]?.data).toMatchObject({ code: 4009, message: 'Capability tokens require protocol 2' });
  });
});
