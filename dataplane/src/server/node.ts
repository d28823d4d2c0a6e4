// Composition of one data-plane node: metrics, revocation and idempotency stores, the socket
// engine, the public listener (WebSocket + signed REST + health) and the ops listener
// (metrics, probes, admin). main.ts is a thin wrapper around `startNode`; tests call it
// directly on port 0.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { OrphanJanitor } from '../ai/janitor.ts';
import { MemoryRevocationStore, type RevocationStore, revocationTtlMs, verifySignedRequest } from '../auth/index.ts';
import { ChannelSettingsResolver } from '../channels/settings.ts';
import type { ControlSignal } from '../cluster/envelope.ts';
import type { ResolvedConfig } from '../config/load.ts';
import { PolicySource } from '../config/policy-source.ts';
import { createLogger } from '../logger.ts';
import { createMetrics, type Metrics } from '../metrics/registry.ts';
import type { ChannelSignal } from '../pipeline/message.ts';
import type { AdminStatus } from './admin-types.ts';
import { type ClusterNode, startCluster } from './cluster-wiring.ts';
import { createEngine as createSocketEngine, type EngineDeps } from './engine.ts';
import type { SocketEngine } from './engine-api.ts';
import { createOpsServer } from './ops.ts';
import { condition, Readiness } from './ops-readiness.ts';
import { PipelineGauges } from './pipeline-gauges.ts';
import { createPublicServer } from './public-server.ts';
import { redisStores } from './redis-stores.ts';
import { createRestHandler } from './rest/handler.ts';
import { type IdempotencyStore, MemoryIdempotencyStore } from './rest/idempotency.ts';
import { RateLimiter } from './rest/rate-limit.ts';
import type { RestMetrics } from './rest/types.ts';
import { memoryStores, type StreamStores } from './streams.ts';
import type { AttachPoint } from './ws-context.ts';

export interface NodeOptions {
  logger?: Logger;
  metrics?: Metrics;
  now?: () => number;
  /** The stores of the publish pipeline; default: every store in memory (single node). */
  stores?: StreamStores;
  /** Where committed messages go (the horizontal transport in a cluster); default: local delivery. */
  broadcast?: EngineDeps['broadcast'];
  /** Reported by /admin/status; defaults to package.json's version. */
  version?: string;
  revocations?: RevocationStore;
  idempotency?: IdempotencyStore;
  /** Defaults to server/engine.ts `createEngine`; tests may pass a fake. */
  createEngine?: (deps: EngineDeps) => SocketEngine;
}

export interface ListenAddress {
  host: string;
  port: number;
  /** `http://host:port`, IPv6 hosts in brackets. */
  url: string;
}

export interface RunningNode {
  publicAddress: ListenAddress;
  opsAddress: ListenAddress;
  engine: SocketEngine;
  metrics: Metrics;
  readiness: Readiness;
  policies: PolicySource;
  janitor: OrphanJanitor;
  /**
   * Stops the node. Graceful by default: readiness goes false, the engine drains (clients get
   * 4200) for at most `budgetMs` (default: the shutdown grace period minus a margin), then
   * the listeners and the engine close. `drain: false` skips the drain. Idempotent.
   */
  stop(opts?: { drain?: boolean; budgetMs?: number }): Promise<void>;
}

/** Drain budget inside the grace period: keep a margin (20 %, 0.5–5 s) for closing and exit. */
export function drainBudgetMs(gracePeriodSeconds: number): number {
  const graceMs = gracePeriodSeconds * 1000;
  return Math.max(0, graceMs - Math.min(5000, Math.max(500, graceMs * 0.2)));
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function listen(server: Server, port: number, host: string): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const a = server.address() as AddressInfo;
      const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve({ host: a.address, port: a.port, url: `http://${h}:${a.port}` });
    });
  });
}

/**
 * Stops a listener from accepting and resolves once its connections are gone: idle ones at
 * once, in-flight requests after at most `waitMs`, and never later than twice that (upgraded
 * sockets are the engine's to close and are not waited for beyond it).
 */
function closeServer(server: Server, waitMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), waitMs);
    const giveUp = setTimeout(resolve, waitMs * 2);
    server.close(() => {
      clearTimeout(cut);
      clearTimeout(giveUp);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function restMetrics(m: Metrics): RestMetrics {
  const http = { limiter_type: 'http', request_context: 'rest' };
  return {
    request(appId, bytesIn, bytesOut) {
      m.httpCallsReceivedTotal.inc({ app_id: appId });
      if (bytesIn > 0) m.httpReceivedBytes.inc({ app_id: appId }, bytesIn);
      if (bytesOut > 0) m.httpTransmittedBytes.inc({ app_id: appId }, bytesOut);
    },
    rateLimitCheck(appId, triggered) {
      m.rateLimitChecksTotal.inc({ app_id: appId, ...http });
      if (triggered) m.rateLimitTriggeredTotal.inc({ app_id: appId, ...http });
    },
    idempotentPublish(appId, duplicate) {
      m.idempotencyPublishTotal.inc({ app_id: appId });
      if (duplicate) m.idempotencyDuplicatesTotal.inc({ app_id: appId });
    },
  };
}

export async function startNode(config: ResolvedConfig, opts: NodeOptions = {}): Promise<RunningNode> {
  const started = Date.now();
  const now = opts.now ?? Date.now;
  const logger = (opts.logger ?? createLogger(config.logging)).child({ nodeId: config.nodeId });
  const metrics = opts.metrics ?? createMetrics(config.metrics.prefix);
  // config.redis: every shared store on Redis (a cluster); otherwise all in memory (one node).
  const redis =
    opts.stores === undefined && config.redis !== undefined ? await redisStores(config, { logger, now }) : undefined;
  const revocations = opts.revocations ?? redis?.revocations ?? new MemoryRevocationStore();
  const idempotency = opts.idempotency ?? redis?.idempotency ?? new MemoryIdempotencyStore();
  const version = opts.version ?? packageVersion();
  const createEngine = opts.createEngine ?? createSocketEngine;
  const stores = opts.stores ?? redis?.stores ?? memoryStores(config, now);
  const settings = new ChannelSettingsResolver(config, []);
  // With Redis and the transport on, committed messages go through the cluster bus.
  const clustered = opts.broadcast === undefined && redis !== undefined && config.cluster.transport !== 'none';
  let cluster: ClusterNode | undefined;
  const broadcast = opts.broadcast ?? (clustered ? (s: ChannelSignal) => cluster?.bus.broadcast(s) : undefined);
  const engine = createEngine({
    config,
    metrics,
    logger,
    revocations,
    now,
    stores,
    settings,
    ...(broadcast && { broadcast }),
    ...(clustered && {
      attachPoint: (p: AttachPoint) => cluster?.bus.expect(p.appId, p.channel, p.kind, p.streamId, p.next),
    }),
  });
  const streams = engine.streams;
  if (clustered && redis) {
    try {
      cluster = await startCluster(config, { engine, connection: redis.connection, metrics, logger });
    } catch (err) {
      await engine.close();
      await stores.close();
      throw new Error('while starting the cluster transport', { cause: err });
    }
  }
  const policies = new PolicySource({
    file: config.channelPolicies.file,
    inline: config.channelPolicies.policies,
    intervalMs: config.channelPolicies.reloadIntervalMs,
    apply: (p) => {
      streams.settings.setPolicies(p);
      metrics.channelPolicies.set(p.length);
    },
    onReload: (result) => metrics.channelPolicyReloadsTotal.inc({ result }),
    logger,
    now,
  });
  try {
    await policies.start();
  } catch (err) {
    await cluster?.stop();
    await engine.close();
    await streams.stores.close();
    throw err;
  }
  const janitor = new OrphanJanitor({
    nodeId: config.nodeId,
    now,
    registry: streams.stores.activeStreams,
    claims: streams.stores.jobClaims,
    versions: streams.stores.versions,
    publisher: streams.publisher,
    orphanTtlMs: config.aiTransport.orphanTtlMs,
    intervalMs: config.aiTransport.janitorIntervalMs,
    storeTimeoutMs: config.history.writeTimeoutMs,
    metrics,
    logger,
  });
  if (config.aiTransport.enabled) janitor.start();
  const gauges = new PipelineGauges(
    streams,
    () => engine.rollupStats(),
    metrics,
    logger,
    config.history.writeTimeoutMs,
  );
  gauges.start();

  const httpMetrics = restMetrics(metrics);
  let stopping = false;
  const draining = () => stopping || engine.draining;
  const rest = createRestHandler({
    config,
    engine,
    verify: verifySignedRequest,
    revocations,
    revocationTtlMs,
    idempotency,
    rateLimiter: new RateLimiter(),
    metrics: httpMetrics,
    now,
    sleep: (ms) => sleep(ms),
    ...(cluster && { control: (c: ControlSignal) => cluster?.bus.control(c) ?? 0 }),
  });
  const appsById = new Map(config.apps.map((a) => [a.id, a]));
  const publicServer = createPublicServer({
    config,
    rest,
    logger,
    metrics: httpMetrics,
    health: {
      get draining() {
        return draining();
      },
      appState: (id) => {
        const app = appsById.get(id);
        return app === undefined ? undefined : app.enabled ? 'enabled' : 'disabled';
      },
    },
    onUpgrade: (req, socket, head) => engine.handleUpgrade(req, socket, head),
  });

  const readiness = new Readiness()
    .add(condition('config', () => true, 'configuration not loaded'))
    .add(condition('listeners', () => publicServer.listening && opsServer.listening, 'listeners are not up'))
    .add(condition('draining', () => !draining(), 'node is draining'))
    .add({
      name: 'stores',
      check: async () =>
        (await streams.stores.ping())
          ? { ok: true }
          : { ok: false, reason: `${streams.stores.kind} stores unreachable` },
    })
    .add(
      condition('transport', () => cluster === undefined || cluster.transport.subscribed, 'transport not subscribed'),
    );
  const status = async (): Promise<AdminStatus> => ({
    nodeId: config.nodeId,
    version,
    uptimeSeconds: Math.floor((Date.now() - started) / 1000),
    ready: (await readiness.evaluate()).ready,
    draining: draining(),
    connections: engine.connectionCount(),
    connectionsByApp: engine.connectionsByApp(),
    channels: engine.channelCount(),
    drain: engine.drainStatus(),
    history: { ...gauges.health(), reachable: await streams.stores.ping() },
    pipeline: gauges.pipeline(),
    policies: policies.status(),
  });
  const flush = async (timeoutMs: number) => {
    const deliveredRollups = engine.flushRollups();
    const pendingWrites = await streams.publisher.idle(timeoutMs);
    return { deliveredRollups, pendingWrites };
  };
  const opsServer = createOpsServer({
    ...(config.metrics.enabled && { metrics: metrics.registry }),
    readiness,
    logger,
    admin: {
      token: config.ops.resolvedAdminToken,
      engine,
      status,
      flush,
      policies,
      onDrain: (req) => logger.warn({ drain: req }, 'drain started by the admin API'),
    },
  });

  let publicAddress: ListenAddress;
  let opsAddress: ListenAddress;
  try {
    publicAddress = await listen(publicServer, config.server.port, config.server.host);
    opsAddress = await listen(opsServer, config.ops.port, config.ops.host);
  } catch (err) {
    await closeServer(publicServer, 0);
    janitor.stop();
    policies.stop();
    gauges.stop();
    await cluster?.stop();
    await engine.close();
    await streams.stores.close();
    throw new Error('while opening the listeners', { cause: err });
  }
  logger.info(
    { public: publicAddress.url, ops: opsAddress.url, apps: config.apps.length, version },
    'data plane listening',
  );

  let stopped: Promise<void> | undefined;
  const stop = (o: { drain?: boolean; budgetMs?: number } = {}): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      if (o.drain !== false) {
        const budget = o.budgetMs ?? drainBudgetMs(config.shutdown.gracePeriodSeconds);
        const first = engine.startDrain({ reason: 'server shutting down' });
        logger.info({ connections: first.remainingConnections, budgetMs: budget }, 'draining');
        await engine.waitDrained(now() + budget);
        const after = engine.drainStatus();
        logger.info({ remaining: after?.remainingConnections ?? 0, closed: after?.closedConnections ?? 0 }, 'drained');
      }
      // Stop accepting first; deliver what the rollup holds and let queued writes finish while
      // sockets are still open; then close the sockets and wait for in-flight REST requests.
      const publicClosed = closeServer(publicServer, 1000);
      janitor.stop();
      policies.stop();
      const flushed = await flush(1000);
      if (flushed.pendingWrites > 0) logger.warn(flushed, 'writes still queued at shutdown');
      await engine.close();
      await publicClosed;
      await closeServer(opsServer, 500);
      gauges.stop();
      await cluster?.stop();
      await streams.stores.close();
      logger.info('data plane stopped');
    })();
    return stopped;
  };

  return { publicAddress, opsAddress, engine, metrics, readiness, policies, janitor, stop };
}
