import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryRevocationStore, revocationTtlMs, signRequest, verifySignedRequest } from '../../auth/index.ts';
import { type ResolvedConfig, resolveConfig } from '../../config/load.ts';
import { FakeEngine } from './fake-engine.ts';
import { createRestHandler, type RestHandler } from './handler.ts';
import { MemoryIdempotencyStore } from './idempotency.ts';
import { RateLimiter } from './rate-limit.ts';
import type { RestMetrics } from './types.ts';

const NOW = 1_700_000_000_000;
const A = { id: 'a1', key: 'key-1', secret: 'secret-1' };
const B = { id: 'b2', key: 'key-2', secret: 'secret-2' };

function config(limits: Record<string, number> = {}): ResolvedConfig {
  return resolveConfig(
    { apps: [{ ...A, limits }, B, { id: 'off', key: 'key-off', secret: 's', enabled: false }] },
    { env: {} },
  );
}

interface Call {
  method?: string;
  path: string;
  params?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
  app?: { key: string; secret: string };
  now?: number;
}

function request({ method = 'POST', path, params = {}, body, headers = {}, app = A, now = NOW }: Call) {
  const raw =
    body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const rawQuery = signRequest(app, method, path, params, raw, now);
  return { method, rawPath: path, rawQuery, headers, body: raw, requestId: 'r1' };
}

let engine: FakeEngine;
let handler: RestHandler;
let metrics: string[];
let clock: { t: number };

function setup(limits: Record<string, number> = {}) {
  engine = new FakeEngine();
  metrics = [];
  clock = { t: NOW };
  const sink: RestMetrics = {
    request: (app) => metrics.push(`request:${app}`),
    rateLimitCheck: (app, hit) => metrics.push(`rate:${app}:${hit}`),
    idempotentPublish: (app, dup) => metrics.push(`idem:${app}:${dup}`),
  };
  handler = createRestHandler({
    config: config(limits),
    engine,
    verify: verifySignedRequest,
    revocations: new MemoryRevocationStore(),
    revocationTtlMs,
    idempotency: new MemoryIdempotencyStore(),
    rateLimiter: new RateLimiter(),
    metrics: sink,
    now: () => clock.t,
    sleep: async () => {},
  });
}

async function call(c: Call) {
  const r = await handler(request(c));
  return { status: r.response.status, body: r.response.body as Record<string, unknown>, res: r };
}

const event = { name: 'greet', data: { hello: 'world' }, channel: 'ch-1' };

describe('REST handler: routing and auth', () => {
  beforeEach(() => setup());

  it('publishes a signed event and answers {ok:true}', async () => {
    const r = await call({ path: '/apps/a1/events', body: event });
    expect(r).toMatchObject({ status: 200, body: { ok: true } });
    expect(engine.published).toEqual([{ appId: 'a1', channel: 'ch-1', event: 'greet', data: '{"hello":"world"}' }]);
    expect(r.res.appId).toBe('a1');
  });

  it('404 / 405 / 400 before touching the engine', async () => {
    expect((await call({ path: '/apps/a1/nope', body: {} })).body).toMatchObject({ code: 'not_found', status: 404 });
    const wrong = await call({ method: 'GET', path: '/apps/a1/events' });
    expect(wrong.status).toBe(405);
    expect(wrong.res.response.headers?.Allow).toBe('POST');
    expect((await call({ path: '/apps/a1/channels/%zz', method: 'GET' })).status).toBe(400);
  });

  it.each([
    ['a stale timestamp', { now: NOW - 601_000 }, 401],
    ['a key of another app (cross-app)', { app: B }, 401],
    ['a disabled app', { path: '/apps/off/events', app: { key: 'key-off', secret: 's' } }, 403],
  ])('rejects %s', async (_l, extra, status) => {
    const r = await call({ path: '/apps/a1/events', body: event, ...extra });
    expect(r.status).toBe(status);
    expect(r.body.code).toBe(status === 403 ? 'forbidden' : 'auth_failed');
    expect(engine.published).toHaveLength(0);
  });

  it('rejects a tampered body (body_md5 mismatch) and a missing query', async () => {
    const req = request({ path: '/apps/a1/events', body: event });
    const r1 = await handler({ ...req, body: Buffer.from(JSON.stringify({ ...event, data: 'evil' })) });
    expect(r1.response.body).toMatchObject({ code: 'auth_failed', status: 401 });
    const r2 = await handler({ ...req, rawQuery: '' });
    expect(r2.response.body).toMatchObject({ code: 'invalid_input', status: 400 });
  });

  it('answers 400 invalid_input for malformed JSON (after auth)', async () => {
    const r = await call({ path: '/apps/a1/events', body: '{"name":' });
    expect(r.body).toEqual({ error: 'request body is not valid JSON', code: 'invalid_input', status: 400 });
  });

  it('meters only verified apps', async () => {
    await call({ path: '/apps/a1/events', body: event, app: B });
    expect(metrics).toEqual([]);
  });
});

describe('REST handler: publish', () => {
  beforeEach(() => setup());

  it('fans out to each channel, excluding socket_id, and passes V2 fields', async () => {
    await call({
      path: '/apps/a1/events',
      body: { name: 'e', data: 'd', channels: ['x', 'y'], socket_id: '1.2', extras: { echo: false }, tags: { t: 'v' } },
    });
    expect(engine.published.map((p) => [p.channel, p.excludeSocketId, p.extras, p.tags])).toEqual([
      ['x', '1.2', { echo: false }, { t: 'v' }],
      ['y', '1.2', { echo: false }, { t: 'v' }],
    ]);
  });

  it('answers per-channel info and the acknowledgement id', async () => {
    engine.setChannel('a1', 'presence-room', { subscriptionCount: 3, users: ['u1', 'u2'] });
    engine.setChannel('a1', 'ch-1', { subscriptionCount: 5 });
    const r = await call({
      path: '/apps/a1/events',
      body: {
        name: 'e',
        data: 'd',
        channels: ['presence-room', 'ch-1'],
        info: 'subscription_count,user_count',
        message_id: 'm-1',
      },
    });
    expect(r.body).toEqual({
      channels: {
        'presence-room': { subscription_count: 3, user_count: 2, acknowledgement_id: 'm-1' },
        'ch-1': { subscription_count: 5, acknowledgement_id: 'm-1' },
      },
    });
    expect(engine.published[0]?.messageId).toBe('m-1');
  });

  it('replays an idempotent publish without a second broadcast (body key, then header key)', async () => {
    const body = { ...event, idempotency_key: 'k1' };
    const first = await call({ path: '/apps/a1/events', body });
    const again = await call({ path: '/apps/a1/events', body });
    expect(again.body).toEqual(first.body);
    expect(again.res.response.headers?.['Idempotent-Replayed']).toBe('true');
    expect(engine.published).toHaveLength(1);
    await call({ path: '/apps/a1/events', body: event, headers: { 'x-idempotency-key': 'h1' } });
    await call({ path: '/apps/a1/events', body: event, headers: { 'x-idempotency-key': 'h1' } });
    expect(engine.published).toHaveLength(2);
    expect(metrics.filter((m) => m.startsWith('idem'))).toEqual([
      'idem:a1:false',
      'idem:a1:true',
      'idem:a1:false',
      'idem:a1:true',
    ]);
  });

  it('scopes idempotency keys by app (I1)', async () => {
    await call({ path: '/apps/a1/events', body: { ...event, idempotency_key: 'k' } });
    await call({ path: '/apps/b2/events', body: { ...event, idempotency_key: 'k' }, app: B });
    expect(engine.published.map((p) => p.appId)).toEqual(['a1', 'b2']);
  });

  it('rejects an oversize header key', async () => {
    const r = await call({ path: '/apps/a1/events', body: event, headers: { 'x-idempotency-key': 'x'.repeat(129) } });
    expect(r.body).toMatchObject({ code: 'invalid_input' });
    expect(engine.published).toHaveLength(0);
  });
});

describe('REST handler: batch', () => {
  beforeEach(() => setup());

  it('publishes every item in order and answers {}', async () => {
    const r = await call({ path: '/apps/a1/batch_events', body: { batch: [event, { ...event, channel: 'ch-2' }] } });
    expect(r).toMatchObject({ status: 200, body: {} });
    expect(engine.published.map((p) => p.channel)).toEqual(['ch-1', 'ch-2']);
  });

  it('publishes nothing when one item is invalid, and names it', async () => {
    const r = await call({
      path: '/apps/a1/batch_events',
      body: { batch: [event, { ...event, channel: 'bad name' }] },
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      code: 'invalid_input',
      status: 400,
      items: [{ index: 1, code: 'invalid_input', error: expect.stringContaining('invalid channel') }],
    });
    expect(engine.published).toHaveLength(0);
  });

  it('answers per-item acks when an item asks for info', async () => {
    engine.setChannel('a1', 'ch-1', { subscriptionCount: 2 });
    const r = await call({
      path: '/apps/a1/batch_events',
      body: {
        batch: [
          { ...event, info: 'subscription_count' },
          { ...event, channel: 'ch-2' },
        ],
      },
    });
    expect(r.body).toEqual({ batch: [{ subscription_count: 2 }, {}] });
  });

  it('skips duplicate items by their idempotency_key, and replays a whole batch by header', async () => {
    const item = { ...event, idempotency_key: 'i1' };
    await call({ path: '/apps/a1/batch_events', body: { batch: [item, item] } });
    expect(engine.published).toHaveLength(1);
    const h = { 'x-idempotency-key': 'b1' };
    await call({ path: '/apps/a1/batch_events', body: { batch: [event] }, headers: h });
    await call({ path: '/apps/a1/batch_events', body: { batch: [event] }, headers: h });
    expect(engine.published).toHaveLength(2);
  });
});

describe('REST handler: rate limit', () => {
  it('answers 429 rate_limited with Retry-After past the per-app limit', async () => {
    setup({ httpRequestsPerSecond: 2 });
    expect((await call({ path: '/apps/a1/events', body: event })).status).toBe(200);
    expect((await call({ path: '/apps/a1/events', body: event })).status).toBe(200);
    const r = await call({ path: '/apps/a1/events', body: event });
    expect(r.status).toBe(429);
    expect(r.body).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(r.res.response.headers?.['Retry-After']).toBe('1');
    expect(engine.published).toHaveLength(2);
    // The other app is unaffected.
    expect((await call({ path: '/apps/b2/events', body: event, app: B })).status).toBe(200);
    clock.t += 1000;
    expect((await call({ path: '/apps/a1/events', body: event })).status).toBe(200);
    expect(metrics).toContain('rate:a1:true');
  });
});

describe('REST handler: channels, users, revocations', () => {
  beforeEach(() => {
    setup();
    engine
      .setChannel('a1', 'presence-room', { subscriptionCount: 3, users: ['u1', 'u2'] })
      .setChannel('a1', 'cache-news', { subscriptionCount: 1, cache: { event: 'e', data: 'd' } })
      .setChannel('b2', 'secret-of-b', { subscriptionCount: 1 });
  });
  const get = (path: string, params: Record<string, string> = {}) => call({ method: 'GET', path, params });

  it('lists channels of the app only, with user_count for presence prefixes', async () => {
    expect((await get('/apps/a1/channels')).body).toEqual({ channels: { 'presence-room': {}, 'cache-news': {} } });
    const r = await get('/apps/a1/channels', { filter_by_prefix: 'presence-', info: 'user_count' });
    expect(r.body).toEqual({ channels: { 'presence-room': { user_count: 2 } } });
    expect((await get('/apps/a1/channels', { info: 'user_count' })).status).toBe(400);
  });

  it('answers channel info', async () => {
    const r = await get('/apps/a1/channels/presence-room', { info: 'subscription_count,user_count' });
    expect(r.body).toEqual({ occupied: true, subscription_count: 3, user_count: 2 });
    expect((await get('/apps/a1/channels/cache-news', { info: 'cache' })).body).toEqual({
      occupied: true,
      cache: { event: 'e', data: 'd' },
    });
    expect((await get('/apps/a1/channels/empty')).body).toEqual({ occupied: false });
    expect((await get('/apps/a1/channels/plain', { info: 'user_count' })).status).toBe(400);
    expect((await get('/apps/a1/channels/private-', {})).status).toBe(400);
  });

  it('lists presence users', async () => {
    expect((await get('/apps/a1/channels/presence-room/users')).body).toEqual({ users: [{ id: 'u1' }, { id: 'u2' }] });
    expect((await get('/apps/a1/channels/presence-none/users')).body).toEqual({ users: [] });
    expect((await get('/apps/a1/channels/cache-news/users')).status).toBe(400);
  });

  it('terminates a user', async () => {
    const r = await call({ path: '/apps/a1/users/u%201/terminate_connections', body: {} });
    expect(r.body).toEqual({});
    expect(engine.terminated).toEqual([{ appId: 'a1', userId: 'u 1' }]);
  });

  it('revokes by jti and client id', async () => {
    const r = await call({ path: '/apps/a1/revocations', body: { jti: 'j1', client_id: 'c1', ttl_seconds: 60 } });
    expect(r.body).toEqual({ revoked_jti: 'j1', revoked_client_id: 'c1', closed_connections: 2 });
    expect(engine.revoked).toEqual([{ appId: 'a1', jti: 'j1', clientId: 'c1' }]);
    const only = await call({ path: '/apps/a1/revocations', body: { client_id: 'c2' } });
    expect(only.body).toEqual({ revoked_jti: null, revoked_client_id: 'c2', closed_connections: 2 });
  });

  it.each([
    [{}, 'one of jti or client_id'],
    [{ jti: '' }, 'jti must be'],
    [{ jti: 'j', ttl_seconds: 0 }, 'ttl_seconds'],
    [{ jti: 'j', expires_at: 'soon' }, 'expires_at'],
  ])('rejects revocation %j', async (body, message) => {
    const r = await call({ path: '/apps/a1/revocations', body });
    expect(r.status).toBe(400);
    expect(String(r.body.error)).toContain(message);
    expect(engine.revoked).toHaveLength(0);
  });
});
