// Process entry of the data plane: `node dataplane/src/main.ts --config <path>` (or
// $AIT_CONFIG). Fails fast on invalid config (every issue with its path, exit 1), starts
// the node, and on SIGTERM/SIGINT drains within the grace period and exits 0; a second
// signal exits at once (STANDARDS F6).
import { ConfigError, configPathFrom, loadConfigFile, type ResolvedConfig } from './config/load.ts';
import { createLogger, type Logger } from './logger.ts';
import { drainBudgetMs, type RunningNode, startNode } from './server/node.ts';

function fail(message: string): never {
  process.stderr.write(`aitransport: ${message}\n`);
  process.exit(1);
}

function loadConfig(): ResolvedConfig {
  const path = configPathFrom(process.argv.slice(2), process.env);
  if (!path) fail('no configuration given: pass --config <path> or set AIT_CONFIG');
  try {
    return loadConfigFile(path);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

function installFatalHandlers(logger: Logger): void {
  const die = (kind: string) => (err: unknown) => {
    logger.fatal({ err }, kind);
    logger.flush();
    process.exit(1);
  };
  process.on('uncaughtException', die('uncaught exception'));
  process.on('unhandledRejection', die('unhandled promise rejection'));
}

function installSignalHandlers(node: RunningNode, config: ResolvedConfig, logger: Logger): void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal: exiting now');
      logger.flush();
      process.exit(1);
    }
    shuttingDown = true;
    const graceMs = config.shutdown.gracePeriodSeconds * 1000;
    // Never outlive the grace period, whatever hangs (the kubelet would SIGKILL us anyway).
    setTimeout(
      () => {
        logger.error('shutdown did not finish within the grace period; exiting');
        logger.flush();
        process.exit(1);
      },
      Math.max(100, graceMs - 250),
    ).unref();
    logger.info({ signal, gracePeriodMs: graceMs }, 'shutting down');
    node.stop({ budgetMs: drainBudgetMs(config.shutdown.gracePeriodSeconds) }).then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

const config = loadConfig();
const logger = createLogger(config.logging);
installFatalHandlers(logger);
let node: RunningNode;
try {
  node = await startNode(config, { logger });
} catch (err) {
  logger.fatal({ err }, 'start-up failed');
  logger.flush();
  process.exit(1);
}
installSignalHandlers(node, config, logger);
