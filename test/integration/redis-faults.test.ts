// How the Redis stores behave when Redis is not well: stopped, hung (SIGSTOP), restarted with
// its data (AOF) or empty. Real redis-server processes on loopback; every wait is bounded.
import { afterEach, describe, expect, it } from 'vitest';
import { isHistoryError } from '../../dataplane/src/history/types.ts';
import { isStoreUnavailable, StoreUnavailableError } from '../../dataplane/src/stores/errors.ts';
import { RedisClaimStore } from '../../dataplane/src/stores/redis/claims.ts';
import { RedisConnection } from '../../dataplane/src/stores/redis/client.ts';
import { RedisHistoryStore } from '../../dataplane/src/stores/redis/history-store.ts';
import { RedisKeys } from '../../dataplane/src/stores/redis/keys.ts';
import { RedisVersionStore } from '../../dataplane/src/stores/redis/version-store.ts';
import { waitFor } from '../helpers/controlplane-process.ts';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts';

const COMMAND_TIMEOUT_MS = 300;
const row = (i: number) => ({ messageId: `m-${i}`, eventName: 'ai-output', message: { data: `payload ${i}` } });

let server: RedisServer | undefined;
let conn: RedisConnection | undefined;

afterEach(async () => {
  await conn?.close();
  conn = undefined;
  await server?.cleanup();
  server = undefined;
});

async function connect(s: RedisServer, extra: Partial<ConstructorParameters<typeof RedisConnection>[0]> = {}) {
  const c = new RedisConnection({
    host: '127.0.0.1',
    port: s.port,
    keyPrefix: 'ait:',
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    connectTimeoutMs: 500,
    reconnect: { baseDelayMs: 20, maxDelayMs: 200 },
    ...extra,
  });
  await c.ready(5000);
  return c;
}

/** Elapsed ms of a call that must fail, and its error. */
async function failure(fn: () => Promise<unknown>): Promise<{ ms: number; err: unknown }> {
  const t0 = performance.now();
  try {
    await fn();
  } catch (err) {
    return { ms: performance.now() - t0, err };
  }
  throw new Error('expected the call to fail');
}

describe('Redis unavailable', () => {
  it('a stopped Redis fails calls fast with the retryable error, and the client recovers by itself', async () => {
    server = await startRedisServer();
    conn = await connect(server);
    const history = new RedisHistoryStore({ connection: conn });
    const claims = new RedisClaimStore({ connection: conn });
    const first = await history.append('app', 'ch', row(1), {});
    await server.stop();

    const h = await failure(() => history.append('app', 'ch', row(2), {}));
    expect(isHistoryError(h.err, 'store_unavailable')).toBe(true);
    expect((h.err as { retryable: boolean }).retryable).toBe(true);
    // No hang: well inside one command deadline plus our guard.
    expect(h.ms).toBeLessThan(COMMAND_TIMEOUT_MS * 2 + 1000);
    const c = await failure(() => claims.tryClaim('app', 'job', 'me', 1000));
    expect(c.err).toBeInstanceOf(StoreUnavailableError);
    expect((c.err as StoreUnavailableError).retryable).toBe(true);

    await server.restart();
    const s = server;
    await waitFor(
      async () => {
        try {
          await history.state('app', 'ch');
          return true;
        } catch (err) {
          if (isHistoryError(err, 'store_unavailable')) return false;
          throw err;
        }
      },
      { what: 'the client to reconnect', timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(conn.isReady).toBe(true);
    // No persistence here: the restart emptied Redis, which the node notices through the epoch.
    const after = await history.append('app', 'ch', row(2), {});
    expect(after).toMatchObject({ historySerial: 1, durableState: 'reset_required' });
    expect(after.streamId).not.toBe(first.streamId);
    expect(s.port).toBeGreaterThan(0);
  });

  it('a hung Redis (accepts TCP, never answers) fails calls within the command timeout', async () => {
    server = await startRedisServer();
    conn = await connect(server);
    const versions = new RedisVersionStore({ connection: conn });
    await versions.streamState('app', 'ch');
    server.pause();
    try {
      const v = await failure(() => versions.streamState('app', 'ch'));
      expect(isHistoryError(v.err, 'store_unavailable')).toBe(true);
      expect(v.ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 50);
      expect(v.ms).toBeLessThan(COMMAND_TIMEOUT_MS * 2 + 1000);
    } finally {
      server.resume();
    }
    // Once it answers again, so do we (the connection may have been recycled meanwhile).
    await waitFor(
      async () =>
        versions.streamState('app', 'ch').then(
          () => true,
          () => false,
        ),
      { what: 'calls to succeed after SIGCONT', timeoutMs: 10_000, intervalMs: 50 },
    );
  });

  it('bounds the commands in flight: past the cap, calls fail at once instead of queueing', async () => {
    server = await startRedisServer();
    conn = await connect(server, { maxPendingCommands: 5, commandTimeoutMs: 1000 });
    const claims = new RedisClaimStore({ connection: conn });
    server.pause();
    try {
      const calls = Array.from({ length: 8 }, (_, i) => claims.tryClaim('app', `job-${i}`, 'me', 1000));
      const settled = await Promise.allSettled(calls);
      const reasons = settled.map((s) => (s.status === 'rejected' ? (s.reason as Error) : undefined));
      expect(reasons.every((r) => r !== undefined && isStoreUnavailable(r))).toBe(true);
      expect(reasons.filter((r) => /already in flight/.test(r?.message ?? ''))).toHaveLength(3);
    } finally {
      server.resume();
    }
  });

  it('does not turn a non-transient error into the retryable one', async () => {
    server = await startRedisServer();
    conn = await connect(server);
    const keys = new RedisKeys({ prefix: 'ait:' });
    const history = new RedisHistoryStore({ connection: conn, keys });
    // Something else wrote a string where the bucket's HASH lives: WRONGTYPE, a bug, not an outage.
    await conn.exec('test', (c) => c.set(keys.history('app', 'ch').meta, 'not a hash'));
    const r = await failure(() => history.append('app', 'ch', row(1), {}));
    expect(isHistoryError(r.err)).toBe(false);
    expect(isStoreUnavailable(r.err)).toBe(false);
    expect((r.err as Error).message).toMatch(/WRONGTYPE/);
  });
});

describe('persistence', () => {
  it('with AOF on, acknowledged writes survive a SIGKILL and restart, and the node sees no loss', async () => {
    server = await startRedisServer({ appendonly: true, appendfsync: 'always' });
    conn = await connect(server);
    let t = 1_700_000_000_000;
    const now = () => t;
    const history = new RedisHistoryStore({ connection: conn, now });
    const versions = new RedisVersionStore({ connection: conn, now });
    const acked = [];
    for (let i = 1; i <= 20; i++) acked.push(await history.append('app', 'ch', row(i), {}));
    const before = await versions.streamState('app', 'ch');
    await server.kill();
    await server.restart();
    await conn.ready(10_000).catch(() => undefined);
    await waitFor(
      async () =>
        history.state('app', 'ch').then(
          () => true,
          () => false,
        ),
      { what: 'reconnect after restart', timeoutMs: 10_000, intervalMs: 50 },
    );
    t += 1000;
    const page = await history.read({ appId: 'app', channel: 'ch', direction: 'oldest_first', limit: 100 });
    expect(page.items.map((r) => r.historySerial)).toEqual(acked.map((a) => a.historySerial));
    expect(page.continuity.streamId).toBe(acked[0]?.streamId);
    expect(page.streamState.durableState).toBe('healthy');
    const next = await history.append('app', 'ch', row(21), {});
    expect(next.historySerial).toBe(21);
    expect((await versions.streamState('app', 'ch')).streamId).toBe(before.streamId);
  });

  it('with AOF off, an empty restart is detected through the epoch: reset_required, durable_stream_lost', async () => {
    server = await startRedisServer({ appendonly: false });
    conn = await connect(server);
    const history = new RedisHistoryStore({ connection: conn, nodeId: 'node-a' });
    const versions = new RedisVersionStore({ connection: conn });
    const a = await history.append('app', 'ch', row(1), {});
    await history.append('app', 'ch', row(2), {});
    const v = await versions.streamState('app', 'ch');
    await history.append('app', 'untouched-later', row(1), {});
    await server.stop();
    await server.restart();
    await waitFor(
      async () =>
        conn?.ping().then(
          () => true,
          () => false,
        ) ?? false,
      { what: 'reconnect after restart', timeoutMs: 10_000, intervalMs: 50 },
    );
    const page = await history.read({ appId: 'app', channel: 'ch' });
    expect(page.items).toEqual([]);
    expect(page.streamState).toMatchObject({
      durableState: 'reset_required',
      reason: 'durable_stream_lost',
      lostStreamId: a.streamId,
      recoveryAllowed: false,
    });
    expect(page.streamState.streamId).not.toBe(a.streamId);
    expect((await history.listNonHealthy({ appId: 'app' })).items.map((i) => i.channel)).toEqual(['ch']);
    expect((await history.stats()).apps['app']).toMatchObject({ resetRequiredChannels: 1, dataLossDetected: 1 });
    expect(await versions.streamState('app', 'ch')).toMatchObject({
      durableState: 'reset_required',
      reason: 'durable_stream_lost',
      lostStreamId: v.streamId,
    });
    // Only a reset clears it; the new epoch starts at serial 1.
    const reset = await history.reset('app', 'ch', { reason: 'acknowledge loss' });
    expect(reset.stream.state.durableState).toBe('healthy');
    expect((await history.append('app', 'ch', row(3), {})).historySerial).toBe(1);
  });
});
