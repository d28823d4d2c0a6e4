import { describe, expect, it } from 'vitest';
import type { AdminStatus } from './admin-types.ts';
import { bearerMatches, handleAdmin, parseDrainRequest } from './ops-admin.ts';
import { FakeEngine } from './rest/fake-engine.ts';

const TOKEN = 'a-very-long-admin-token';
const status: AdminStatus = {
  nodeId: 'n1',
  version: '1.0.0',
  uptimeSeconds: 1,
  ready: true,
  draining: false,
  connections: 0,
  connectionsByApp: {},
  channels: 0,
  drain: null,
  history: { store: 'memory', reachable: true, degradedChannels: 0, resetRequiredChannels: 0 },
  pipeline: { queueDepth: 0, rollupActiveStreams: 0, rollupHeldBytes: 0, rollupPendingWindows: 0 },
  policies: { source: 'inline', file: null, count: 0, hash: '', generation: 1, lastLoadedAtMs: 0, lastError: null },
};

function admin(token: string | null = TOKEN, engine = new FakeEngine()) {
  return { token: token ?? undefined, engine, status: () => status };
}
const auth = { authorization: `Bearer ${TOKEN}` };
const empty = Buffer.alloc(0);

describe('bearerMatches', () => {
  it('accepts only the exact token', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`bearer  ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerMatches(`Basic ${TOKEN}`, TOKEN)).toBe(false);
    expect(bearerMatches(undefined, TOKEN)).toBe(false);
    expect(bearerMatches('Bearer ', TOKEN)).toBe(false);
  });
});

describe('handleAdmin', () => {
  it('is disabled (503) without a configured token', async () => {
    const r = await handleAdmin(admin(null), 'GET', '/admin/status', auth, empty);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ code: 'service_unavailable', error: expect.stringContaining('admin API disabled') });
  });

  it('answers 401 with WWW-Authenticate to a missing or wrong token', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope-nope-nope-nope' }]) {
      const r = await handleAdmin(admin(), 'GET', '/admin/status', headers, empty);
      expect(r.status).toBe(401);
      expect(r.headers?.['WWW-Authenticate']).toContain('Bearer');
      expect(r.body).toMatchObject({ code: 'auth_failed' });
    }
  });

  it('serves the status', async () => {
    expect(await handleAdmin(admin(), 'GET', '/admin/status', auth, empty)).toMatchObject({
      status: 200,
      body: status,
    });
  });

  it('starts a drain with the requested pacing and reports it', async () => {
    const engine = new FakeEngine();
    engine.connections = { a1: 3 };
    const d = admin(TOKEN, engine);
    expect((await handleAdmin(d, 'GET', '/admin/drain', auth, empty)).body).toBeNull();
    const body = Buffer.from(JSON.stringify({ batchSize: 10, reason: 'upgrade' }));
    const r = await handleAdmin(d, 'POST', '/admin/drain', auth, body);
    expect(r.body).toMatchObject({ state: 'drained', closedConnections: 3 });
    expect(engine.drainRequests).toEqual([{ batchSize: 10, reason: 'upgrade' }]);
    expect((await handleAdmin(d, 'GET', '/admin/drain', auth, empty)).body).toMatchObject({ state: 'drained' });
  });

  it('404s unknown admin routes and 405s wrong methods', async () => {
    expect((await handleAdmin(admin(), 'GET', '/admin/nope', auth, empty)).status).toBe(404);
    expect((await handleAdmin(admin(), 'DELETE', '/admin/drain', auth, empty)).status).toBe(405);
    expect((await handleAdmin(admin(), 'POST', '/admin/status', auth, empty)).status).toBe(405);
  });
});

describe('parseDrainRequest', () => {
  it('accepts an empty body and names a bad field', () => {
    expect(parseDrainRequest(Buffer.alloc(0))).toEqual({});
    expect(() => parseDrainRequest(Buffer.from('{"batchSize":0}'))).toThrow(/batchSize/);
    expect(() => parseDrainRequest(Buffer.from('{"batch":1}'))).toThrow(/invalid|unrecognized/i);
    expect(() => parseDrainRequest(Buffer.from('{'))).toThrow(/not valid JSON/);
    expect(parseDrainRequest(Buffer.from('{"closeAfterMs":2000}'))).toEqual({ closeAfterMs: 2000 });
    expect(() => parseDrainRequest(Buffer.from('{"closeAfterMs":-1}'))).toThrow(/closeAfterMs/);
  });
});
