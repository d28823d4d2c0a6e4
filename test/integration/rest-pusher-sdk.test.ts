// The official Pusher server SDK (v5) against a real node, with a pusher-js client on
// protocol 7 receiving what the SDK triggers: the compatibility promise of PROTOCOL.md 12.
import Pusher from 'pusher';
import PusherModule from 'pusher-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../../dataplane/src/server/node.ts';
import { APP, silentLogger, testConfig } from './rest-helpers.ts';

// pusher-js ships CommonJS typings whose default export nodenext sees as the namespace.
type PusherClass = typeof PusherModule.default;
type PusherClient = InstanceType<PusherClass>;
const PusherJS = PusherModule as unknown as PusherClass;

let node: RunningNode;
let server: Pusher;
const clients: PusherClient[] = [];

beforeAll(async () => {
  node = await startNode(testConfig(), { logger: silentLogger() });
  server = new Pusher({
    appId: APP.id,
    key: APP.key,
    secret: APP.secret,
    host: '127.0.0.1',
    port: String(node.publicAddress.port),
    useTLS: false,
  });
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await node?.stop({ drain: false });
});

function client(userId?: string): PusherClient {
  const c = new PusherJS(APP.key, {
    cluster: 'local',
    wsHost: '127.0.0.1',
    wsPort: node.publicAddress.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, cb) =>
        cb(null, server.authorizeChannel(socketId, channelName, { user_id: userId ?? 'anon', user_info: {} })),
    },
    userAuthentication: {
      customHandler: ({ socketId }, cb) => cb(null, server.authenticateUser(socketId, { id: userId ?? 'anon' })),
    },
  });
  clients.push(c);
  return c;
}

function subscribed(c: PusherClient, name: string) {
  const channel = c.subscribe(name);
  return new Promise<typeof channel>((resolve, reject) => {
    channel.bind('pusher:subscription_succeeded', () => resolve(channel));
    channel.bind('pusher:subscription_error', reject);
  });
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('pusher server SDK → node → pusher-js', () => {
  it('delivers trigger and triggerBatch in order, honouring socket_id exclusion', async () => {
    const sub = client();
    const excluded = client();
    const ch = await subscribed(sub, 'news');
    const ch2 = await subscribed(excluded, 'news');
    const got: unknown[] = [];
    const gotExcluded: unknown[] = [];
    ch.bind('greet', (d: unknown) => got.push(d));
    ch2.bind('greet', (d: unknown) => gotExcluded.push(d));

    const res = await server.trigger('news', 'greet', { n: 1 });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    await server.triggerBatch([
      { channel: 'news', name: 'greet', data: { n: 2 } },
      { channel: 'news', name: 'greet', data: 'three' },
    ]);
    await server.trigger('news', 'greet', { n: 4 }, { socket_id: excluded.connection.socket_id });
    await until(() => got.length === 4);
    expect(got).toEqual([{ n: 1 }, { n: 2 }, 'three', { n: 4 }]);
    await until(() => gotExcluded.length === 3);
    expect(gotExcluded).toEqual([{ n: 1 }, { n: 2 }, 'three']);
  });

  it('answers channel queries with presence counts and users', async () => {
    const c = client('user-7');
    await subscribed(c, 'presence-room');
    const list = await server.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } });
    expect(await list.json()).toEqual({ channels: { 'presence-room': { user_count: 1 } } });
    const info = await server.get({
      path: '/channels/presence-room',
      params: { info: 'subscription_count,user_count' },
    });
    expect(await info.json()).toEqual({ occupied: true, subscription_count: 1, user_count: 1 });
    const users = await server.get({ path: '/channels/presence-room/users' });
    expect(await users.json()).toEqual({ users: [{ id: 'user-7' }] });
    const triggered = await server.trigger('presence-room', 'e', 'x', { info: 'user_count,subscription_count' });
    expect(await triggered.json()).toEqual({ channels: { 'presence-room': { user_count: 1, subscription_count: 1 } } });
  });

  it('terminates the connections of a signed-in user', async () => {
    const c = client('user-term');
    await new Promise<void>((resolve) => c.connection.bind('connected', () => resolve()));
    c.signin();
    await until(() => node.engine.connectionsByApp()[APP.id] !== undefined);
    const before = node.engine.connectionCount(APP.id);
    // Sign-in completes asynchronously; retry until the node knows the user.
    const end = Date.now() + 5000;
    while (node.engine.connectionCount(APP.id) >= before && Date.now() < end) {
      const res = await server.terminateUserConnections('user-term');
      expect(await res.json()).toEqual({});
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(node.engine.connectionCount(APP.id)).toBe(before - 1);
  });

  it('surfaces REST errors to the SDK as status codes', async () => {
    const big = 'x'.repeat(101 * 1024);
    const err = await server.trigger('news', 'e', big).catch((e: { status?: number; body?: string }) => e);
    expect((err as { status?: number }).status).toBe(413);
    expect(JSON.parse((err as { body: string }).body)).toMatchObject({ code: 'payload_too_large', status: 413 });
  });
});
