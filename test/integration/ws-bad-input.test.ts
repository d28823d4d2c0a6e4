// Bad input from clients: each gets its documented error, and the node keeps serving others.
import { afterEach, describe, expect, it } from 'vitest';
import { channelAuthSignature, signinSignature } from '../../dataplane/src/auth/index.ts';
import { startTestNode, type TestNode } from '../helpers/test-node.ts';
import { TestWsClient } from '../helpers/ws-client.ts';

let node: TestNode;
const sockets: TestWsClient[] = [];
async function v1(): Promise<TestWsClient & { socketId: string }> {
  const c = await TestWsClient.established(node.wsUrl());
  sockets.push(c);
  return c;
}
const sign = (socketId: string, channel: string, channelData?: string) =>
  `app-key:${channelAuthSignature('app-secret', socketId, channel, channelData)}`;

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await node?.close();
});

/** A bystander on a channel proves the node still serves other clients. */
async function stillServing(bystander: TestWsClient): Promise<void> {
  node.engine.publish({ appId: 'app-id', channel: 'bystander', event: 'alive', data: '1' });
  await bystander.waitForEvent('alive');
}

describe('malformed and oversized frames', () => {
  it('answers malformed JSON with a non-fatal 4000 and counts it', async () => {
    node = await startTestNode();
    const bystander = await v1();
    await bystander.subscribe('bystander');
    const c = await v1();
    for (const bad of ['{not json', '[]', '{"data":1}', '"x"']) {
      c.send(bad);
      const e = await c.waitForEvent('pusher:error');
      expect(e.data).toMatchObject({ code: 4000 });
      expect((e.data as { message: string }).message).toMatch(/^Invalid frame: /);
    }
    c.send({ event: 'pusher:ping' });
    await c.waitForEvent('pusher:pong');
    expect(await node.metric('connection_errors_total', { error_type: 'invalid_frame' })).toBe(4);
    await stillServing(bystander);
  });

  it('ignores unknown events silently', async () => {
    node = await startTestNode();
    const c = await v1();
    c.send({ event: 'pusher:nonsense', data: {} });
    c.send({ event: 'whatever' });
    c.send({ event: 'pusher:ping' });
    await c.waitForEvent('pusher:pong');
    expect(c.frames.map((f) => f.event)).toEqual(['pusher:connection_established', 'pusher:pong']);
  });

  it('closes a socket that sends a frame over maxPayloadKb (1009) and keeps serving', async () => {
    node = await startTestNode({ websocket: { maxPayloadKb: 1 } });
    const bystander = await v1();
    await bystander.subscribe('bystander');
    const c = await v1();
    c.send({ event: 'client-x', channel: 'private-a', data: 'x'.repeat(2048) });
    expect((await c.waitClose()).code).toBe(1009);
    await stillServing(bystander);
    await expect.poll(() => node.metric('connection_errors_total', { error_type: 'payload_too_large' })).toBe(1);
  });

  it('refuses binary frames with 4000', async () => {
    node = await startTestNode();
    const c = await v1();
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await c.waitForEvent('pusher:error')).data).toMatchObject({ code: 4000 });
  });
});

describe('subscription errors (the socket stays open)', () => {
  it.each([
    ['bad characters', 'bad channel!', 4300],
    ['unsupported wildcard', 'news-*', 4300],
    ['too long', `a${'b'.repeat(200)}`, 4300],
    ['prefix only', 'private-', 4300],
  ])('rejects a channel name: %s', async (_n, channel, code) => {
    node = await startTestNode();
    const c = await v1();
    expect((await c.subscribe(channel)).data).toMatchObject({ code });
    expect(c.closeInfo).toBeUndefined();
  });

  it('requires auth on private and presence channels (4009)', async () => {
    node = await startTestNode();
    const c = await v1();
    const e = await c.subscribe('private-x');
    expect(e).toEqual({
      event: 'pusher:error',
      data: { code: 4009, message: 'Authentication error: Authentication signature required for this channel' },
    });
    expect((await c.subscribe('presence-x')).data).toMatchObject({ code: 4009 });
  });

  it('rejects bad signatures: wrong secret, another socket, another channel, another app key', async () => {
    node = await startTestNode();
    const c = await v1();
    const other = await v1();
    const bad = [
      `app-key:${channelAuthSignature('wrong', c.socketId, 'private-x')}`,
      sign(other.socketId, 'private-x'),
      sign(c.socketId, 'private-y'),
      `other-key:${channelAuthSignature('app-secret', c.socketId, 'private-x')}`,
      'garbage',
    ];
    for (const auth of bad) {
      expect((await c.subscribe('private-x', { auth })).data).toEqual({
        code: 4009,
        message: 'Authentication error: Channel requires authentication',
      });
    }
    expect(await c.subscribe('private-x', { auth: sign(c.socketId, 'private-x') })).toMatchObject({
      event: 'pusher_internal:subscription_succeeded',
    });
  });

  it('rejects presence with missing or tampered channel_data', async () => {
    node = await startTestNode();
    const c = await v1();
    // Signed without channel_data, so the signature is right but the member is missing: 4300.
    expect((await c.subscribe('presence-x', { auth: sign(c.socketId, 'presence-x') })).data).toMatchObject({
      code: 4300,
    });
    const cd = JSON.stringify({ user_id: 'u1' });
    const tampered = JSON.stringify({ user_id: 'admin' });
    expect(
      (await c.subscribe('presence-x', { auth: sign(c.socketId, 'presence-x', cd), channel_data: tampered })).data,
    ).toMatchObject({ code: 4009 });
  });

  it('enforces presence member and channel_data limits', async () => {
    node = await startTestNode({ app: { limits: { maxPresenceMembersPerChannel: 1, maxPresenceMemberSizeKb: 1 } } });
    const a = await v1();
    const b = await v1();
    const join = (c: TestWsClient & { socketId: string }, cd: string) =>
      c.subscribe('presence-full', { auth: sign(c.socketId, 'presence-full', cd), channel_data: cd });
    const big = JSON.stringify({ user_id: 'x', user_info: { pad: 'p'.repeat(2000) } });
    expect((await join(a, big)).data).toMatchObject({ code: 4300 });
    expect(await join(a, '{"user_id":"a"}')).toMatchObject({ event: 'pusher_internal:subscription_succeeded' });
    expect((await join(b, '{"user_id":"b"}')).data).toEqual({
      code: 4300,
      message: 'Presence channel presence-full is full',
    });
    // The same user on a second socket does not count as a new member.
    expect(await join(b, '{"user_id":"a"}')).toMatchObject({ event: 'pusher_internal:subscription_succeeded' });
  });

  it('keeps #server-to-user channels for their signed-in user', async () => {
    node = await startTestNode();
    const c = await v1();
    expect((await c.subscribe('#server-to-user-42')).data).toMatchObject({ code: 4009 });
    const userData = JSON.stringify({ id: '42' });
    c.send({
      event: 'pusher:signin',
      data: { user_data: userData, auth: `app-key:${signinSignature('app-secret', c.socketId, userData)}` },
    });
    expect((await c.waitForEvent('pusher:signin_success')).data).toEqual({ user_data: userData });
    expect(await c.subscribe('#server-to-user-42')).toMatchObject({ event: 'pusher_internal:subscription_succeeded' });
    expect((await c.subscribe('#server-to-user-43')).data).toMatchObject({ code: 4009 });
  });

  it('rejects a sign-in with a bad signature (4009, socket open)', async () => {
    node = await startTestNode();
    const c = await v1();
    c.send({ event: 'pusher:signin', data: { user_data: '{"id":"1"}', auth: 'app-key:00' } });
    expect((await c.waitForEvent('pusher:error')).data).toEqual({
      code: 4009,
      message: 'Sign-in failed: invalid signature',
    });
    expect(c.closeInfo).toBeUndefined();
  });
});

describe('client events', () => {
  async function pair(cfg: Parameters<typeof startTestNode>[0]) {
    node = await startTestNode(cfg);
    const a = await v1();
    const b = await v1();
    await a.subscribe('private-room', { auth: sign(a.socketId, 'private-room') });
    await b.subscribe('private-room', { auth: sign(b.socketId, 'private-room') });
    return { a, b };
  }

  it('are refused when the app disables them', async () => {
    const { a } = await pair({});
    a.send({ event: 'client-x', channel: 'private-room', data: {} });
    expect((await a.waitForEvent('pusher:error')).data).toEqual({
      code: 4301,
      message: 'Client event rejected: client events are not enabled for this app',
    });
  });

  it('are refused on public channels, unsubscribed channels and over the payload limit', async () => {
    const { a } = await pair({ app: { enableClientMessages: true, limits: { maxEventPayloadKb: 1 } } });
    await a.subscribe('public');
    const cases: Array<[unknown, string]> = [
      [{ event: 'client-x', channel: 'public', data: {} }, 'allowed on private and presence channels only'],
      [{ event: 'client-x', channel: 'private-other', data: {} }, 'not subscribed'],
      [{ event: 'client-x', data: {} }, 'channel is required'],
      [{ event: 'client-x', channel: 'private-room', data: 'x'.repeat(1500) }, 'payload larger than 1 KiB'],
    ];
    for (const [frame, text] of cases) {
      a.send(frame);
      const e = await a.waitForEvent('pusher:error');
      expect(e.data).toMatchObject({ code: 4301 });
      expect((e.data as { message: string }).message).toContain(text);
    }
  });

  it('are rate limited per connection (4301, counted) while other clients are served', async () => {
    const { a, b } = await pair({ app: { enableClientMessages: true, limits: { maxClientEventsPerSecond: 5 } } });
    for (let i = 0; i < 50; i++) a.send({ event: 'client-flood', channel: 'private-room', data: { i } });
    await a.waitFor((f) => f.event === 'pusher:error' && (f.data as { code: number }).code === 4301);
    await b.waitFor((f) => f.event === 'client-flood' && (f.data as { i: number }).i === 4);
    await new Promise((r) => setTimeout(r, 100));
    const delivered = b.frames.filter((f) => f.event === 'client-flood').length;
    expect(delivered).toBeGreaterThanOrEqual(5);
    expect(delivered).toBeLessThan(10);
    const labels = { app_id: 'app-id', limiter_type: 'client_events', request_context: 'websocket' };
    expect(await node.metric('rate_limit_triggered_total', labels)).toBeGreaterThanOrEqual(40);
    expect(await node.metric('rate_limit_checks_total', labels)).toBe(50);
    expect(a.closeInfo).toBeUndefined();
    b.send({ event: 'client-back', channel: 'private-room', data: {} });
    await a.waitForEvent('client-back');
  });
});
