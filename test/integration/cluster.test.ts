// Several data-plane node processes sharing one real redis-server: publishes on any node reach
// the subscribers of every node in one order; a subscriber of a killed node resumes on another
// with no gap; the orphan janitor cancels a dead producer's stream exactly once; revocations and
// the channel's ai stats are cluster-wide.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageReducer } from '../../dataplane/src/messages/reducer.ts';
import { AI_PREFIX, channelAuth, type NodeCluster, type NodeProc, startNodeCluster } from '../helpers/node-cluster.ts';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts';
import type { Frame, TestWsClient } from '../helpers/ws-client.ts';
import { APP } from './rest-helpers.ts';

let redis: RedisServer;
let cluster: NodeCluster;

beforeAll(async () => {
  redis = await startRedisServer({ appendonly: true, appendfsync: 'everysec' });
  cluster = await startNodeCluster({
    nodes: 3,
    redis: { host: '127.0.0.1', port: redis.port, keyPrefix: 'ait-cluster:' },
    config: { aiTransport: { enabled: true, channelPrefixes: [AI_PREFIX], orphanTtlMs: 1500, janitorIntervalMs: 250 } },
  });
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
  await redis?.cleanup();
});

const tx = (status: string) => ({ ai: { transport: { status, role: 'assistant' } } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function subscribe(node: NodeProc, channel: string, query: Record<string, string> = { protocol: '2' }) {
  const c = await node.socket(query);
  c.send({ event: 'sockudo:subscribe', data: { channel, auth: channelAuth(c.socketId, channel) } });
  await c.waitForEvent('sockudo_internal:subscription_succeeded', 5000);
  return c;
}

async function create(node: NodeProc, channel: string): Promise<string> {
  const r = await node.rest('POST', `/apps/${APP.id}/events`, {
    name: 'ai-output',
    channel,
    data: '',
    extras: tx('streaming'),
  });
  expect(r.status, r.text).toBe(200);
  return ((r.json().channels as Record<string, Record<string, unknown>>)[channel] as Record<string, unknown>)
    .message_serial as string;
}

const appendPath = (channel: string, ms: string) =>
  `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}/append`;

const serials = (frames: Frame[]) =>
  frames
    .filter((f) => typeof f.serial === 'number' && !f.event.endsWith('subscription_succeeded'))
    .map((f) => f.serial as number);

describe('three nodes on one Redis', () => {
  it('delivers publishes from every node to subscribers on every node in one order', async () => {
    const channel = `${AI_PREFIX}order`;
    const subs = await Promise.all(
      cluster.nodes.map((n) => subscribe(n, channel, { protocol: '2', append_rollup_window: '0' })),
    );
    const ms = await create(cluster.nodes[0] as NodeProc, channel);
    let expected = '';
    // Appends round-robin over the nodes, several in flight at once: the store orders them.
    for (let round = 0; round < 20; round++) {
      const batch = cluster.nodes.map((n, i) => {
        const tok = `r${round}n${i} `;
        return n.rest('POST', appendPath(channel, ms), { data: tok }).then((r) => ({ r, tok }));
      });
      for (const { r } of await Promise.all(batch)) expect(r.status, r.text).toBe(200);
    }
    const final = await (cluster.nodes[1] as NodeProc).rest(
      'GET',
      `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}`,
    );
    expected = (final.json().item as { data: string }).data;
    expect(expected.split(' ').filter(Boolean)).toHaveLength(60);
    const last = 61;
    for (const c of subs) await c.waitFor((f) => f.serial === last, 10_000);
    for (const c of subs) {
      expect(serials(c.frames), 'contiguous, in order, once').toEqual(Array.from({ length: last }, (_, i) => i + 1));
      const r = new MessageReducer('delta');
      for (const f of c.frames) r.apply(f);
      expect(r.get(ms)?.data).toBe(expected);
    }
    for (const c of subs) c.close();
  }, 60_000);

  it('rolls up per node for its own sockets, with the same transcript', async () => {
    const channel = `${AI_PREFIX}rollup`;
    const a = await subscribe(cluster.nodes[1] as NodeProc, channel, { protocol: '2', append_rollup_window: '40' });
    const b = await subscribe(cluster.nodes[2] as NodeProc, channel, {
      protocol: '2',
      append_mode: 'full',
      append_rollup_window: '100',
    });
    const ms = await create(cluster.nodes[0] as NodeProc, channel);
    let text = '';
    const t0 = Date.now();
    for (let i = 0; i < 60; i++) {
      const tok = `t${i} `;
      text += tok;
      expect((await (cluster.nodes[0] as NodeProc).rest('POST', appendPath(channel, ms), { data: tok })).status).toBe(
        200,
      );
      await sleep(t0 + (i + 1) * 10 - Date.now());
    }
    await (cluster.nodes[0] as NodeProc).rest('POST', appendPath(channel, ms), { data: '', extras: tx('complete') });
    for (const [c, mode] of [
      [a, 'delta'],
      [b, 'full'],
    ] as const) {
      await c.waitFor(
        (f) => (f.extras as { ai?: { transport?: { status?: string } } })?.ai?.transport?.status === 'complete',
        10_000,
      );
      const r = new MessageReducer(mode);
      for (const f of c.frames) r.apply(f);
      expect(r.get(ms)?.data, mode).toBe(text);
      const s = serials(c.frames);
      expect([...s].sort((x, y) => x - y)).toEqual(s);
    }
    expect(serials(b.frames).length).toBeLessThan(serials(a.frames).length);
    a.close();
    b.close();
  }, 60_000);
});

describe('faults', () => {
  it('a subscriber of a killed node resumes on another node with no gap; the janitor cancels the orphan once', async () => {
    const channel = `${AI_PREFIX}failover`;
    const victim = cluster.nodes[2] as NodeProc;
    const query = { protocol: '2', append_rollup_window: '0' };
    const first = await subscribe(victim, channel, query);
    const ack = first.frames.find((f) => f.event === 'sockudo_internal:subscription_succeeded') as Frame;
    const streamId = ack.stream_id as string;
    const producer = cluster.nodes[0] as NodeProc;
    const ms = await create(producer, channel);
    for (let i = 0; i < 5; i++) await producer.rest('POST', appendPath(channel, ms), { data: `a${i} ` });
    await first.waitFor((f) => f.serial === 6, 5000);
    const seen = [...first.frames];
    await cluster.kill(2);
    await first.waitClose(5000).catch(() => undefined);
    for (let i = 5; i < 10; i++) await producer.rest('POST', appendPath(channel, ms), { data: `a${i} ` });

    const again = await subscribe(cluster.nodes[1] as NodeProc, channel, query);
    again.send({
      event: 'sockudo:resume',
      data: { channel_positions: { [channel]: { serial: 6, stream_id: streamId } } },
    });
    const success = JSON.parse((await again.waitForEvent('sockudo:resume_success', 5000)).data as string);
    // Every node buffers every frame it delivers, so the new node serves it from its hot buffer.
    expect(success.recovered).toMatchObject([{ channel, source: 'hot', replayed: 5 }]);
    const r = new MessageReducer('delta');
    for (const f of [...seen, ...again.frames]) r.apply(f);
    expect(r.get(ms)?.data).toBe(Array.from({ length: 10 }, (_, i) => `a${i} `).join(''));
    expect([...serials(seen), ...serials(again.frames)]).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));

    // The producer stops (it "died"): after the orphan TTL exactly one node cancels the stream.
    const update = await again.waitFor((f) => f.event === 'sockudo:message.update', 10_000);
    expect((update.extras as { ai: { transport: Record<string, string> } }).ai.transport).toMatchObject({
      status: 'cancelled',
      'error-code': 'orphan_timeout',
    });
    await sleep(1500);
    expect(again.frames.filter((f) => f.event === 'sockudo:message.update')).toHaveLength(1);
    // One claimant: the message has exactly one cancelling version, whichever node wrote it.
    const versions = await (cluster.nodes[0] as NodeProc).rest(
      'GET',
      `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}/versions?limit=50`,
    );
    const items = versions.json().items as Array<{ action: string; version: { description?: string } }>;
    expect(items.filter((v) => v.action === 'update')).toHaveLength(1);
    expect(items.find((v) => v.action === 'update')?.version.description).toBe('AI stream orphan timeout');
    again.close();
    await cluster.start(2);
  }, 60_000);

  it('repairs the gap when a node loses its pub/sub connection', async () => {
    const channel = `${AI_PREFIX}pubsub`;
    const node = cluster.nodes[1] as NodeProc;
    const c = await subscribe(node, channel, { protocol: '2', append_rollup_window: '0' });
    const producer = cluster.nodes[0] as NodeProc;
    const ms = await create(producer, channel);
    await producer.rest('POST', appendPath(channel, ms), { data: 'x0 ' });
    await c.waitFor((f) => f.serial === 2, 5000);
    // Cut every pub/sub client Redis has; ioredis reconnects and re-subscribes.
    await redis.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    for (let i = 1; i < 6; i++) await producer.rest('POST', appendPath(channel, ms), { data: `x${i} ` });
    await c.waitFor((f) => f.serial === 7, 10_000);
    expect(serials(c.frames)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await node.metric('horizontal_transport_reconnections_total')).toBeGreaterThanOrEqual(1);
    c.close();
  }, 60_000);

  it('applies a revocation on every node', async () => {
    const { issueCapabilityToken } = await import('../../dataplane/src/auth/index.ts');
    const token = await issueCapabilityToken(APP, {
      clientId: 'mallory',
      capabilities: { '*': ['subscribe'] },
      ttlSeconds: 600,
      nowMs: Date.now(),
    });
    const sockets: TestWsClient[] = [];
    for (const n of cluster.nodes) sockets.push(await n.socket({ protocol: '2', token }));
    const r = await (cluster.nodes[0] as NodeProc).rest('POST', `/apps/${APP.id}/revocations`, {
      client_id: 'mallory',
    });
    expect(r.status, r.text).toBe(200);
    for (const s of sockets) expect((await s.waitClose(5000)).code).toBe(4009);
  }, 30_000);
});
