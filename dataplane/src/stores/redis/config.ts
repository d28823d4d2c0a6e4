// From the validated `redis` config block (config/redis-schema.ts) to the connection options
// and the layout: reads the password (env var or file) and the TLS CA file. Problems are
// collected and thrown together as a ConfigError naming each option (STANDARDS F6); the
// password never appears in an error or a log.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../config/load.ts';
import type { RedisConfig } from '../../config/redis-schema.ts';
import type { RedisConnectionOptions, RedisNodeAddress } from './client.ts';
import { RedisKeys } from './keys.ts';

export interface ResolvedRedis {
  readonly connection: RedisConnectionOptions;
  readonly keys: RedisKeys;
  /** `streamIdleTtlSeconds` in ms, for RedisHistoryStore / RedisVersionStore `idleTtlMs`. */
  readonly streamIdleTtlMs: number;
}

export interface ResolveRedisDeps {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
}

function parseNode(s: string): RedisNodeAddress {
  const i = s.lastIndexOf(':');
  const host = s.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(s.slice(i + 1)) };
}

export function resolveRedisConfig(cfg: RedisConfig, deps: ResolveRedisDeps = {}): ResolvedRedis {
  const env = deps.env ?? process.env;
  const readFile = deps.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const issues: string[] = [];
  let password: string | undefined;
  if (cfg.passwordEnv !== undefined) {
    password = env[cfg.passwordEnv];
    if (password === undefined || password === '') {
      issues.push(`redis.passwordEnv: environment variable ${cfg.passwordEnv} is not set`);
    }
  } else if (cfg.passwordFile !== undefined) {
    try {
      password = readFile(cfg.passwordFile).trim();
      if (password === '') issues.push(`redis.passwordFile: ${cfg.passwordFile} is empty`);
    } catch (err) {
      issues.push(
        `redis.passwordFile: cannot read ${cfg.passwordFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  let ca: string | undefined;
  if (cfg.tls.enabled && cfg.tls.caFile !== undefined) {
    try {
      ca = readFile(cfg.tls.caFile);
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) issues.push(`redis.tls.caFile: ${cfg.tls.caFile} holds no PEM`);
    } catch (err) {
      issues.push(
        `redis.tls.caFile: cannot read ${cfg.tls.caFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  if (issues.length > 0) throw new ConfigError(issues, 'redis');
  const connection: RedisConnectionOptions = {
    host: cfg.host,
    port: cfg.port,
    db: cfg.db,
    clusterNodes: cfg.clusterNodes.map(parseNode),
    keyPrefix: cfg.keyPrefix,
    commandTimeoutMs: cfg.commandTimeoutMs,
    connectTimeoutMs: cfg.connectTimeoutMs,
    maxPendingCommands: cfg.maxPendingCommands,
    reconnect: { baseDelayMs: cfg.reconnect.baseDelayMs, maxDelayMs: cfg.reconnect.maxDelayMs },
    ...(cfg.username === undefined ? {} : { username: cfg.username }),
    ...(password === undefined ? {} : { password }),
    ...(cfg.tls.enabled
      ? {
          tls: {
            ...(ca === undefined ? {} : { ca }),
            ...(cfg.tls.serverName === undefined ? {} : { serverName: cfg.tls.serverName }),
          },
        }
      : {}),
  };
  const keys = new RedisKeys({
    prefix: cfg.keyPrefix,
    historyBuckets: cfg.historyBuckets,
    activeStreamBuckets: cfg.activeStreamBuckets,
  });
  return { connection, keys, streamIdleTtlMs: cfg.streamIdleTtlSeconds * 1000 };
}
