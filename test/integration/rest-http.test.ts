// The signed REST API over real sockets on loopback: signature rejections, body limits,
// malformed JSON, timeouts, rate limits, Connection: close and JSON everywhere. The engine
// is the in-memory fake so every assertion is about the HTTP layer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../../dataplane/src/server/node.ts';
import { FakeEngine } from '../../dataplane/src/server/rest/fake-engine.ts';
import {
  APP,
  type HttpResult,
  http,
  OTHER_APP,
  signed,
  signedQuery,
  silentLogger,
  testConfig,
} from './rest-helpers.ts';

let node: RunningNode;
let engine: FakeEngine;
let port: number;

beforeAll(async () => {
  engine = new FakeEngine();
  const config = testConfig({
    server: { maxBodyKb: 1, requestTimeoutMs: 300 },
    apps: [
      { ...APP, limits: { maxEventPayloadKb: 1 } },
      { ...OTHER_APP, limits: { httpRequestsPerSecond: 2 } },
    ],
  });
  node = await startNode(config, { logger: silentLogger(), createEngine: () => engine });
  port = node.publicAddress.port;
});

afterAll(async () => {
  await node?.stop({ drain: false });
});

const event = { name: 'e', data: { n: 1 }, channel: 'ch' };
const eventsPath = `/apps/${APP.id}/events`;

function expectJsonError(r: HttpResult, status: number, code: string) {
  expect(r.status).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  expect(r.headers.connection).toBe('close');
  expect(r.json()).toMatchObject({ code, status });
}

describe('signed REST over HTTP', () => {
  it('publishes and answers JSON with Connection: close and a request id', async () => {
    const before = engine.published.length;
    const r = await signed(port, 'POST', eventsPath, event, { headers: { 'x-request-id': 'req-42' } });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ ok: true });
    expect(r.headers.connection).toBe('close');
    expect(r.headers['x-request-id']).toBe('req-42');
    expect(engine.published.length).toBe(before + 1);
  });

  it('verifies the raw (percent-encoded) path', async () => {
    engine.setChannel(APP.id, 'private-ai:x', { subscriptionCount: 1 });
    const r = await signed(port, 'GET', `/apps/${APP.id}/channels/private-ai%3Ax`);
    expect(r.json()).toEqual({ occupied: true });
  });

  it.each([
    ['a bad signature', (q: string) => q.replace(/auth_signature=[0-9a-f]+/, `auth_signature=${'0'.repeat(64)}`), 401],
    ['a missing body_md5', (q: string) => q.replace(/body_md5=[0-9a-f]+&/, ''), 401],
    ['no query at all', () => '', 400],
  ])('rejects %s', async (_l, mutate, status) => {
    const body = JSON.stringify(event);
    const q = mutate(signedQuery(APP, 'POST', eventsPath, body));
    const r = await http({ port, method: 'POST', path: q ? `${eventsPath}?${q}` : eventsPath, body });
    expectJsonError(r, status, status === 401 ? 'auth_failed' : 'invalid_input');
  });

  it('rejects a stale timestamp, a wrong app id and a cross-app key', async () => {
    const stale = await signed(port, 'POST', eventsPath, event, { nowSeconds: Math.floor(Date.now() / 1000) - 700 });
    expectJsonError(stale, 401, 'auth_failed');
    expectJsonError(await signed(port, 'POST', '/apps/nope/events', event), 401, 'auth_failed');
    expectJsonError(await signed(port, 'POST', eventsPath, event, { app: OTHER_APP }), 401, 'auth_failed');
  });

  it('404s unknown routes and 405s wrong methods, in JSON', async () => {
    expectJsonError(await signed(port, 'GET', `/apps/${APP.id}/nothing`), 404, 'not_found');
    expectJsonError(await http({ port, path: '/favicon.ico' }), 404, 'not_found');
    const r = await signed(port, 'GET', eventsPath);
    expectJsonError(r, 405, 'method_not_allowed');
    expect(r.headers.allow).toBe('POST');
  });

  it('answers 400 invalid_input with a JSON body for malformed JSON', async () => {
    expectJsonError(await signed(port, 'POST', eventsPath, '{"name": "e",'), 400, 'invalid_input');
  });

  it('rejects invalid channels, too many channels and oversize data', async () => {
    expectJsonError(await signed(port, 'POST', eventsPath, { ...event, channel: 'bad channel' }), 400, 'invalid_input');
    const many = { name: 'e', data: 'x', channels: Array.from({ length: 101 }, (_, i) => `c${i}`) };
    expectJsonError(await signed(port, 'POST', eventsPath, many), 400, 'limit_exceeded');
    expectJsonError(
      await signed(port, 'POST', eventsPath, { ...event, data: 'x'.repeat(1000) }),
      413,
      'payload_too_large',
    );
  });

  it('refuses a body over server.maxBodyKb from its Content-Length, before reading it', async () => {
    const r = await http({
      port,
      method: 'POST',
      path: `${eventsPath}?x=1`,
      headers: { 'content-length': 50 * 1024 * 1024 },
      chunks: [Buffer.alloc(100)],
      chunkDelayMs: 5_000,
    });
    expectJsonError(r, 413, 'payload_too_large');
  });

  it('refuses a chunked body as soon as it crosses the limit', async () => {
    const chunks = Array.from({ length: 200 }, () => Buffer.alloc(512, 'a'));
    const r = await http({ port, method: 'POST', path: `${eventsPath}?x=1`, chunks, chunkDelayMs: 2 });
    expectJsonError(r, 413, 'payload_too_large');
  });

  it('answers 408 request_timeout when the body does not arrive in time', async () => {
    const started = Date.now();
    const r = await http({
      port,
      method: 'POST',
      path: `${eventsPath}?x=1`,
      headers: { 'content-length': 100 },
      chunks: [Buffer.alloc(10), Buffer.alloc(10)],
      chunkDelayMs: 2_000,
    });
    expectJsonError(r, 408, 'request_timeout');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('publishes nothing when one batch item is invalid', async () => {
    const before = engine.published.length;
    const r = await signed(port, 'POST', `/apps/${APP.id}/batch_events`, {
      batch: [event, { ...event, name: '' }, event],
    });
    expectJsonError(r, 400, 'invalid_input');
    expect(r.json().items).toEqual([{ index: 1, error: 'name must be a non-empty string', code: 'invalid_input' }]);
    expect(engine.published.length).toBe(before);
  });

  it('replays an idempotent publish without rebroadcasting', async () => {
    const before = engine.published.length;
    const headers = { 'x-idempotency-key': 'idem-http-1' };
    const a = await signed(port, 'POST', eventsPath, { ...event, info: 'subscription_count' }, { headers });
    const b = await signed(port, 'POST', eventsPath, { ...event, info: 'subscription_count' }, { headers });
    expect(b.json()).toEqual(a.json());
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(engine.published.length).toBe(before + 1);
  });

  it('rate-limits per app with 429 and Retry-After', async () => {
    const path = `/apps/${OTHER_APP.id}/events`;
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await signed(port, 'POST', path, event, { app: OTHER_APP }));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expectJsonError(limited[0] as HttpResult, 429, 'rate_limited');
    expect(Number(limited[0]?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The first app is not affected by the second one's limit.
    expect((await signed(port, 'POST', eventsPath, event)).status).toBe(200);
  });
});

describe('public health routes', () => {
  it('answers /live and /up with X-Health-Check, without auth', async () => {
    const live = await http({ port, path: '/live' });
    expect(live.status).toBe(200);
    const up = await http({ port, path: '/up' });
    expect([up.status, up.text, up.headers['x-health-check']]).toEqual([200, 'OK', 'OK']);
    const app = await http({ port, path: `/up/${APP.id}` });
    expect([app.status, app.text]).toEqual([200, 'OK']);
    const missing = await http({ port, path: '/up/unknown-app' });
    expect([missing.status, missing.text, missing.headers['x-health-check']]).toEqual([404, 'NOT_FOUND', 'NOT_FOUND']);
  });

  it('answers malformed HTTP with a JSON 400', async () => {
    const { connect } = await import('node:net');
    const text = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write('GARBAGE\r\n\r\n'));
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('close', () => resolve(out));
    });
    expect(text).toMatch(/^HTTP\/1.1 400/);
    expect(text).toContain('"code":"invalid_input"');
  });
});
