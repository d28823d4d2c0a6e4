// The public pusher-js client (protocol 7) against the socket engine over loopback.
import type { PresenceChannel } from 'pusher-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createPusherClient,
  nextEvent,
  type Pusher,
  pusherConnected,
  pusherSubscribed,
} from '../helpers/pusher-client.ts';
import { startTestNode, type TestNode } from '../helpers/test-node.ts';
import { TestWsClient } from '../helpers/ws-client.ts';

let node: TestNode;
const clients: Pusher[] = [];
function client(opts?: Parameters<typeof createPusherClient>[1]): Pusher {
  const p = createPusherClient(node.port, opts);
  clients.push(p);
  return p;
}

beforeEach(async () => {
  node = await startTestNode({ app: { enableClientMessages: true } });
});
afterEach(async () => {
  for (const p of clients.splice(0)) p.disconnect();
  await node.close();
});

describe('pusher-js on protocol 7', () => {
  it('connects and gets a socket id', async () => {
    const socketId = await pusherConnected(client());
    expect(socketId).toMatch(/^\d+\.\d+$/);
    expect(node.engine.connectionCount('app-id')).toBe(1);
    expect(await node.metric('connected', { app_id: 'app-id' })).toBe(1);
  });

  it('subscribes to a public channel and receives a published event', async () => {
    const p = client();
    const { channel } = await pusherSubscribed(p, 'my-channel');
    const got = nextEvent(channel, 'my-event');
    node.engine.publish({ appId: 'app-id', channel: 'my-channel', event: 'my-event', data: '{"hello":"world"}' });
    expect((await got).data).toEqual({ hello: 'world' });
    expect(node.engine.channelInfo('app-id', 'my-channel')).toEqual({ occupied: true, subscriptionCount: 1 });
    expect(await node.metric('broadcast_latency_ms', { app_id: 'app-id' })).toBe(1);
  });

  it('subscribes to a private channel with a locally signed auth', async () => {
    const p = client();
    await pusherSubscribed(p, 'private-room');
    expect(node.engine.listChannels('app-id')).toEqual([{ name: 'private-room', subscriptionCount: 1 }]);
  });

  it('refuses a private channel signed with the wrong secret, and keeps the socket open', async () => {
    const p = client({ signingSecret: 'not-the-secret' });
    await pusherConnected(p);
    const errors: unknown[] = [];
    p.connection.bind('error', (e: unknown) => errors.push(e));
    p.subscribe('private-room');
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]).toMatchObject({
      type: 'PusherError',
      data: { code: 4009, message: 'Authentication error: Channel requires authentication' },
    });
    expect(p.connection.state).toBe('connected');
    await pusherSubscribed(p, 'public-still-works');
  });

  it('tracks presence members: member_added on join, member_removed on leave', async () => {
    const alice = client({ userId: 'alice', userInfo: { name: 'Alice' } });
    const bob = client({ userId: 'bob', userInfo: { name: 'Bob' } });
    const { channel: aliceCh } = await pusherSubscribed(alice, 'presence-room');
    expect((aliceCh as PresenceChannel).members.count).toBe(1);
    const added = nextEvent<{ id: string; info: unknown }>(aliceCh, 'pusher:member_added');
    const { channel: bobCh } = await pusherSubscribed(bob, 'presence-room');
    expect((await added).data).toEqual({ id: 'bob', info: { name: 'Bob' } });
    const members = (bobCh as PresenceChannel).members;
    expect(members.count).toBe(2);
    expect(members.me).toEqual({ id: 'bob', info: { name: 'Bob' } });
    expect(node.engine.presenceUserIds('app-id', 'presence-room')?.sort()).toEqual(['alice', 'bob']);
    expect(node.engine.channelInfo('app-id', 'presence-room')).toMatchObject({ userCount: 2, subscriptionCount: 2 });
    const removed = nextEvent<{ id: string }>(aliceCh, 'pusher:member_removed');
    bob.unsubscribe('presence-room');
    expect((await removed).data).toMatchObject({ id: 'bob' });
  });

  it('sends member_added only for the first socket of a user and member_removed for the last', async () => {
    const watcher = await TestWsClient.established(node.wsUrl());
    const alice1 = client({ userId: 'alice' });
    const alice2 = client({ userId: 'alice' });
    const { channel } = await pusherSubscribed(alice1, 'presence-x');
    const added: string[] = [];
    channel.bind('pusher:member_added', (m: { id: string }) => added.push(m.id));
    await pusherSubscribed(alice2, 'presence-x');
    expect(node.engine.channelInfo('app-id', 'presence-x')).toMatchObject({ userCount: 1, subscriptionCount: 2 });
    alice2.disconnect();
    await expect.poll(() => node.engine.channelInfo('app-id', 'presence-x').subscriptionCount).toBe(1);
    expect(node.engine.presenceUserIds('app-id', 'presence-x')).toEqual(['alice']);
    expect(added).toEqual([]);
    watcher.close();
  });

  it('relays client events between two clients without echo to the sender', async () => {
    const a = client({ userId: 'a' });
    const b = client({ userId: 'b' });
    const { channel: chA } = await pusherSubscribed(a, 'private-chat');
    const { channel: chB } = await pusherSubscribed(b, 'private-chat');
    const echoed: unknown[] = [];
    chA.bind('client-typing', (d: unknown) => echoed.push(d));
    const got = nextEvent(chB, 'client-typing');
    chA.trigger('client-typing', { typing: true });
    expect((await got).data).toEqual({ typing: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(echoed).toEqual([]);
  });

  it('stamps user_id on presence client events', async () => {
    const a = client({ userId: 'alice' });
    const b = client({ userId: 'bob' });
    const { channel: chA } = await pusherSubscribed(a, 'presence-chat');
    const { channel: chB } = await pusherSubscribed(b, 'presence-chat');
    const got = nextEvent(chB, 'client-hi');
    chA.trigger('client-hi', { x: 1 });
    expect((await got).metadata.user_id).toBe('alice');
  });

  it('signs in (pusher:signin) and joins its #server-to-user channel', async () => {
    const p = client({ userId: 'u-42' });
    await pusherConnected(p);
    p.signin();
    await expect.poll(() => node.engine.channelInfo('app-id', '#server-to-user-u-42').subscriptionCount).toBe(1);
    expect(node.engine.terminateUserConnections('app-id', 'u-42')).toBe(1);
  });

  it('unsubscribes and empties the channel', async () => {
    const p = client();
    await pusherSubscribed(p, 'temp');
    p.unsubscribe('temp');
    await expect.poll(() => node.engine.channelCount()).toBe(0);
    expect(await node.metric('active_channels', { app_id: 'app-id', channel_type: 'public' })).toBe(0);
  });

  it('replays the last event of a cache channel, or sends cache_miss', async () => {
    const p = client();
    const ch = p.subscribe('cache-prices');
    const miss = nextEvent(ch, 'pusher:cache_miss');
    await miss;
    node.engine.publish({ appId: 'app-id', channel: 'cache-prices', event: 'price', data: '{"v":1}' });
    expect(node.engine.channelInfo('app-id', 'cache-prices').cache).toEqual({ event: 'price', data: '{"v":1}' });
    const q = client();
    const channel = q.subscribe('cache-prices');
    const order: string[] = [];
    channel.bind_global((event: string) => order.push(event));
    // The cached event follows subscription_succeeded.
    expect((await nextEvent(channel, 'price')).data).toEqual({ v: 1 });
    expect(order).toEqual(['pusher:subscription_succeeded', 'price']);
  });
});
