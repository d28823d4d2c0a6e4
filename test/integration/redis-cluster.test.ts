// The history, version and claim contract suites against a real 3-master Redis Cluster on
// loopback: every multi-key script must stay in one slot (Redis answers CROSSSLOT otherwise),
// and the listings and stats that fan out over buckets must find what lives on other masters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClaimStore } from '../../dataplane/src/stores/redis/claims.ts';
import { RedisHistoryStore } from '../../dataplane/src/stores/redis/history-store.ts';
import { clusterSlot } from '../../dataplane/src/stores/redis/keys.ts';
import { RedisVersionStore } from '../../dataplane/src/stores/redis/version-store.ts';
import { historyStoreContract } from '../contract/history-store.contract.ts';
import { claimStoreContract } from '../contract/small-stores.contract.ts';
import { versionStoreContract } from '../contract/version-store.contract.ts';
import { deletePrefix, openConnection, type RedisBackend, redisFactory } from '../helpers/redis-harness.ts';
import { type RedisClusterHandle, startRedisCluster } from '../helpers/redis-server.ts';

let cluster: RedisClusterHandle;
const backend: RedisBackend = {
  get connection() {
    return { clusterNodes: cluster.seeds, commandTimeoutMs: 2000 };
  },
  flushAll: () => cluster.flushAll(),
};

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.cleanup();
});

const name = 'redis (3-master cluster)';

historyStoreContract(
  name,
  redisFactory(
    backend,
    (connection, keys, { now }) => new RedisHistoryStore({ connection, keys, now, nodeId: 'node-a' }),
    { dataLoss: true },
  ),
);
versionStoreContract(
  name,
  redisFactory(backend, (connection, keys, { now }) => new RedisVersionStore({ connection, keys, now }), {
    dataLoss: true,
  }),
);
claimStoreContract(
  name,
  redisFactory(backend, (connection, keys, { now }) => new RedisClaimStore({ connection, keys, now })),
);

describe('cluster layout', () => {
  it('computes the same hash slot as the server for our keys', async () => {
    const { conn, keys } = await openConnection(backend);
    try {
      const node = conn.masters()[0];
      const sample = [
        keys.history('a{b}', 'ch:1').rows,
        keys.version('app', 'private-ai-{x}').meta,
        keys.activeChannel('app', 'ch').count,
        keys.idempotency('app:a:idempotency:{k}'),
        keys.historyApps,
      ];
      for (const k of sample) expect(Number(await node?.cluster('KEYSLOT', k))).toBe(clusterSlot(k));
    } finally {
      await conn.close();
    }
  });

  it('spreads one app’s history over several masters and still lists and counts all of it', async () => {
    const { conn, keys, prefix } = await openConnection(backend);
    try {
      const store = new RedisHistoryStore({ connection: conn, keys, now: () => 1_700_000_000_000 });
      const channels = Array.from({ length: 40 }, (_, i) => `private-ai-${i}`);
      for (const ch of channels) {
        await store.append('spread', ch, { messageId: 'm', eventName: 'e', message: { d: ch } }, {});
        await store.markDegraded('spread', ch, 'test');
      }
      // The buckets of these channels map to slots owned by more than one master.
      const slots = new Set(channels.map((ch) => clusterSlot(keys.history('spread', ch).meta)));
      const owners = new Set<number>();
      for (const node of conn.masters()) {
        for (const slot of slots) {
          if (Number(await node.cluster('COUNTKEYSINSLOT', slot)) > 0) owners.add(node.options.port as number);
        }
      }
      expect(owners.size).toBeGreaterThan(1);
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 20; i++) {
        const page: Awaited<ReturnType<typeof store.listNonHealthy>> = await store.listNonHealthy({
          appId: 'spread',
          limit: 7,
          cursor,
        });
        seen.push(...page.items.map((x) => x.channel));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      expect(seen.sort()).toEqual([...channels].sort());
      expect((await store.stats()).apps['spread']).toMatchObject({
        channels: 40,
        retainedMessages: 40,
        degradedChannels: 40,
      });
    } finally {
      await deletePrefix(conn, prefix);
      await conn.close();
    }
  });
});
