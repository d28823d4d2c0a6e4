// The data-plane node configuration: one zod schema, the single source of truth for
// validation at boot and on reload, for the defaults, and for the generated reference
// in docs/reference/configuration.md. The operator imports this module (its "contract")
// to render the ConfigMap, so keep it free of I/O.
import { z } from 'zod';
import { ChannelPolicySchema, PolicyRetentionSchema } from './channel-policies.ts';
import { RedisConfigSchema } from './redis-schema.ts';

/** Channel-name prefixes this node treats as AI Transport channels (PROTOCOL.md 7.1). */
const prefixList = z.array(z.string().min(1).max(200)).max(64);

export const AppLimitsSchema = z
  .strictObject({
    maxConnections: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'Maximum concurrent WebSocket connections of this app on one node; 0 = unlimited. Over it: close 4004.',
      ),
    maxClientEventsPerSecond: z
      .number()
      .int()
      .min(0)
      .default(10)
      .describe('Client events (client-*) one connection may send per second; over it: error 4301. 0 = unlimited.'),
    maxEventPayloadKb: z
      .number()
      .int()
      .min(1)
      .max(10_240)
      .default(100)
      .describe(
        'Largest event `data` accepted by REST publish or a client event, in KiB (413 payload_too_large / 4301).',
      ),
    maxChannelNameLength: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(200)
      .describe('Longest channel name in bytes (4300 / 400).'),
    maxEventNameLength: z.number().int().min(1).max(1024).default(200).describe('Longest event name in bytes.'),
    maxEventChannelsAtOnce: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(100)
      .describe('Most channels one REST publish may name.'),
    maxEventBatchSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(10)
      .describe('Most items in one batch_events request.'),
    maxPresenceMembersPerChannel: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe('Most distinct users in one presence channel; a subscribe over it gets 4300.'),
    maxPresenceMemberSizeKb: z.number().int().min(1).default(2).describe('Largest presence `channel_data` in KiB.'),
    httpRequestsPerSecond: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'Signed REST requests per second per app on one node; over it: 429 rate_limited with Retry-After. 0 = unlimited.',
      ),
  })
  .describe('Per-app limits (STANDARDS.md I2).');

export const AppSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'app id: 1-64 characters of A-Z a-z 0-9 _ . -')
      .describe('App id, used in REST paths (/apps/{id}/...) and as the tenant scope of every key and metric.'),
    key: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'app key: 1-128 characters of A-Z a-z 0-9 _ . -')
      .describe('Public app key, used in /app/{key} and auth signatures.'),
    secret: z
      .string()
      .min(1)
      .optional()
      .describe('App secret in plain text. For local development only; use secretEnv or secretFile in production.'),
    secretEnv: z.string().min(1).optional().describe('Name of an environment variable holding the app secret.'),
    secretFile: z
      .string()
      .min(1)
      .optional()
      .describe('Path of a file holding the app secret (a mounted Secret); re-read on reload for rotation.'),
    enabled: z.boolean().default(true).describe('A disabled app refuses connections (4003) and REST calls (403).'),
    enableClientMessages: z
      .boolean()
      .default(false)
      .describe('Allow client-* events on private and presence channels.'),
    enableUserAuthentication: z
      .boolean()
      .default(false)
      .describe(
        'Require pusher:signin (or a private/presence subscription) within userAuthenticationTimeoutSeconds; otherwise close 4009.',
      ),
    userAuthenticationTimeoutSeconds: z.number().int().min(1).default(3600),
    allowedOrigins: z
      .array(z.string().min(1))
      .default([])
      .describe('Origins allowed to open WebSockets (exact, or a *.example.com suffix pattern); empty = any origin.'),
    limits: AppLimitsSchema.default(AppLimitsSchema.parse({})),
  })
  .superRefine((app, ctx) => {
    const given = (['secret', 'secretEnv', 'secretFile'] as const).filter((k) => app[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: given.length === 0 ? ['secret'] : [given[1] ?? 'secret'],
        message:
          given.length === 0
            ? 'one of secret, secretEnv or secretFile is required'
            : `${given.join(' and ')} are exclusive: give only one`,
      });
    }
  });

export const WebSocketSchema = z.strictObject({
  maxPayloadKb: z
    .number()
    .int()
    .min(1)
    .max(16_384)
    .default(64)
    .describe('Largest inbound WebSocket frame in KiB; a larger frame closes the socket (1009).'),
  activityTimeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(120)
    .describe('Advertised in connection_established; the server pings a protocol-7 socket idle this long.'),
  pongTimeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(600)
    .default(30)
    .describe('After a ping, close 4201 when no pong (or any frame) arrives within this time.'),
  pingIntervalSeconds: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(30)
    .describe('V2 native ping interval floor; the effective interval is max(this, activityTimeoutSeconds/2).'),
  sendBufferMaxBytes: z
    .number()
    .int()
    .min(16 * 1024)
    .default(4 * 1024 * 1024)
    .describe(
      'Slow-consumer ceiling: bytes queued to one socket (ours + the kernel-side backlog ws reports); over it: close 4100.',
    ),
  maxConnections: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Maximum WebSocket connections on this node across apps; 0 = unlimited. Over it: error 4100 and close.'),
});

export const ServerSchema = z.strictObject({
  host: z.string().min(1).default('0.0.0.0').describe('Address of the public listener (WebSocket + signed REST).'),
  port: z.number().int().min(0).max(65_535).default(6001).describe('Port of the public listener; 0 picks a free port.'),
  maxBodyKb: z
    .number()
    .int()
    .min(1)
    .default(1024)
    .describe('Largest REST request body in KiB; larger bodies get 413 before they are read fully.'),
  requestTimeoutMs: z.number().int().min(100).default(10_000).describe('Time limit for one REST request.'),
  trustProxyHops: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('How many X-Forwarded-For hops to trust when logging client addresses.'),
});

export const OpsSchema = z.strictObject({
  host: z
    .string()
    .min(1)
    .default('0.0.0.0')
    .describe('Address of the ops listener (/metrics, /livez, /readyz, /admin).'),
  port: z.number().int().min(0).max(65_535).default(9601).describe('Port of the ops listener; 0 picks a free port.'),
  adminToken: z.string().min(16).optional().describe('Bearer token of the admin API in plain text (development only).'),
  adminTokenEnv: z.string().min(1).optional().describe('Environment variable holding the admin bearer token.'),
  adminTokenFile: z.string().min(1).optional().describe('File holding the admin bearer token (a mounted Secret).'),
});

export const MetricsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  prefix: z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)
    .default('ait')
    .describe('Metric name prefix: `ait` gives ait_connected; set `sockudo` to keep Sockudo dashboards.'),
});

export const LoggingSchema = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  format: z.enum(['json', 'pretty']).default('json'),
});

export const ShutdownSchema = z.strictObject({
  gracePeriodSeconds: z
    .number()
    .int()
    .min(1)
    .default(30)
    .describe('SIGTERM budget: drain, flush, close; the process exits before this elapses.'),
  drainBatchSize: z
    .number()
    .int()
    .min(1)
    .default(500)
    .describe('Connections closed with 4200 per drain batch, so clients reconnect elsewhere in waves.'),
  drainBatchIntervalMs: z.number().int().min(0).default(1000).describe('Pause between drain batches.'),
});

export const AiTransportSchema = z.strictObject({
  enabled: z
    .boolean()
    .default(false)
    .describe('Turn on AI Transport conventions (extras.ai validation, run lifecycle).'),
  channelPrefixes: prefixList.default([]).describe('Channel-name prefixes treated as AI channels (plain starts-with).'),
  orphanTtlMs: z
    .number()
    .int()
    .min(100)
    .default(60_000)
    .describe('A streaming message with no new version for this long is cancelled by the orphan janitor (ms).'),
  janitorIntervalMs: z
    .number()
    .int()
    .min(100)
    .default(1000)
    .describe('How often the orphan janitor scans the active-stream registry (ms).'),
  maxAccumulatedMessageBytes: z
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024)
    .describe('Largest aggregate of one AI message (bytes); over it: 413 payload_too_large (ai_code 40009).'),
  maxAppendsPerMessage: z.number().int().min(1).default(4096).describe('Most appends one AI message may take.'),
  maxOpenStreamingMessagesPerChannel: z
    .number()
    .int()
    .min(1)
    .default(1024)
    .describe('Most messages of one AI channel that may be `streaming` at once.'),
  maxTransportValueBytes: z
    .number()
    .int()
    .min(256)
    .default(256)
    .describe('Ceiling of one extras.ai.transport value (bytes); can be raised, never lowered.'),
});

export const HistorySchema = z.strictObject({
  enabled: z
    .boolean()
    .default(false)
    .describe('Durable history for channels no channel policy matches (AI channels: see aiChannels).'),
  aiChannels: z
    .boolean()
    .default(true)
    .describe('Durable history (and so versioned messages) for AI channels no channel policy matches.'),
  versionedMessages: z
    .boolean()
    .default(true)
    .describe('Publishes on history channels become versioned messages (create, then append/update/delete).'),
  retention: PolicyRetentionSchema.prefault({}).describe(
    'Default retention of channels no policy matches; see channel policies.',
  ),
  maxPageSize: z.number().int().min(1).max(1000).default(100).describe('Largest history page (REST and WebSocket).'),
  writeTimeoutMs: z
    .number()
    .int()
    .min(10)
    .default(2000)
    .describe('A durable write that takes longer fails (retryable 503); the channel reports degraded.'),
  maxPendingPerChannel: z
    .number()
    .int()
    .min(1)
    .default(10_000)
    .describe('Publishes queued behind one channel’s ordering gate; past it: 503 backpressure.'),
});

export const RecoverySchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Connection recovery (sockudo:resume) for history channels.'),
  bufferTtlSeconds: z
    .number()
    .int()
    .min(1)
    .default(120)
    .describe('Lifetime of frames in the per-node hot replay buffer.'),
  maxBufferSize: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(100)
    .describe('Frames kept per channel in the hot buffer; also the most one recovery replays.'),
});

export const RollupSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Coalesce appends of streaming messages before fanout.'),
  defaultWindowMs: z
    .union([z.literal(0), z.literal(20), z.literal(40), z.literal(100), z.literal(500)])
    .default(40)
    .describe('Window W (ms) for channels no policy matches and sockets that ask for none.'),
  wheelTickMs: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(1)
    .describe(
      'Least time between two wake-ups of the deadline worker (ms); it sleeps until the next deadline, so this bounds the wake-up rate, not the lateness.',
    ),
  maxHeldBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .default(64 * 1024 * 1024)
    .describe('Ceiling of held append bytes on the node; past it held appends are delivered early.'),
  maxItemsPerTick: z.number().int().min(1).default(4096).describe('Deadline entries one tick may process.'),
});

export const ClusterSchema = z.strictObject({
  transport: z
    .enum(['auto', 'none', 'redis'])
    .default('auto')
    .describe(
      'Horizontal transport between nodes: `redis` (pub/sub on the configured Redis), `none` (one node), `auto` = redis when redis is configured.',
    ),
  gapTimeoutMs: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(100)
    .describe('How long a node waits for a missing serial before fetching it from the store.'),
  subscriberPingIntervalMs: z
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(2000)
    .describe(
      'How often the pub/sub connection is PINGed (standalone Redis): two unanswered in a row and it is reconnected, so a silently dead connection (a partition, a blackholed route) is not trusted for the hours TCP keepalive takes.',
    ),
  maxPendingPerChannel: z
    .number()
    .int()
    .min(1)
    .default(1000)
    .describe(
      'Messages a node holds per channel while waiting for an earlier serial; past it the repair runs at once.',
    ),
  shards: z
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(16)
    .describe('Sharded pub/sub channels on a Redis Cluster (fixed for the cluster’s lifetime; every node the same).'),
  maxInFlight: z
    .number()
    .int()
    .min(1)
    .default(10_000)
    .describe(
      'Transport publishes in flight at once per node; past it messages are dropped and repaired by receivers.',
    ),
});

export const ChannelPoliciesSchema = z
  .strictObject({
    file: z
      .string()
      .min(1)
      .optional()
      .describe('A channel-policies.json document (the operator mounts it from the ConfigMap); hot-reloaded.'),
    reloadIntervalMs: z
      .number()
      .int()
      .min(100)
      .default(2000)
      .describe('How often the policy file is checked for changes.'),
    policies: z
      .array(ChannelPolicySchema)
      .default([])
      .describe('Inline policies, used when no file is given (development, tests).'),
  })
  .refine((c) => c.file === undefined || c.policies.length === 0, {
    message: 'channelPolicies.file and channelPolicies.policies are exclusive: give only one',
    path: ['policies'],
  });

export const NodeConfigSchema = z
  .strictObject({
    nodeId: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional()
      .describe('Node identity in the cluster and in serials; defaults to the pod/host name.'),
    server: ServerSchema.default(ServerSchema.parse({})),
    ops: OpsSchema.default(OpsSchema.parse({})),
    websocket: WebSocketSchema.default(WebSocketSchema.parse({})),
    metrics: MetricsSchema.default(MetricsSchema.parse({})),
    logging: LoggingSchema.default(LoggingSchema.parse({})),
    shutdown: ShutdownSchema.default(ShutdownSchema.parse({})),
    aiTransport: AiTransportSchema.default(AiTransportSchema.parse({})),
    history: HistorySchema.prefault({}),
    recovery: RecoverySchema.prefault({}),
    rollup: RollupSchema.prefault({}),
    channelPolicies: ChannelPoliciesSchema.prefault({}),
    cluster: ClusterSchema.prefault({}),
    redis: RedisConfigSchema.optional().describe(
      'Shared stores on Redis (history, versions, serials, claims, revocations, idempotency): needed for more than one node. Absent: every store in memory (one node). Also from AIT_REDIS_* (docs/redis.md).',
    ),
    apps: z
      .array(AppSchema)
      .min(1, 'at least one app is required')
      .superRefine((apps, ctx) => {
        for (const field of ['id', 'key'] as const) {
          const seen = new Map<string, number>();
          apps.forEach((a, i) => {
            const prev = seen.get(a[field]);
            if (prev !== undefined) {
              ctx.addIssue({
                code: 'custom',
                path: [i, field],
                message: `duplicate app ${field} (also apps[${prev}])`,
              });
            }
            seen.set(a[field], i);
          });
        }
      }),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.cluster.transport === 'redis' && cfg.redis === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['cluster', 'transport'],
        message: 'cluster.transport redis needs a redis block (or AIT_REDIS_HOST / AIT_REDIS_CLUSTER_NODES)',
      });
    }
  });

export type NodeConfigInput = z.input<typeof NodeConfigSchema>;
export type NodeConfig = z.output<typeof NodeConfigSchema>;
export type AppConfig = z.output<typeof AppSchema>;
export type AppLimits = z.output<typeof AppLimitsSchema>;
