// Redis-specific behaviour the contract suites cannot see: the key layout (prefix, app scoping,
// one hash slot per script), the layout marker, idle expiry, data loss seen by a second node,
// rows lost under their record, the version store's bounds and the eviction budget.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Aggregate } from '../../dataplane/src/messages/model.ts';
import { applyMutation, type MutationInput, NO_LIMITS } from '../../dataplane/src/messages/mutations.ts';
import { SerialGenerator } from '../../dataplane/src/messages/serials.ts';
import { RedisActiveStreamRegistry } from '../../dataplane/src/stores/redis/active-streams.ts';
import { RedisClaimStore } from '../../dataplane/src/stores/redis/claims.ts';
import { ensureLayout, type RedisConnection, serverWarnings } from '../../dataplane/src/stores/redis/client.ts';
import { RedisHistoryStore } from '../../dataplane/src/stores/redis/history-store.ts';
import { RedisIdempotencyStore } from '../../dataplane/src/stores/redis/idempotency.ts';
import { clusterSlot, RedisKeys } from '../../dataplane/src/stores/redis/keys.ts';
import { RedisPublishClaimStore } from '../../dataplane/src/stores/redis/publish-claims.ts';
import { RedisRevocationStore } from '../../dataplane/src/stores/redis/revocations.ts';
import { RedisVersionStore } from '../../dataplane/src/stores/redis/version-store.ts';
import { ManualClock } from '../contract/harness.ts';
import { deletePrefix, openConnection, type RedisBackend } from '../helpers/redis-harness.ts';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts';

let server: RedisServer;
const backend: RedisBackend = {
  get connection() {
    return { host: '127.0.0.1', port: server.port, commandTimeoutMs: 2000 };
  },
  flushAll: async () => {
    await server.command(['FLUSHALL']);
  },
};

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.cleanup();
});

let conn: RedisConnection;
let keys: RedisKeys;
let prefix: string;
let clock: ManualClock;

beforeEach(async (ctx) => {
  ({ conn, keys, prefix } = await openConnection(backend));
  clock = new ManualClock();
  ctx.onTestFinished(async () => {
    await deletePrefix(conn, prefix);
    await conn.close();
  });
});

const row = (i: number) => ({ messageId: `m-${i}`, eventName: 'ai-output', message: { data: `payload ${i}` } });

async function allKeys(): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await conn.client.scan(cursor, 'MATCH', '*', 'COUNT', 1000);
    out.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

describe('key layout', () => {
  it('puts every key under the prefix, names the app, and keeps each call in one hash slot', async () => {
    const app = 'tenant{1}:x';
    const ch = 'private-ai-{odd}:chan';
    const now = clock.now;
    const history = new RedisHistoryStore({ connection: conn, keys, now });
    const versions = new RedisVersionStore({ connection: conn, keys, now });
    await history.append(app, ch, row(1), { maxMessages: 5 });
    await history.markDegraded(app, ch, 'x');
    await versions.streamState(app, ch);
    await new RedisPublishClaimStore({ connection: conn, keys, now }).claim(app, ch, 'k', 'fp', 'n', 1000);
    await new RedisClaimStore({ connection: conn, keys, now }).tryClaim(app, 'job', 'n', 1000);
    await new RedisActiveStreamRegistry({ connection: conn, keys, now }).upsert(
      { appId: app, channel: ch, messageSerial: 'ms', versionSerial: 'vs', historySerial: 1, deliverySerial: 1 },
      1000,
    );
    await new RedisRevocationStore({ connection: conn, keys }).revoke({ appId: app, jti: 'j', ttlMs: 1000 }, now());
    await new RedisIdempotencyStore({ connection: conn, keys }).claim(`app:${app}:idempotency:k`, now());

    const mine = (await allKeys()).filter((k) => k.startsWith(prefix));
    expect(mine.length).toBeGreaterThanOrEqual(12);
    const encodedApp = 'tenant%7B1%7D%3Ax';
    const untagged = [`${prefix}h:apps`, `${prefix}layout`];
    for (const k of mine) {
      // The first brace of every key opens our tag: a brace in an id cannot move a key's slot.
      if (!untagged.includes(k)) expect(k.indexOf('{')).toBeGreaterThan(prefix.length - 1);
      // Every key is scoped by the app, except the apps registry and the bucketed active-stream
      // index, whose members are app-scoped (docs/redis.md).
      if (!k.includes(':as:') && !k.endsWith('h:apps')) expect(k).toContain(encodedApp);
    }
    const h = keys.history(app, ch);
    expect(new Set([h.meta, h.idle, h.bad, h.stats, h.rows, h.idx].map(clusterSlot)).size).toBe(1);
    const v = keys.version(app, ch);
    expect(new Set(Object.values(v).map(clusterSlot)).size).toBe(1);
    const a = keys.activeChannel(app, ch);
    expect(new Set([a.entries, a.seen, a.exp, a.count].map(clusterSlot)).size).toBe(1);
    // Backstop expiries are set on per-channel keys (garbage collection only).
    expect(Number(await conn.client.pttl(h.rows))).toBeGreaterThan(0);
    expect(Number(await conn.client.pttl(v.meta))).toBeGreaterThan(0);
  });

  it('records the layout and refuses other bucket counts on the same prefix', async () => {
    await ensureLayout(conn, keys);
    await ensureLayout(conn, keys);
    const other = new RedisKeys({ prefix, historyBuckets: keys.historyBuckets * 2 });
    await expect(ensureLayout(conn, other)).rejects.toThrow(/layout mismatch/);
  });

  it('warns about settings that put acknowledged data at risk', async () => {
    const warnings = await serverWarnings(conn);
    expect(warnings.some((w) => /appendonly is off/.test(w))).toBe(true);
  });
});

describe('history: epochs across nodes', () => {
  it('a node that saw an epoch detects the loss even when another node recreated the channel first', async () => {
    const a = new RedisHistoryStore({ connection: conn, keys, now: clock.now, nodeId: 'a' });
    const b = new RedisHistoryStore({ connection: conn, keys, now: clock.now, nodeId: 'b' });
    const c = new RedisHistoryStore({ connection: conn, keys, now: clock.now, nodeId: 'c' });
    const first = await a.append('app', 'ch', row(1), {});
    await c.read({ appId: 'app', channel: 'ch' });
    await backend.flushAll();
    // b never saw the old epoch: for it this is a fresh channel.
    const fresh = await b.append('app', 'ch', row(2), {});
    expect(fresh).toMatchObject({ historySerial: 1, durableState: 'healthy' });
    const seenByA = await a.append('app', 'ch', row(3), {});
    expect(seenByA.durableState).toBe('reset_required');
    expect(seenByA.streamId).toBe(fresh.streamId);
    expect((await b.state('app', 'ch')).state).toMatchObject({
      durableState: 'reset_required',
      reason: 'durable_stream_lost',
      lostStreamId: first.streamId,
      nodeId: 'a',
    });
    // c knew the same lost epoch: the loss is not counted twice.
    await c.state('app', 'ch');
    expect((await a.stats()).apps['app']).toMatchObject({ dataLossDetected: 1, resetRequiredChannels: 1 });
  });

  it('a reset by one node is no loss for another that knew the previous epoch', async () => {
    const a = new RedisHistoryStore({ connection: conn, keys, now: clock.now });
    const b = new RedisHistoryStore({ connection: conn, keys, now: clock.now });
    await a.append('app', 'ch', row(1), {});
    await b.reset('app', 'ch', { reason: 'operator' });
    const r = await a.append('app', 'ch', row(2), {});
    expect(r).toMatchObject({ historySerial: 1, durableState: 'healthy' });
  });

  it('rows lost under their record start a new epoch in reset_required', async () => {
    const store = new RedisHistoryStore({ connection: conn, keys, now: clock.now });
    const first = await store.append('app', 'ch', row(1), {});
    await store.append('app', 'ch', row(2), {});
    const k = keys.history('app', 'ch');
    await conn.client.del(k.idx, k.rows);
    // A node that never saw the channel still sees the loss: the record itself says rows existed.
    const other = new RedisHistoryStore({ connection: conn, keys, now: clock.now });
    const st = await other.state('app', 'ch');
    expect(st.state).toMatchObject({ durableState: 'reset_required', lostStreamId: first.streamId });
    expect(st.streamId).not.toBe(first.streamId);
    expect(st.nextSerial).toBe(1);
    expect((await store.stats()).apps['app']).toMatchObject({ retainedMessages: 0, dataLossDetected: 1 });
  });
});

describe('history: idle records', () => {
  it('drops a channel idle past its window without calling it lost, and sweeps idle neighbours', async () => {
    const idleTtlMs = 10_000;
    const store = new RedisHistoryStore({ connection: conn, keys, now: clock.now, idleTtlMs, idleGraceMs: 1000 });
    // Two channels of one bucket: a call on one sweeps the other.
    const bucket = keys.historyBucketOf('app', 'idle-0');
    let neighbour = '';
    for (let i = 1; i < 10_000 && neighbour === ''; i++) {
      if (keys.historyBucketOf('app', `idle-${i}`) === bucket) neighbour = `idle-${i}`;
    }
    const first = await store.append('app', 'idle-0', row(1), {});
    await store.markDegraded('app', 'idle-0', 'x');
    clock.advance(idleTtlMs + 1000);
    await store.append('app', neighbour, row(1), {});
    const stats = (await store.stats()).apps['app'];
    expect(stats).toMatchObject({ channels: 1, retainedMessages: 1, evictedMessages: 1, degradedChannels: 0 });
    expect((await store.listNonHealthy({ appId: 'app' })).items).toEqual([]);
    const again = await store.state('app', 'idle-0');
    expect(again.state.durableState).toBe('healthy');
    expect(again.streamId).not.toBe(first.streamId);
    expect(again.nextSerial).toBe(1);
  });

  it('lets the gauges of channels nobody calls any more fall at the next stats scrape', async () => {
    const store = new RedisHistoryStore({ connection: conn, keys, now: clock.now, idleTtlMs: 10_000, idleGraceMs: 0 });
    for (let i = 0; i < 5; i++) await store.append('gone', `c-${i}`, row(1), {});
    expect((await store.stats()).apps['gone']).toMatchObject({ channels: 5, retainedMessages: 5 });
    clock.advance(10_000);
    expect((await store.stats()).apps['gone']).toMatchObject({ channels: 0, retainedMessages: 0, evictedMessages: 5 });
  });

  it('keeps a channel with a longer age retention for that long', async () => {
    const store = new RedisHistoryStore({ connection: conn, keys, now: clock.now, idleTtlMs: 10_000, idleGraceMs: 0 });
    const first = await store.append('app', 'ch', row(1), { maxAgeSeconds: 60 });
    clock.advance(30_000);
    const st = await store.state('app', 'ch');
    expect(st.streamId).toBe(first.streamId);
    expect(st.retained.retainedMessages).toBe(1);
  });
});

describe('history: eviction budget', () => {
  it('evicts at most maxEvictionsPerCall rows per call and catches up on later calls', async () => {
    const store = new RedisHistoryStore({ connection: conn, keys, now: clock.now, maxEvictionsPerCall: 2 });
    for (let i = 1; i <= 10; i++) await store.append('app', 'ch', row(i), {});
    const r = await store.append('app', 'ch', row(11), { maxMessages: 3 });
    expect(r.evictedMessages).toBe(2);
    // Reads enforce retention too, within the same budget: 9 → 7 → 5 → 3.
    expect((await store.state('app', 'ch')).retained.retainedMessages).toBe(7);
    await store.state('app', 'ch');
    const st = await store.state('app', 'ch');
    expect(st.retained).toMatchObject({ retainedMessages: 3, oldestAvailableSerial: 9 });
  });
});

describe('version store bounds', () => {
  it('drops the oldest versions, their op receipts, old log entries and the oldest message', async () => {
    const store = new RedisVersionStore({
      connection: conn,
      keys,
      now: clock.now,
      maxVersionsPerMessage: 3,
      maxDeliveryLog: 5,
      maxMessagesPerChannel: 2,
    });
    const gen = new SerialGenerator({ node: 'n', now: clock.now });
    let hs = 0;
    const create = async (): Promise<string> => {
      const st = await store.streamState('app', 'ch');
      const res = applyMutation(undefined, { action: 'create', name: 'e', data: '', history_serial: ++hs }, NO_LIMITS, {
        version_serial: gen.next(),
        delivery_serial: st.nextDeliverySerial,
        timestamp_ms: clock.now(),
      });
      if (!res.ok || res.status !== 'applied') throw new Error('create');
      const out = await store.commitCreate('app', 'ch', { next: res.next, streaming: false });
      if (out.status !== 'committed') throw new Error(out.status);
      return out.record.message_serial;
    };
    const mutate = async (ms: string, input: MutationInput) => {
      const op = input.op_id === undefined ? undefined : { action: input.action, opId: input.op_id };
      const snap = await store.snapshot('app', 'ch', ms, op);
      const res = applyMutation(snap.latest, input, NO_LIMITS, {
        version_serial: gen.next(snap.latest?.latest.version_serial),
        delivery_serial: snap.nextDeliverySerial,
        timestamp_ms: clock.now(),
        prior_op: snap.priorOp,
      });
      if (!res.ok || res.status !== 'applied') throw new Error('apply');
      return store.commitMutation('app', 'ch', ms, {
        expectedLatestVersionSerial: (snap.latest as Aggregate).latest.version_serial,
        next: res.next,
        streaming: false,
      });
    };
    const a = await create(); // delivery 1
    for (let i = 1; i <= 4; i++)
      expect((await mutate(a, { action: 'append', data: `${i}`, op_id: `op-${i}` })).status).toBe('committed');
    const versions = await store.versions('app', 'ch', a, { direction: 'oldest_first' });
    expect(versions.items.map((v) => v.fragment)).toEqual(['2', '3', '4']);
    expect((await store.snapshot('app', 'ch', a, { action: 'append', opId: 'op-1' })).priorOp).toBeUndefined();
    expect((await store.snapshot('app', 'ch', a, { action: 'append', opId: 'op-4' })).priorOp).toMatchObject({
      delivery_serial: 5,
    });
    expect((await store.latest('app', 'ch', a))?.latest.data).toBe('1234');
    expect(await store.streamState('app', 'ch')).toMatchObject({ oldestDeliverySerial: 1, newestDeliverySerial: 5 });
    await create(); // delivery 6
    await create(); // delivery 7: a (the oldest message) goes
    const st = await store.streamState('app', 'ch');
    expect(st).toMatchObject({ oldestDeliverySerial: 3, newestDeliverySerial: 7, messageCount: 2 });
    expect(await store.latest('app', 'ch', a)).toBeUndefined();
    expect((await store.versions('app', 'ch', a)).items).toEqual([]);
    const replay = await store.replayAfter('app', 'ch', 0, 100);
    expect(replay.items.map((r) => r.delivery_serial)).toEqual([3, 4, 5, 6, 7]);
    // The dropped message's versions left no hash entries or receipts behind.
    const v = keys.version('app', 'ch');
    expect(await conn.client.hlen(v.vrec)).toBe(2);
    expect(await conn.client.zcard(v.ops)).toBe(0);
  });
});

describe('listing across apps', () => {
  it('pages non-healthy channels of every app in a stable order', async () => {
    const store = new RedisHistoryStore({ connection: conn, keys, now: clock.now });
    const want: string[] = [];
    for (const app of ['app-a', 'app-b', 'app-c']) {
      for (const ch of ['x', 'y']) {
        await store.markDegraded(app, ch, 'test');
        want.push(`${app}/${ch}`);
      }
    }
    await store.append('app-d', 'healthy', row(1), {});
    const got: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page: Awaited<ReturnType<typeof store.listNonHealthy>> = await store.listNonHealthy({ limit: 4, cursor });
      got.push(...page.items.map((x) => `${x.appId}/${x.channel}`));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(got.sort()).toEqual(want.sort());
    await expect(store.listNonHealthy({ cursor: 'garbage!' })).rejects.toMatchObject({ code: 'invalid_cursor' });
  });
});

describe('bad input', () => {
  it('is refused with a clear error before anything reaches Redis', async () => {
    const history = new RedisHistoryStore({ connection: conn, keys, now: clock.now, maxRowBytes: 64 });
    await expect(
      history.append('app', 'ch', { messageId: 'm', eventName: 'e', message: { data: 'x'.repeat(100) } }, {}),
    ).rejects.toMatchObject({ code: 'row_too_large' });
    await expect(history.append('app', 'ch', row(1), { maxMessages: 0 })).rejects.toThrow(TypeError);
    await expect(history.append('', 'ch', row(1), {})).rejects.toThrow(TypeError);
    await expect(
      history.purge('app', 'ch', { mode: 'before_serial', beforeSerial: -1, reason: 'r' }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    const versions = new RedisVersionStore({ connection: conn, keys, now: clock.now });
    await expect(versions.latest('app', 'ch', 'a\u0000b')).rejects.toThrow(TypeError);
    await expect(versions.versions('app', 'ch', 'ms', { cursor: 'x'.repeat(200) })).rejects.toMatchObject({
      code: 'invalid_cursor',
    });
    await expect(versions.replayAfter('app', 'ch', -1, 10)).rejects.toMatchObject({ code: 'invalid_query' });
    const active = new RedisActiveStreamRegistry({ connection: conn, keys, now: clock.now });
    await expect(active.listIdle(clock.now(), 0)).rejects.toThrow(TypeError);
    const idem = new RedisIdempotencyStore({ connection: conn, keys });
    await expect(idem.claim('', clock.now())).rejects.toThrow(TypeError);
    await expect(
      idem.complete('k', { status: 'ok' } as unknown as { status: number; body: unknown }, clock.now()),
    ).rejects.toThrow(TypeError);
    const claims = new RedisClaimStore({ connection: conn, keys, now: clock.now });
    await expect(claims.tryClaim('app', 'job', '', 1000)).rejects.toThrow(TypeError);
    await expect(claims.tryClaim('app', 'job', 'me', 0)).rejects.toThrow(TypeError);
    // Nothing was written for any of them.
    expect((await allKeys()).filter((k) => k.startsWith(prefix))).toEqual([]);
  });
});
