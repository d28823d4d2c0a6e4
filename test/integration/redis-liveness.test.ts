// A Redis connection that dies silently (its peer vanished: no FIN, no RST, packets dropped
// forever) while Redis is reachable again on a new connection — what a host failure behind a
// moved endpoint looks like. ioredis would trust both connections for as long as TCP keepalive
// takes (hours); the node must notice on its own: the command connection after its timeouts,
// the pub/sub connection through its PINGs. Then writes succeed again and the transport
// reconnects and catches up, so nothing the other node publishes meanwhile is lost here.
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../chaos/lib/tcp-proxy.ts';
import { AI_PREFIX, channelAuth, type NodeCluster, type NodeProc, startNodeCluster } from '../helpers/node-cluster.ts';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts';
import { APP } from './rest-helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let redis: RedisServer | undefined;
let cluster: NodeCluster | undefined;
let proxy: FaultProxy | undefined;
afterEach(async () => {
  await cluster?.stop();
  await proxy?.close();
  await redis?.cleanup();
  cluster = undefined;
  proxy = undefined;
  redis = undefined;
});

describe('a Redis connection that dies silently', () => {
  it('is detected and replaced: writes work again, the transport reconnects and catches up', async () => {
    redis = await startRedisServer({ appendonly: false });
    const r = redis;
    proxy = new FaultProxy({ host: '127.0.0.1', port: r.port });
    await proxy.listen();
    const p = proxy;
    const redisOf = (port: number) => ({ host: '127.0.0.1', port, keyPrefix: 'ait-liveness:', commandTimeoutMs: 300 });
    cluster = await startNodeCluster({
      nodes: 2,
      redis: redisOf(r.port),
      config: { history: { writeTimeoutMs: 500 }, cluster: { subscriberPingIntervalMs: 300 } },
      // Node 1 reaches Redis through the proxy; node 0 directly.
      nodeConfig: (i) => (i === 1 ? { redis: redisOf(p.port) } : undefined),
    });
    const [n0, n1] = cluster.nodes as [NodeProc, NodeProc];
    const channel = `${AI_PREFIX}liveness`;
    const sub = await n1.socket({ protocol: '2', append_rollup_window: '0' });
    sub.send({ event: 'sockudo:subscribe', data: { channel, auth: channelAuth(sub.socketId, channel) } });
    await sub.waitForEvent('sockudo_internal:subscription_succeeded', 5000);

    expect(p.freezeExisting()).toBeGreaterThan(0);
    // Published on node 0 while node 1's connections are dead: node 1 must still deliver it.
    const published = await n0.rest('POST', `/apps/${APP.id}/events`, { name: 'ai-output', channel, data: 'during' });
    expect(published.status).toBe(200);

    // Node 1's own writes: refused (503) while its connection is dead, accepted once replaced.
    let status = 0;
    const deadline = Date.now() + 20_000;
    while (status !== 200 && Date.now() < deadline) {
      status = (await n1.rest('POST', `/apps/${APP.id}/events`, { name: 'ai-output', channel, data: 'after' })).status;
      if (status !== 200) {
        expect(status).toBe(503);
        await sleep(200);
      }
    }
    expect(status, 'node 1 never wrote again').toBe(200);
    await sub.waitFor((f) => f.event === 'ai-output' && f.data === 'during', 15_000);
    expect(await n1.metric('horizontal_transport_reconnections_total')).toBeGreaterThanOrEqual(1);
    const ready = await n1.admin('GET', '/admin/status');
    expect(ready.json().ready).toBe(true);
    sub.close();
  }, 60_000);
});
