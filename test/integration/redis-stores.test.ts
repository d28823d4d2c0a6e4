// Every store contract suite against the Redis stores on a real, private redis-server
// (standalone). The cluster run is redis-cluster.test.ts; failure behaviour is redis-faults.test.ts;
// Redis-specific behaviour (layout, bounds, idle expiry, loss seen by another node) is redis-behaviour.test.ts.
import { afterAll, beforeAll } from 'vitest';
import { RedisActiveStreamRegistry } from '../../dataplane/src/stores/redis/active-streams.ts';
import { RedisClaimStore } from '../../dataplane/src/stores/redis/claims.ts';
import { RedisHistoryStore } from '../../dataplane/src/stores/redis/history-store.ts';
import { RedisIdempotencyStore } from '../../dataplane/src/stores/redis/idempotency.ts';
import { RedisPublishClaimStore } from '../../dataplane/src/stores/redis/publish-claims.ts';
import { RedisRevocationStore } from '../../dataplane/src/stores/redis/revocations.ts';
import { RedisVersionStore } from '../../dataplane/src/stores/redis/version-store.ts';
import { historyStoreContract } from '../contract/history-store.contract.ts';
import { idempotencyStoreContract } from '../contract/idempotency-store.contract.ts';
import { revocationStoreContract } from '../contract/revocation-store.contract.ts';
import {
  activeStreamRegistryContract,
  claimStoreContract,
  publishClaimStoreContract,
} from '../contract/small-stores.contract.ts';
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

const name = 'redis (standalone)';

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
publishClaimStoreContract(
  name,
  redisFactory(backend, (connection, keys, { now }) => new RedisPublishClaimStore({ connection, keys, now })),
);
claimStoreContract(
  name,
  redisFactory(backend, (connection, keys, { now }) => new RedisClaimStore({ connection, keys, now })),
);
activeStreamRegistryContract(
  name,
  redisFactory(backend, (connection, keys, { now }) => new RedisActiveStreamRegistry({ connection, keys, now })),
);
revocationStoreContract(
  name,
  redisFactory(backend, (connection, keys) => new RedisRevocationStore({ connection, keys, maxEntriesPerApp: 4 })),
);
idempotencyStoreContract(
  name,
  redisFactory(
    backend,
    (connection, keys) => new RedisIdempotencyStore({ connection, keys, ttlMs: 120_000, claimTtlMs: 30_000 }),
  ),
);
