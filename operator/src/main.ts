// Process entry of the operator: `node operator/src/main.ts [flags]` (flags and env vars:
// process/flags.ts, docs/controller.md). Informers run on every replica; the reconcile workers
// run only on the replica holding the Lease. Losing the Lease stops the workers and exits 1
// (Kubernetes restarts the pod); SIGTERM stops the workers, releases the Lease and exits 0.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Manager } from './controllers/manager.ts';
import { AdminClient } from './dataplane/admin-client.ts';
import { KubeClient } from './kube/client.ts';
import { realClock } from './kube/clock.ts';
import { errorMessage } from './kube/errors.ts';
import { EventRecorder } from './kube/events.ts';
import { loadKubeConfig } from './kube/kubeconfig.ts';
import { LeaderElector } from './kube/leader.ts';
import { leaseClient } from './kube/lease-client.ts';
import { apiVersionOf, RESOURCE } from './kube/resources.ts';
import { createTransport } from './kube/transport.ts';
import { FlagError, type OperatorConfig, parseFlags, usage } from './process/flags.ts';
import { createLogger, type Logger } from './process/logger.ts';
import { createMetrics } from './process/metrics.ts';
import { startHealthServer, startMetricsServer } from './process/servers.ts';

const VERSION = '0.1.0';
/** Everything after SIGTERM must finish within this (the chart's grace period is 30 s). */
const SHUTDOWN_BUDGET_MS = 25_000;

function loadConfig(): OperatorConfig {
  try {
    return parseFlags(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof FlagError && err.message === 'help') {
      process.stdout.write(usage());
      process.exit(0);
    }
    process.stderr.write(`aitransport-operator: ${(err as Error).message}\n${usage()}`);
    process.exit(2);
  }
}

function installFatalHandlers(logger: Logger): void {
  const die = (what: string) => (err: unknown) => {
    logger.fatal({ error: errorMessage(err), stack: (err as Error)?.stack }, what);
    logger.flush();
    process.exit(1);
  };
  process.on('uncaughtException', die('uncaught exception'));
  process.on('unhandledRejection', die('unhandled promise rejection'));
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  installFatalHandlers(logger);
  const identity = `${config.podName || hostname()}_${randomUUID()}`;
  const metrics = createMetrics();
  const clock = realClock;

  const { kc, source } = loadKubeConfig();
  const transport = await createTransport(kc, { userAgent: `aitransport-operator/${VERSION}` });
  const client = new KubeClient({
    transport,
    clock,
    onRetry: (what, err, attempt, delayMs) => {
      metrics.apiRetries.inc({ verb: what.split(' ')[0] ?? '' });
      logger.debug({ call: what, attempt, delayMs, error: errorMessage(err) }, 'retrying a Kubernetes API call');
    },
  });
  const recorder = new EventRecorder({
    sink: {
      create: async (e) => {
        await client.create(e, { attempts: 2 });
      },
      patchSeries: async (ns, name, series) => {
        await client.mergePatch(RESOURCE.event, ns, name, { series }, { attempts: 2 });
      },
    },
    clock,
    controller: 'aitransport.io/operator',
    instance: identity,
    onError: (err, e) => logger.debug({ error: errorMessage(err), reason: e.reason }, 'could not record an Event'),
  });
  // The data planes' admin API (ops port 9601 at the pod IPs): drains, flushes, health, resets.
  const admin = new AdminClient({
    clock,
    onRetry: (what, err, attempt, delayMs) =>
      logger.debug({ call: what, attempt, delayMs, error: errorMessage(err) }, 'retrying an admin API call'),
  });
  const manager = new Manager({
    admin,
    client,
    clock,
    logger,
    metrics,
    recorder,
    operator: { namespace: config.podNamespace, podLabels: config.podLabels },
    watchNamespaces: config.watchNamespaces,
    concurrency: config.concurrency,
    resyncMs: config.resyncSeconds * 1000,
  });

  let leading = false;
  const metricsServer = await startMetricsServer(metrics.registry, config.metricsPort, config.bindAddress);
  const healthServer = await startHealthServer(
    { ready: () => manager.synced(), detail: () => `caches synced: ${manager.synced()}\nleader: ${leading}` },
    config.healthPort,
    config.bindAddress,
  );
  logger.info(
    {
      version: VERSION,
      identity,
      kubeconfig: source,
      watchNamespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all',
      metricsPort: metricsServer.port,
      healthPort: healthServer.port,
      leaderElect: config.leaderElect,
      lease: config.leaderElect ? `${config.leaderElectionNamespace}/${config.leaderElectionId}` : undefined,
    },
    'operator starting',
  );
  manager.start();

  const stop = new AbortController();
  let exitCode = 0;
  const elector = config.leaderElect
    ? new LeaderElector({
        identity,
        client: leaseClient(client, config.leaderElectionNamespace, config.leaderElectionId),
        clock,
        onError: (err) => logger.debug({ error: errorMessage(err) }, 'lease attempt failed'),
        onNewLeader: (id) => logger.info({ leader: id, self: id === identity }, 'leader observed'),
      })
    : undefined;

  const shutdown = async (why: string) => {
    if (!stop.signal.aborted) {
      logger.info({ why }, 'shutting down');
      stop.abort();
    }
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      logger.flush();
      process.exit(1);
    }
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting');
      logger.flush();
      process.exit(1);
    }, SHUTDOWN_BUDGET_MS).unref();
    void shutdown(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const lead = async (signal: AbortSignal) => {
    leading = true;
    metrics.leader.set(1);
    try {
      await manager.run(signal);
    } finally {
      leading = false;
      metrics.leader.set(0);
    }
  };

  if (!elector) {
    await lead(stop.signal);
  } else if (await elector.acquire(stop.signal)) {
    logger.info({ lease: `${config.leaderElectionNamespace}/${config.leaderElectionId}` }, 'became leader');
    recorder.normal(
      {
        apiVersion: apiVersionOf(RESOURCE.lease),
        kind: RESOURCE.lease.kind,
        name: config.leaderElectionId,
        namespace: config.leaderElectionNamespace,
      },
      'LeaderElection',
      'Acquire',
      `${identity} became leader`,
    );
    const work = new AbortController();
    const running = lead(AbortSignal.any([stop.signal, work.signal]));
    const outcome = await elector.hold(stop.signal);
    if (outcome === 'lost') {
      logger.error('lost the leader lease: stopping the workers and exiting');
      exitCode = 1;
      work.abort();
      await running;
    } else {
      await running;
      const released = await elector.release();
      logger.info({ released }, 'leader lease released');
    }
  }

  await manager.stop();
  admin.close();
  await Promise.race([recorder.flush(), clock.sleep(2_000)]);
  await Promise.all([metricsServer.close(), healthServer.close()]);
  logger.info({ exitCode }, 'operator stopped');
  logger.flush();
  process.exit(exitCode);
}

await main();
