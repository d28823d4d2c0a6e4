// Every store contract suite against the Redis stores on a real, private redis-server
// (standalone). The cluster run is redis-cluster.test.ts; failure behaviour is redis-faults.test.ts.
import { afterAll, beforeAll } from 'vitest';
import { RedisHistoryStore } from '../../dataplane/src/stores/redis/history-store.ts';
import { RedisVersionStore } from '../../dataplane/src/stores/redis/version-store.ts';
import { historyStoreContract } from '../contract/history-store.contract.ts';
import { versionStoreContract } from '../contract/version-store.contract.ts';
import { type RedisBackend, redisFactory } from '../helpers/redis-harness.ts';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts';

let server: RedisServer;
const backend: RedisBackend = {
  get connection() {
    return { host: '127.0.0.1', port: server.port, commandTimeoutMs: 2000 };
  },
  flushAll: async () => {
    const r = await server.command(['FLUSHALL']);
    if (r instanceof Error) throw r;
  },
};

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.cleanup();
});

historyStoreContract(
  'redis (standalone)',
  redisFactory(
    backend,
    (connection, keys, { now }) => new RedisHistoryStore({ connection, keys, now, nodeId: 'node-a' }),
    {
      dataLoss: true,
    },
  ),
);

versionStoreContract(
  'redis (standalone)',
  redisFactory(backend, (connection, keys, { now }) => new RedisVersionStore({ connection, keys, now }), {
    dataLoss: true,
  }),
);
