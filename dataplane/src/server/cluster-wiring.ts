// A node in a cluster: the Redis pub/sub transport and the cluster bus (ordering, gap repair,
// aggregate completion) between the publisher and this node's delivery (docs/cluster.md).
import type { Logger } from 'pino';
import { ClusterBus } from '../cluster/bus.ts';
import { RedisTransport, TRANSPORT_DRIVER } from '../cluster/redis-transport.ts';
import type { ResolvedConfig } from '../config/load.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { RedisConnection } from '../stores/redis/index.ts';
import type { SocketEngine } from './engine-api.ts';

export interface ClusterNode {
  readonly bus: ClusterBus;
  readonly transport: RedisTransport;
  stop(): Promise<void>;
}

export async function startCluster(
  config: ResolvedConfig,
  deps: { engine: SocketEngine; connection: RedisConnection; metrics: Metrics; logger: Logger },
): Promise<ClusterNode> {
  const { engine, metrics, logger } = deps;
  const labels = { driver: TRANSPORT_DRIVER };
  let bus: ClusterBus | undefined;
  let inFlight = 0;
  const depth = () => metrics.horizontalTransportQueueDepth.set(labels, inFlight + (bus?.held ?? 0));
  const transport = new RedisTransport({
    connection: deps.connection,
    logger,
    shards: config.cluster.shards,
    maxInFlight: config.cluster.maxInFlight,
    pingIntervalMs: config.cluster.subscriberPingIntervalMs,
    metrics: {
      queueDepth: (n) => {
        inFlight = n;
        depth();
      },
      dropped: (n) => metrics.horizontalTransportMessagesDroppedTotal.inc(labels, n),
      reconnected: () => metrics.horizontalTransportReconnectionsTotal.inc(labels),
    },
    onMessage: (text) => bus?.receive(text),
    onResubscribed: () => void bus?.catchUp(),
  });
  const { stores } = engine.streams;
  bus = new ClusterBus({
    nodeId: config.nodeId,
    transport,
    history: stores.history,
    versions: stores.versions,
    deliver: (s) => engine.deliver(s),
    applyControl: (c) =>
      c.kind === 'revoke'
        ? engine.applyRevocation(c.appId, { ...(c.jti && { jti: c.jti }), ...(c.clientId && { clientId: c.clientId }) })
        : engine.terminateUserConnections(c.appId, c.userId, c.closeCode),
    needsAggregate: (appId, channel) => engine.hasFullModeSubscribers(appId, channel),
    metrics,
    logger,
    storeTimeoutMs: config.history.writeTimeoutMs,
    gapTimeoutMs: config.cluster.gapTimeoutMs,
    maxPendingPerChannel: config.cluster.maxPendingPerChannel,
  });
  const gauge = setInterval(depth, 1000);
  gauge.unref();
  await transport.start();
  logger.info({ mode: deps.connection.mode, shards: config.cluster.shards }, 'cluster transport subscribed');
  const b = bus;
  return {
    bus: b,
    transport,
    async stop() {
      clearInterval(gauge);
      b.stop();
      await transport.close();
    },
  };
}
