// The Redis stores and their shared client, for wiring (docs/redis.md).
export { RedisActiveStreamRegistry } from './active-streams.ts';
export { RedisClaimStore } from './claims.ts';
export {
  ensureLayout,
  isTransientRedisError,
  RedisConnection,
  type RedisConnectionOptions,
  serverWarnings,
} from './client.ts';
export type { RedisStoreOptions } from './common.ts';
export { type ResolvedRedis, resolveRedisConfig } from './config.ts';
export { RedisHistoryStore, type RedisHistoryStoreOptions } from './history-store.ts';
export { RedisIdempotencyStore, type RedisIdempotencyStoreOptions } from './idempotency.ts';
export { RedisKeys } from './keys.ts';
export { RedisPublishClaimStore } from './publish-claims.ts';
export { RedisRevocationStore, type RedisRevocationStoreOptions } from './revocations.ts';
export { RedisVersionStore, type RedisVersionStoreOptions } from './version-store.ts';
