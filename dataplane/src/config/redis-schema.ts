// The `redis` block of the node configuration: where the shared stores live and how the client
// behaves when Redis is slow or gone (docs/redis.md). Pure: no I/O. The password is never in
// the config itself, only where to read it from (an env var or a mounted file), so a rendered
// ConfigMap or a logged config never holds it (STANDARDS I4).
//
// `redisConfigFromEnv` maps the `AIT_REDIS_*` variables the operator renders for a pod
// (operator/src/render/redis.ts) to a raw block for this schema.
import { z } from 'zod';

const HOST_PORT_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

const hostPort = z
  .string()
  .regex(HOST_PORT_RE, 'expected host:port')
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65_535;
  }, 'port must be in 1..65535');

export const RedisTlsSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Connect with TLS. Default false.'),
    caFile: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file of the CA that signs the server certificate (a mounted Secret); default: system roots.'),
    serverName: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe('Name to verify in the server certificate (SNI) when it differs from the host.'),
  })
  .superRefine((tls, ctx) => {
    for (const k of ['caFile', 'serverName'] as const) {
      if (tls[k] !== undefined && !tls.enabled) {
        ctx.addIssue({ code: 'custom', path: [k], message: `tls.${k} needs tls.enabled: true` });
      }
    }
  })
  .describe('TLS to Redis.');

export const RedisReconnectSchema = z
  .strictObject({
    baseDelayMs: z
      .number()
      .int()
      .min(1)
      .max(60_000)
      .default(100)
      .describe('First reconnect backoff ceiling in ms; doubles per attempt (full jitter). Default 100.'),
    maxDelayMs: z
      .number()
      .int()
      .min(1)
      .max(300_000)
      .default(5000)
      .describe('Largest reconnect backoff ceiling in ms; reconnects never stop. Default 5000.'),
  })
  .refine((r) => r.baseDelayMs <= r.maxDelayMs, {
    path: ['baseDelayMs'],
    message: 'reconnect.baseDelayMs must not exceed reconnect.maxDelayMs',
  })
  .describe('Reconnect backoff.');

export const RedisConfigSchema = z
  .strictObject({
    host: z.string().min(1).max(253).default('127.0.0.1').describe('Standalone server host. Default 127.0.0.1.'),
    port: z.number().int().min(1).max(65_535).default(6379).describe('Standalone server port. Default 6379.'),
    db: z.number().int().min(0).max(15).default(0).describe('Database index (standalone only; Cluster has only 0).'),
    clusterNodes: z
      .array(hostPort)
      .max(64)
      .default([])
      .describe('Redis Cluster seed nodes as host:port; non-empty selects Cluster mode. Default [] (standalone).'),
    username: z.string().min(1).max(256).optional().describe('ACL user name (Redis 6+). Default: none (`default`).'),
    passwordEnv: z
      .string()
      .min(1)
      .optional()
      .describe('Environment variable holding the password. Exclusive with passwordFile. Default: no password.'),
    passwordFile: z
      .string()
      .min(1)
      .optional()
      .describe('File holding the password (a mounted Secret). Exclusive with passwordEnv.'),
    tls: RedisTlsSchema.default(RedisTlsSchema.parse({})).describe('TLS to Redis. Default: off.'),
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{0,64}$/, 'keyPrefix: at most 64 characters of A-Z a-z 0-9 _ . : - (no braces)')
      .default('ait:')
      .describe('Prefix of every key, to share one Redis between installations. Default "ait:".'),
    commandTimeoutMs: z
      .number()
      .int()
      .min(10)
      .max(60_000)
      .default(1000)
      .describe('Deadline of one Redis command in ms; past it the call fails as retryable. Default 1000.'),
    connectTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(120_000)
      .default(5000)
      .describe('Deadline of one connection attempt in ms. Default 5000.'),
    maxPendingCommands: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(10_000)
      .describe('Commands in flight at once per node; more fail fast as retryable. Default 10000.'),
    reconnect: RedisReconnectSchema.default(RedisReconnectSchema.parse({})).describe(
      'Reconnect backoff (exponential, full jitter, never gives up). Default 100 ms doubling to 5000 ms.',
    ),
    historyBuckets: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(16)
      .describe(
        'Buckets (hash slots) an app’s history channels spread over; fixed for the data’s lifetime (a layout marker refuses a change). Default 16.',
      ),
    activeStreamBuckets: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(16)
      .describe('Buckets of the cluster-wide active-stream index; fixed for the data’s lifetime. Default 16.'),
    streamIdleTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(366 * 86_400)
      .default(7 * 86_400)
      .describe(
        'A channel’s history and version records are dropped after this long without any call (or its age retention, if longer). Default 604800 (7 days).',
      ),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.passwordEnv !== undefined && cfg.passwordFile !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'passwordEnv and passwordFile are exclusive' });
    }
    if (cfg.clusterNodes.length > 0 && cfg.db !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['db'],
        message: 'db must be 0 with clusterNodes (Cluster has one database)',
      });
    }
  })
  .describe('Redis for the shared stores (history, versions, claims, revocations, idempotency).');

export type RedisConfig = z.infer<typeof RedisConfigSchema>;

/** The env var the operator fills from the credentials Secret (secretKeyRef). */
export const REDIS_PASSWORD_ENV = 'AIT_REDIS_PASSWORD';

/**
 * The raw `redis` block the `AIT_REDIS_*` variables describe, or undefined when neither
 * AIT_REDIS_HOST nor AIT_REDIS_CLUSTER_NODES is set. Values are passed through unconverted when
 * they do not parse (a port of "abc", AIT_REDIS_TLS=yes), so the schema reports them against
 * their option path. The password is referenced by variable name, never copied. Pure.
 *
 *   AIT_REDIS_HOST, AIT_REDIS_PORT, AIT_REDIS_DB → host, port, db
 *   AIT_REDIS_CLUSTER_NODES="h1:p1,h2:p2"        → clusterNodes
 *   AIT_REDIS_KEY_PREFIX                          → keyPrefix
 *   AIT_REDIS_USERNAME                            → username
 *   AIT_REDIS_PASSWORD (set, non-empty)           → passwordEnv: "AIT_REDIS_PASSWORD"
 *   AIT_REDIS_TLS=true|false                      → tls.enabled
 *   AIT_REDIS_TLS_CA_FILE, AIT_REDIS_TLS_SERVER_NAME → tls.caFile, tls.serverName
 */
export function redisConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, unknown> | undefined {
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const host = get('AIT_REDIS_HOST');
  const nodes = get('AIT_REDIS_CLUSTER_NODES');
  if (host === undefined && nodes === undefined) return undefined;
  const int = (v: string): number | string => (/^\d+$/.test(v) ? Number(v) : v);
  const out: Record<string, unknown> = {};
  if (nodes !== undefined) {
    out['clusterNodes'] = nodes
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  } else if (host !== undefined) {
    out['host'] = host;
  }
  const port = get('AIT_REDIS_PORT');
  if (port !== undefined && nodes === undefined) out['port'] = int(port);
  const db = get('AIT_REDIS_DB');
  if (db !== undefined) out['db'] = int(db);
  // An empty prefix is a legitimate choice, so only an unset variable means "default".
  const prefix = env['AIT_REDIS_KEY_PREFIX'];
  if (prefix !== undefined) out['keyPrefix'] = prefix;
  const username = get('AIT_REDIS_USERNAME');
  if (username !== undefined) out['username'] = username;
  if (get(REDIS_PASSWORD_ENV) !== undefined) out['passwordEnv'] = REDIS_PASSWORD_ENV;
  const tlsFlag = get('AIT_REDIS_TLS');
  const caFile = get('AIT_REDIS_TLS_CA_FILE');
  const serverName = get('AIT_REDIS_TLS_SERVER_NAME');
  if (tlsFlag !== undefined || caFile !== undefined || serverName !== undefined) {
    const tls: Record<string, unknown> = {};
    if (tlsFlag !== undefined) tls['enabled'] = tlsFlag === 'true' ? true : tlsFlag === 'false' ? false : tlsFlag;
    if (caFile !== undefined) tls['caFile'] = caFile;
    if (serverName !== undefined) tls['serverName'] = serverName;
    out['tls'] = tls;
  }
  return out;
}
