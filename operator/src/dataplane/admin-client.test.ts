// The admin-API client against a local HTTP server standing in for a data plane: paths, bearer
// token, bodies; retries only for transient failures (5xx, connection errors, timeouts), never
// for 4xx; every call bounded by its deadline.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../kube/clock.ts';
import { AdminApiError, AdminClient, type AdminTarget } from './admin-client.ts';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: string;
}

let server: Server | undefined;
let client: AdminClient | undefined;

async function stub(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const target: AdminTarget = { host: '127.0.0.1', port: (server.address() as AddressInfo).port, token: 'tok-123' };
  client = new AdminClient({ clock: realClock, timeoutMs: 300, attempts: 3, baseDelayMs: 1, maxDelayMs: 5 });
  return { seen, target, client };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

afterEach(async () => {
  client?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server?.closeAllConnections();
  server = undefined;
});

describe('AdminClient', () => {
  it('calls each route with the bearer token and the JSON body', async () => {
    const { seen, target, client } = await stub((req, _body, res) => {
      if (req.url === '/admin/status') return json(res, 200, { nodeId: 'n', draining: false });
      if (req.url === '/admin/drain') return json(res, 200, { state: 'draining', remainingConnections: 3 });
      if (req.url === '/admin/flush') return json(res, 200, { deliveredRollups: 1, pendingWrites: 0 });
      if (req.url?.startsWith('/admin/channels')) return json(res, 200, { items: [], nextCursor: null });
      if (req.url === '/admin/history/reset') return json(res, 200, { result: 'reset' });
      json(res, 404, { error: 'no', code: 'not_found' });
    });
    expect(await client.status(target)).toMatchObject({ nodeId: 'n' });
    expect(await client.drain(target, { batchSize: 5, batchIntervalMs: 10, reason: 'rolling upgrade' })).toMatchObject({
      state: 'draining',
    });
    expect(await client.flush(target, 100)).toEqual({ deliveredRollups: 1, pendingWrites: 0 });
    await client.channels(target, { state: 'reset_required', appId: 'a b', limit: 1000, cursor: 'c1' });
    await client.reset(target, { appId: 'a', channel: 'c', reason: 'r', expectState: 'reset_required' });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /admin/status',
      'POST /admin/drain',
      'POST /admin/flush',
      'GET /admin/channels?state=reset_required&app_id=a+b&limit=1000&cursor=c1',
      'POST /admin/history/reset',
    ]);
    expect(seen.every((s) => s.auth === 'Bearer tok-123')).toBe(true);
    expect(JSON.parse(seen[1]?.body ?? '')).toEqual({ batchSize: 5, batchIntervalMs: 10, reason: 'rolling upgrade' });
    expect(JSON.parse(seen[2]?.body ?? '')).toEqual({ timeoutMs: 100 });
    expect(JSON.parse(seen[4]?.body ?? '')).toMatchObject({ expectState: 'reset_required' });
  });

  it('retries a 5xx and a dropped connection, then succeeds', async () => {
    let n = 0;
    const { seen, target, client } = await stub((_req, _body, res) => {
      n++;
      if (n === 1) return json(res, 503, { error: 'busy', code: 'service_unavailable' });
      if (n === 2) return res.socket?.destroy();
      json(res, 200, { ok: true });
    });
    expect(await client.status(target)).toEqual({ ok: true });
    expect(seen).toHaveLength(3);
  });

  it('never retries a 4xx, and reports the code of the data plane', async () => {
    const { seen, target, client } = await stub((_req, _body, res) =>
      json(res, 401, { error: 'missing or invalid bearer token', code: 'auth_failed', status: 401 }),
    );
    const err = await client.status(target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminApiError);
    expect(err).toMatchObject({ status: 401, code: 'auth_failed', transient: false });
    expect((err as Error).message).toContain('missing or invalid bearer token');
    expect(seen).toHaveLength(1);
  });

  it('bounds every attempt by its deadline and gives up after the attempts', async () => {
    const { seen, target, client } = await stub(() => {
      // never answers
    });
    const t0 = Date.now();
    const err = await client.status(target).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, code: 'ETIMEDOUT', transient: true });
    expect(seen).toHaveLength(3);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('reports a refused connection as transient, and a body that is not JSON', async () => {
    const c = new AdminClient({ clock: realClock, timeoutMs: 300, attempts: 2, baseDelayMs: 1, maxDelayMs: 2 });
    const refused = await c.status({ host: '127.0.0.1', port: 1, token: 't' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 0, code: 'ECONNREFUSED', transient: true });
    c.close();
    const { target, client } = await stub((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('not json');
    });
    expect(await client.status(target).catch((e: unknown) => e)).toMatchObject({ code: 'EBADJSON' });
  });
});
