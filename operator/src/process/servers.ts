// The two plain-HTTP listeners: /metrics (prom-client) and /healthz + /readyz. Liveness is "the
// event loop answers"; readiness is "the caches hold their first list", so a replica that cannot
// reach the API server is taken out of Service endpoints but not restarted.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<Listener> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

export function startMetricsServer(registry: Registry, port: number, host: string): Promise<Listener> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(`${(err as Error).message}\n`),
    );
  });
  return listen(server, port, host);
}

export interface HealthState {
  ready(): boolean;
  /** Extra lines for /readyz (which caches are not synced, leader or not). */
  detail(): string;
}

export function startHealthServer(state: HealthState, port: number, host: string): Promise<Listener> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && (path === '/healthz' || path === '/livez')) {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
    } else if (req.method === 'GET' && path === '/readyz') {
      const ok = state.ready();
      res
        .writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' })
        .end(`${ok ? 'ok' : 'not ready'}\n${state.detail()}\n`);
    } else {
      res.writeHead(404).end('not found\n');
    }
  });
  return listen(server, port, host);
}
