// Redis of an AITransportCluster (spec.redis): Managed (a StatefulSet the operator runs) or
// External (any Redis the user runs: standalone, managed cloud Redis or Redis Cluster).
import { z } from 'zod';
import { withCel } from './cel.ts';
import { QuantitySchema, ResourceRequirementsSchema } from './core.ts';
import { listSet, ObjectName, secretKeyRef } from './meta.ts';

export const DEFAULT_REDIS_REPOSITORY = 'docker.io/library/redis';

export const ManagedRedisSchema = z
  .strictObject({
    version: z
      .string()
      .regex(/^[0-9]+\.[0-9]+\.[0-9]+$/)
      .default('7.4.2')
      .describe('Redis version (image tag).'),
    image: z
      .strictObject({
        repository: z.string().min(1).max(255).default(DEFAULT_REDIS_REPOSITORY),
        pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      })
      .prefault({}),
    replicas: z
      .int()
      .min(1)
      .max(1)
      .default(1)
      .describe('Only 1 in v1alpha1 (no replication); use mode External for a highly available Redis.'),
    resources: ResourceRequirementsSchema.default({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    }),
    storage: z
      .strictObject({
        size: QuantitySchema.default('1Gi').describe('PersistentVolumeClaim size.'),
        storageClassName: z.string().max(253).optional().describe('Storage class; default the cluster default.'),
      })
      .prefault({}),
    persistence: z
      .boolean()
      .default(true)
      .describe(
        'AOF (appendfsync everysec) and RDB snapshots on a PersistentVolumeClaim. Without it a Redis restart loses durable history (channels become reset_required).',
      ),
  })
  .describe('A single Redis the operator runs (StatefulSet + Service); the password lives in `<name>-redis-auth`.');

export const ExternalRedisSchema = withCel(
  z.strictObject({
    host: z.string().min(1).max(253).optional().describe('Host name of a standalone or primary endpoint.'),
    port: z.int().min(1).max(65_535).default(6379),
    db: z.int().min(0).max(15).default(0).describe('Database number (standalone only).'),
    keyPrefix: z
      .string()
      // The data plane's own rule (dataplane/src/config/redis-schema.ts): refused here, not in a crash-looping pod.
      .regex(/^[A-Za-z0-9_.:-]{0,64}$/, 'keyPrefix: at most 64 characters of A-Z a-z 0-9 _ . : - (no braces)')
      .default('ait:')
      .describe('Prefix of every key, to share one Redis.'),
    tls: z
      .strictObject({
        enabled: z.boolean().default(false),
        caSecretRef: secretKeyRef('ca.crt', 'the CA bundle').optional(),
        serverName: z.string().max(253).optional().describe('SNI / certificate name; default the host.'),
      })
      .prefault({}),
    credentialsSecretRef: z
      .strictObject({
        name: ObjectName,
        usernameKey: z.string().min(1).optional().describe('Key of the ACL user name; omit for the default user.'),
        passwordKey: z.string().min(1).default('password'),
      })
      .optional()
      .describe('Secret with the Redis credentials (never in the CR: STANDARDS.md I4).'),
    cluster: z
      .strictObject({
        nodes: listSet(z.string().regex(/^[^\s:]+:[0-9]{1,5}$/), 32)
          .min(1)
          .describe('Seed nodes `host:port` of a Redis Cluster.'),
      })
      .optional(),
  }),
  [
    {
      rule: 'has(self.host) != has(self.cluster)',
      message: 'set exactly one of external.host or external.cluster',
      check: (e) => (e.host !== undefined) !== (e.cluster !== undefined),
    },
  ],
).describe('A Redis the user runs: standalone, managed cloud Redis or Redis Cluster.');

export const RedisSchema = withCel(
  z.strictObject({
    mode: z.enum(['Managed', 'External']).describe('Managed: the operator runs Redis. External: use redis.external.'),
    managed: ManagedRedisSchema.optional(),
    external: ExternalRedisSchema.optional(),
  }),
  [
    {
      rule: "self.mode == 'Managed' ? (has(self.managed) && !has(self.external)) : (has(self.external) && !has(self.managed))",
      message: 'set redis.managed when mode is Managed and redis.external when mode is External (only that one)',
      check: (r) =>
        r.mode === 'Managed'
          ? r.managed !== undefined && r.external === undefined
          : r.external !== undefined && r.managed === undefined,
    },
  ],
).describe(
  'Redis for pub/sub fan-out, history and state. Without it the data plane uses its embedded per-pod store (one replica only).',
);

export type ManagedRedis = z.output<typeof ManagedRedisSchema>;
export type ExternalRedis = z.output<typeof ExternalRedisSchema>;
