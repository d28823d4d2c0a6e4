// Contract-suite factories for the Redis stores: one connection and a unique key prefix per
// test (so a test can only ever see its own keys), the keys deleted and the connection closed
// on cleanup, and `simulateDataLoss` as a real FLUSHALL of the backend while the store object
// — the "node" — keeps what it remembers.
import { RedisConnection, type RedisConnectionOptions } from '../../dataplane/src/stores/redis/client.ts';
import { RedisKeys } from '../../dataplane/src/stores/redis/keys.ts';
import type { StoreContext, StoreHarness } from '../contract/harness.ts';

export interface RedisBackend {
  readonly connection: Omit<RedisConnectionOptions, 'keyPrefix'>;
  /** Empties the whole backend (every master). */
  readonly flushAll: () => Promise<void>;
}

let seq = 0;

export function uniquePrefix(): string {
  seq++;
  return `t${process.pid}x${seq}:`;
}

/** Deletes every key under `prefix` on every master (SCAN: test cleanup only). */
export async function deletePrefix(conn: RedisConnection, prefix: string): Promise<number> {
  let n = 0;
  for (const node of conn.masters()) {
    let cursor = '0';
    for (let rounds = 0; rounds < 10_000; rounds++) {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      // One DEL per key: in a Cluster the keys of one node still span many slots.
      for (const k of keys) n += await node.del(k);
      cursor = next;
      if (cursor === '0') break;
    }
  }
  return n;
}

/** A connected RedisConnection with a fresh prefix. */
export async function openConnection(
  backend: RedisBackend,
  extra: Partial<RedisConnectionOptions> = {},
): Promise<{ conn: RedisConnection; keys: RedisKeys; prefix: string }> {
  const prefix = uniquePrefix();
  const conn = new RedisConnection({ ...backend.connection, keyPrefix: prefix, ...extra });
  await conn.ready(10_000);
  return { conn, keys: new RedisKeys({ prefix }), prefix };
}

/** A StoreFactory body: builds the store from a fresh connection. */
export function redisFactory<S>(
  backend: RedisBackend,
  build: (conn: RedisConnection, keys: RedisKeys, ctx: StoreContext) => S,
  opts: { dataLoss?: boolean } = {},
): (ctx: StoreContext) => Promise<StoreHarness<S>> {
  return async (ctx) => {
    const { conn, keys, prefix } = await openConnection(backend);
    const store = build(conn, keys, ctx);
    const harness: StoreHarness<S> = {
      store,
      cleanup: async () => {
        await deletePrefix(conn, prefix);
        await conn.close();
      },
    };
    return opts.dataLoss ? { ...harness, simulateDataLoss: () => backend.flushAll() } : harness;
  };
}
