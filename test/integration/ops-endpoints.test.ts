// The ops listener over real sockets: /metrics, /livez, /readyz, and the admin API's auth,
// status and drain (which flips readiness and the public /up). The engine is the fake, so
// this is about the listener; ops-drain.test.ts drains real WebSockets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../../dataplane/src/server/node.ts';
import { FakeEngine } from '../../dataplane/src/server/rest/fake-engine.ts';
import { ADMIN_TOKEN, APP, http, signed, silentLogger, testConfig } from './rest-helpers.ts';

let node: RunningNode;
let engine: FakeEngine;
let ops: number;

beforeAll(async () => {
  engine = new FakeEngine();
  engine.connections = { [APP.id]: 2 };
  node = await startNode(testConfig(), { logger: silentLogger(), createEngine: () => engine, version: '9.9.9' });
  ops = node.opsAddress.port;
});

afterAll(async () => {
  await node?.stop({ drain: false });
});

const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('ops listener', () => {
  it('serves Prometheus text with the prefixed catalogue and REST counters', async () => {
    await signed(node.publicAddress.port, 'POST', `/apps/${APP.id}/events`, { name: 'e', data: 'd', channel: 'c' });
    const r = await http({ port: ops, path: '/metrics' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.text).toContain('ait_connected');
    expect(r.text).toMatch(/ait_http_calls_received_total\{app_id="app-1"\} 1/);
  });

  it('answers /livez and /readyz', async () => {
    expect((await http({ port: ops, path: '/livez' })).json()).toEqual({ status: 'ok' });
    const ready = await http({ port: ops, path: '/readyz' });
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready' });
  });

  it('404s and 405s in JSON', async () => {
    const r = await http({ port: ops, path: '/nope' });
    expect([r.status, r.json().code]).toEqual([404, 'not_found']);
    expect((await http({ port: ops, method: 'POST', path: '/readyz' })).status).toBe(405);
  });

  it('guards the admin API with the bearer token', async () => {
    const none = await http({ port: ops, path: '/admin/status' });
    expect([none.status, none.json().code]).toEqual([401, 'auth_failed']);
    const wrong = await http({
      port: ops,
      path: '/admin/status',
      headers: { authorization: 'Bearer wrong-token-wrong' },
    });
    expect(wrong.status).toBe(401);
    const ok = await http({ port: ops, path: '/admin/status', headers: bearer });
    expect(ok.json()).toMatchObject({
      nodeId: 'test-node',
      version: '9.9.9',
      ready: true,
      draining: false,
      connections: 2,
      connectionsByApp: { [APP.id]: 2 },
      drain: null,
    });
  });

  it('drains on POST /admin/drain: /readyz and /up turn 503', async () => {
    const r = await http({
      port: ops,
      method: 'POST',
      path: '/admin/drain',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ batchSize: 1, batchIntervalMs: 0 }),
    });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ state: 'drained', closedConnections: 2 });
    expect(engine.drainRequests).toEqual([{ batchSize: 1, batchIntervalMs: 0 }]);
    const ready = await http({ port: ops, path: '/readyz' });
    expect(ready.status).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'not_ready', reasons: ['draining: node is draining'] });
    const up = await http({ port: node.publicAddress.port, path: '/up' });
    expect([up.status, up.text, up.headers['x-health-check']]).toEqual([503, 'DRAINING', 'DRAINING']);
    expect((await http({ port: ops, path: '/livez' })).status).toBe(200);
    const status = await http({ port: ops, path: '/admin/drain', headers: bearer });
    expect(status.json()).toMatchObject({ state: 'drained' });
  });

  it('rejects an invalid drain request naming the field', async () => {
    const r = await http({
      port: ops,
      method: 'POST',
      path: '/admin/drain',
      headers: bearer,
      body: '{"batchSize":-1}',
    });
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(/^batchSize:/);
  });
});

describe('admin API without a token', () => {
  it('answers 503 admin API disabled', async () => {
    const n = await startNode(testConfig({ ops: { adminToken: undefined } }), {
      logger: silentLogger(),
      createEngine: () => new FakeEngine(),
    });
    try {
      const r = await http({ port: n.opsAddress.port, path: '/admin/status', headers: bearer });
      expect(r.status).toBe(503);
      expect(r.json().error).toContain('admin API disabled');
      expect(r.headers['retry-after']).toBe('1');
    } finally {
      await n.stop();
    }
  });
});
