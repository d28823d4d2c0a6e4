// The transport and client against a real HTTP server on 127.0.0.1 (port 0): deadlines, error
// bodies, retries of transient answers only, server-side apply parameters, and watch streams.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { FIELD_MANAGER, KubeClient } from './client.ts';
import { realClock } from './clock.ts';
import { KubeApiError, KubeTimeoutError } from './errors.ts';
import { RESOURCE } from './resources.ts';
import { createTransport } from './transport.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let server: Server | undefined;

async function serve(handler: Handler) {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const transport = await createTransport(kc, { userAgent: 'test' });
  return {
    transport,
    client: new KubeClient({ transport, clock: realClock, baseDelayMs: 1, maxDelayMs: 5, timeoutMs: 300 }),
  };
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
});

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));

describe('transport + client', () => {
  it('sends the bearer token and server-side apply with one field manager and force', async () => {
    const seen: Array<{ url?: string; ct?: string; auth?: string; body: string }> = [];
    const { client } = await serve((req, res, body) => {
      seen.push({ url: req.url, ct: req.headers['content-type'], auth: req.headers.authorization, body });
      json(res, 200, JSON.parse(body));
    });
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'ns' }, data: { a: '1' } };
    expect(await client.apply(cm)).toEqual(cm);
    expect(seen[0]).toMatchObject({
      url: `/api/v1/namespaces/ns/configmaps/x?fieldManager=${FIELD_MANAGER}&force=true`,
      ct: 'application/apply-patch+yaml',
      auth: 'Bearer secret-token',
    });
    await client.applyStatus(RESOURCE.cluster, 'ns', 'demo', { phase: 'Running' });
    expect(seen[1]?.url).toBe(
      `/apis/aitransport.io/v1alpha1/namespaces/ns/aitransportclusters/demo/status?fieldManager=${FIELD_MANAGER}&force=true`,
    );
    expect(JSON.parse(seen[1]?.body ?? '{}')).toEqual({
      apiVersion: 'aitransport.io/v1alpha1',
      kind: 'AITransportCluster',
      metadata: { name: 'demo', namespace: 'ns' },
      status: { phase: 'Running' },
    });
  });

  it('turns an error answer into a KubeApiError with the Status reason; 404 on get is undefined', async () => {
    const { client } = await serve((req, res) => {
      if (req.method === 'GET')
        json(res, 404, { kind: 'Status', reason: 'NotFound', message: 'configmaps "x" not found' });
      else json(res, 422, { kind: 'Status', reason: 'Invalid', message: 'spec.replicas: Invalid value' });
    });
    expect(await client.get(RESOURCE.configMap, 'ns', 'x')).toBeUndefined();
    const err = await client
      .create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'ns' } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ status: 422, reason: 'Invalid' });
    expect(err.message).toContain('spec.replicas: Invalid value');
  });

  it('retries 503 and 429 (honouring Retry-After) but not 409', async () => {
    let calls = 0;
    const { client } = await serve((req, res) => {
      calls++;
      if (req.url?.startsWith('/api/v1/namespaces/ns/configmaps/busy')) {
        if (calls === 1) return json(res, 503, { reason: 'ServiceUnavailable' });
        if (calls === 2) return json(res, 429, { reason: 'TooManyRequests' }, { 'Retry-After': '0' });
        return json(res, 200, { metadata: { name: 'busy' } });
      }
      json(res, 409, { reason: 'Conflict', message: 'the object has been modified' });
    });
    expect(await client.get(RESOURCE.configMap, 'ns', 'busy')).toEqual({ metadata: { name: 'busy' } });
    expect(calls).toBe(3);
    calls = 0;
    const err = await client
      .replace({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns', resourceVersion: '1' } })
      .catch((e) => e);
    expect(err).toMatchObject({ status: 409 });
    expect(calls).toBe(1);
  });

  it('gives every call a deadline', async () => {
    const { client } = await serve(() => {
      /* never answers */
    });
    const err = await client.get(RESOURCE.configMap, 'ns', 'x', { attempts: 1, timeoutMs: 200 }).catch((e) => e);
    expect(err).toBeInstanceOf(KubeTimeoutError);
  });

  it('streams watch events line by line, across chunk boundaries', async () => {
    const { client } = await serve((req, res) => {
      expect(req.url).toContain('watch=true');
      expect(req.url).toContain('allowWatchBookmarks=true');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const a = JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '2' } } });
      res.write(`${a.slice(0, 10)}`);
      setTimeout(() => {
        res.write(`${a.slice(10)}\n{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"3"}}}\n`);
        res.end();
      }, 20);
    });
    const events: string[] = [];
    await client.watch(RESOURCE.configMap, { namespace: 'ns', resourceVersion: '1', timeoutSeconds: 60 }, (e) =>
      events.push(`${e.type}@${e.object.metadata?.resourceVersion}`),
    );
    expect(events).toEqual(['ADDED@2', 'BOOKMARK@3']);
  });

  it('rejects a watch the server refuses, with the status', async () => {
    const { client } = await serve((_req, res) => json(res, 403, { reason: 'Forbidden', message: 'cannot watch' }));
    const err = await client
      .watch(RESOURCE.configMap, { resourceVersion: '1', timeoutSeconds: 60 }, () => {})
      .catch((e) => e);
    expect(err).toMatchObject({ status: 403, reason: 'Forbidden' });
  });
});
