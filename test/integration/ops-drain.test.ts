// Drain through the admin API with real WebSockets: every socket is closed with 4200 (so
// clients reconnect elsewhere), /readyz turns 503 and new upgrades are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningNode, startNode } from '../../dataplane/src/server/node.ts';
import { ADMIN_TOKEN, APP, http, silentLogger, testConfig } from './rest-helpers.ts';

let node: RunningNode;

beforeAll(async () => {
  node = await startNode(testConfig(), { logger: silentLogger() });
});

afterAll(async () => {
  await node?.stop({ drain: false });
});

function open(): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${node.publicAddress.port}/app/${APP.key}?protocol=7`);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('message', () => resolve({ ws, closed }));
    ws.once('error', reject);
  });
}

describe('POST /admin/drain', () => {
  it('closes every socket with 4200, flips /readyz and refuses new upgrades', async () => {
    const sockets = await Promise.all([open(), open(), open()]);
    expect(node.engine.connectionCount(APP.id)).toBe(3);
    const ops = node.opsAddress.port;
    const r = await http({
      port: ops,
      method: 'POST',
      path: '/admin/drain',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ batchSize: 2, batchIntervalMs: 10, reason: 'test drain' }),
    });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ state: expect.stringMatching(/draining|drained/) });
    const codes = await Promise.all(sockets.map((s) => s.closed));
    expect(codes).toEqual([4200, 4200, 4200]);

    const ready = await http({ port: ops, path: '/readyz' });
    expect(ready.status).toBe(503);
    const status = await http({ port: ops, path: '/admin/drain', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(status.json()).toMatchObject({ state: 'drained', remainingConnections: 0, closedConnections: 3 });
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${node.publicAddress.port}/app/${APP.key}?protocol=7`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(503);
  });
});
