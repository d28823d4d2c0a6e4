// One data-plane node for tests: the socket engine on an HTTP server bound to 127.0.0.1:0.
// Upgrades go to `engine.handleUpgrade`; plain requests go to `requestHandler` when given
// (the REST routes attach here), else 404.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, pino } from 'pino';
import { MemoryRevocationStore, type RevocationStore } from '../../dataplane/src/auth/index.ts';
import type { ResolvedConfig } from '../../dataplane/src/config/load.ts';
import { createMetrics, type Metrics } from '../../dataplane/src/metrics/registry.ts';
import { createEngine, type EngineDeps } from '../../dataplane/src/server/engine.ts';
import type { SocketEngine } from '../../dataplane/src/server/engine-api.ts';
import { type Overrides, TEST_APP, testConfig } from './config.ts';

export interface TestNodeOptions {
  /** Handles non-upgrade HTTP requests (e.g. the REST router). */
  requestHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  revocations?: RevocationStore;
  logger?: Logger;
  /** Engine knobs for fast tests: sweepIntervalMs, tokenExpiryGraceMs, now, ... */
  engine?: Partial<Omit<EngineDeps, 'config' | 'metrics' | 'logger' | 'revocations'>>;
}

export interface TestNode {
  url: string;
  port: number;
  config: ResolvedConfig;
  engine: SocketEngine;
  metrics: Metrics;
  revocations: RevocationStore;
  server: Server;
  /** `ws://127.0.0.1:<port>/app/<key>?<query>`; query defaults to protocol=7. */
  wsUrl(query?: string | Record<string, string>, appKey?: string): string;
  /** Current value of one metric sample, e.g. metric('connected', { app_id: 'app-id' }). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startTestNode(
  configOverrides: Overrides & { app?: Overrides } = {},
  opts: TestNodeOptions = {},
): Promise<TestNode> {
  const config = testConfig(configOverrides);
  const metrics = createMetrics(config.metrics.prefix, { defaultMetrics: false });
  const revocations = opts.revocations ?? new MemoryRevocationStore();
  const logger = opts.logger ?? pino({ level: process.env.AIT_TEST_LOG_LEVEL ?? 'silent' });
  const engine = createEngine({ config, metrics, logger, revocations, sweepIntervalMs: 100, ...opts.engine });
  const server = createServer((req, res) => {
    if (opts.requestHandler) return opts.requestHandler(req, res);
    res.writeHead(404, { 'content-type': 'application/json', connection: 'close' });
    res.end('{"error":"not found","code":"not_found","status":404}');
  });
  server.on('upgrade', (req, socket, head) => engine.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    url,
    port,
    config,
    engine,
    metrics,
    revocations,
    server,
    wsUrl(query = 'protocol=7', appKey = TEST_APP.key) {
      const q = typeof query === 'string' ? query : new URLSearchParams(query).toString();
      return `ws://127.0.0.1:${port}/app/${appKey}${q ? `?${q}` : ''}`;
    },
    async metric(name, labels = {}) {
      const full = `${metrics.prefix}${name}`;
      const json = await metrics.registry.getSingleMetric(full)?.get();
      if (!json) throw new Error(`no metric ${full}`);
      const want = Object.entries(labels);
      return json.values
        .filter((v) => want.every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))
        .filter((v) => !('metricName' in v) || v.metricName === full || v.metricName === `${full}_count`)
        .reduce((sum, v) => sum + v.value, 0);
    },
    async close() {
      if (closed) return;
      closed = true;
      await engine.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
