// Two data-plane node processes on a real 3-master Redis Cluster: the stores spread over the
// slots and the transport uses sharded pub/sub (SPUBLISH/SSUBSCRIBE), so messages of many
// channels cross nodes through several shards, each channel in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageReducer } from '../../dataplane/src/messages/reducer.ts';
import { AI_PREFIX, channelAuth, type NodeCluster, type NodeProc, startNodeCluster } from '../helpers/node-cluster.ts';
import { type RedisClusterHandle, startRedisCluster } from '../helpers/redis-server.ts';
import { APP } from './rest-helpers.ts';

let redis: RedisClusterHandle;
let cluster: NodeCluster;

beforeAll(async () => {
  redis = await startRedisCluster();
  cluster = await startNodeCluster({
    nodes: 2,
    redis: { clusterNodes: redis.seeds.map((s) => `${s.host}:${s.port}`), keyPrefix: 'ait-rc:' },
    config: { cluster: { shards: 8 } },
  });
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
  await redis?.cleanup();
});

describe('on a Redis Cluster', () => {
  it('carries many channels across nodes over sharded pub/sub, each in order', async () => {
    const [producer, watcher] = cluster.nodes as [NodeProc, NodeProc];
    const channels = Array.from({ length: 6 }, (_, i) => `${AI_PREFIX}rc-${i}`);
    const subs = await Promise.all(
      channels.map(async (channel) => {
        const c = await watcher.socket({ protocol: '2', append_rollup_window: '0' });
        c.send({ event: 'sockudo:subscribe', data: { channel, auth: channelAuth(c.socketId, channel) } });
        await c.waitForEvent('sockudo_internal:subscription_succeeded', 5000);
        return c;
      }),
    );
    const serials: string[] = [];
    for (const channel of channels) {
      const r = await producer.rest('POST', `/apps/${APP.id}/events`, {
        name: 'ai-output',
        channel,
        data: '',
        extras: { ai: { transport: { status: 'streaming' } } },
      });
      expect(r.status, r.text).toBe(200);
      serials.push(
        ((r.json().channels as Record<string, Record<string, unknown>>)[channel] as Record<string, unknown>)
          .message_serial as string,
      );
    }
    for (let i = 0; i < 10; i++) {
      await Promise.all(
        channels.map((channel, k) =>
          producer
            .rest(
              'POST',
              `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(serials[k] as string)}/append`,
              { data: `${k}:${i} ` },
            )
            .then((r) => expect(r.status, r.text).toBe(200)),
        ),
      );
    }
    for (const [k, c] of subs.entries()) {
      await c.waitFor((f) => f.serial === 11, 10_000);
      const got = c.frames.filter(
        (f) => typeof f.serial === 'number' && f.event !== 'sockudo_internal:subscription_succeeded',
      );
      expect(got.map((f) => f.serial)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
      const r = new MessageReducer('delta');
      for (const f of c.frames) r.apply(f);
      expect(r.get(serials[k] as string)?.data).toBe(Array.from({ length: 10 }, (_, i) => `${k}:${i} `).join(''));
      c.close();
    }
  }, 60_000);
});
