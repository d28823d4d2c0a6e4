// AITransportCluster (short name aitc): one data-plane StatefulSet and its companions.
// This zod schema is the single source of truth: the TypeScript types, the defaults, the CRD's
// structural OpenAPI schema and CEL rules (scripts/generate/crds.ts → crds/), and docs/crds.md.
// Defaults live here (hence in the CRD), never in the operator, so GitOps diffs stay clean.
import { z } from 'zod';
import {
  AiTransportSchema,
  AppLimitsSchema,
  AppSchema,
  LoggingSchema,
  MetricsSchema,
  ServerSchema,
  ShutdownSchema,
  WebSocketSchema,
} from '../../../../dataplane/src/config/schema.ts';
import { type CelRule, withCel } from './cel.ts';
import {
  AffinitySchema,
  ContainerSecurityContextSchema,
  EnvFromSourceSchema,
  EnvListSchema,
  ImagePullSecretsSchema,
  IntOrPercentSchema,
  PodSecurityContextSchema,
  ProbeTimingSchema,
  ResourceRequirementsSchema,
  TolerationSchema,
  TopologySpreadConstraintSchema,
  VolumeListSchema,
  VolumeMountListSchema,
} from './core.ts';
import {
  API_VERSION,
  ConditionsSchema,
  listAtomic,
  listMap,
  listSet,
  ObjectMetaSchema,
  StringMap,
  secretKeyRef,
  TimeSchema,
} from './meta.ts';
import { MonitoringSchema, NetworkPolicySpecSchema } from './monitoring.ts';
import { RedisSchema } from './redis.ts';

export const CLUSTER_KIND = 'AITransportCluster';
export const DEFAULT_IMAGE_REPOSITORY = 'ghcr.io/aitransport/dataplane';
/** Longest cluster name: `<name>-redis-<10-char revision hash>` must stay a 63-character label. */
export const MAX_CLUSTER_NAME_LENGTH = 45;

const Semver = z
  .string()
  .max(64)
  .regex(/^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$/);

// ---------------------------------------------------------------- image

export const ImageSchema = withCel(
  z.strictObject({
    repository: z
      .string()
      .min(1)
      .max(255)
      .default(DEFAULT_IMAGE_REPOSITORY)
      .describe('Image repository of the data plane.'),
    tag: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/)
      .optional()
      .describe('Image tag; default `spec.version`. Exclusive with digest.'),
    digest: z
      .string()
      .regex(/^sha256:[a-f0-9]{64}$/)
      .optional()
      .describe('Image digest (`sha256:…`), the most reproducible choice. Exclusive with tag.'),
    pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  }),
  [
    {
      rule: '!(has(self.tag) && has(self.digest))',
      message: 'image.tag and image.digest are exclusive: give one, or neither to use spec.version',
      fieldPath: '.digest',
      check: (i) => !(i.tag !== undefined && i.digest !== undefined),
    },
    {
      rule: "!has(self.tag) || self.tag != 'latest'",
      message: 'image.tag must be pinned: `latest` renders differently over time (STANDARDS.md O5)',
      fieldPath: '.tag',
      check: (i) => i.tag !== 'latest',
    },
  ],
).describe('Overrides of the data-plane image; by default the operator maps spec.version to an image.');

// ---------------------------------------------------------------- config

/** The typed subset of the data plane's node config a cluster sets (dataplane/src/config/schema.ts). */
export const ClusterConfigSchema = z
  .strictObject({
    logging: LoggingSchema.prefault({}).describe('Log level and format (pino).'),
    websocket: WebSocketSchema.prefault({}).describe(
      'WebSocket limits and timers; `maxConnections` is the per-pod connection budget (0 = unlimited).',
    ),
    server: ServerSchema.pick({ maxBodyKb: true, requestTimeoutMs: true, trustProxyHops: true })
      .prefault({})
      .describe('Public listener knobs; host and port (6001) belong to the operator.'),
    metrics: MetricsSchema.prefault({}).describe('Prometheus metrics; the prefix is used by the generated alerts too.'),
    shutdown: ShutdownSchema.prefault({}).describe('SIGTERM budget and batch draining on shutdown.'),
    aiTransport: AiTransportSchema.prefault({}).describe('AI Transport conventions.'),
  })
  .describe('Data-plane settings, rendered into config.json of the `<name>-config` ConfigMap.');

// ---------------------------------------------------------------- apps

const appShape = AppSchema.shape;

export const ClusterAppSchema = z.strictObject({
  id: appShape.id,
  key: appShape.key,
  secretRef: secretKeyRef('app-secret', 'the app secret'),
  enabled: appShape.enabled,
  enableClientMessages: appShape.enableClientMessages,
  enableUserAuthentication: appShape.enableUserAuthentication,
  userAuthenticationTimeoutSeconds: appShape.userAuthenticationTimeoutSeconds,
  allowedOrigins: listAtomic(z.string().min(1).max(253), 64)
    .default([])
    .describe('Origins allowed to open WebSockets (exact, or a *.example.com suffix pattern); empty = any origin.'),
  limits: AppLimitsSchema.prefault({}),
});
export type ClusterApp = z.output<typeof ClusterAppSchema>;

// ---------------------------------------------------------------- pod, service, disruption

export const PodSchema = z
  .strictObject({
    resources: ResourceRequirementsSchema.default({
      requests: { cpu: '500m', memory: '512Mi' },
      limits: { cpu: '2', memory: '1Gi' },
    }).describe('Resources of the data-plane container (requests and limits: STANDARDS.md I5).'),
    nodeSelector: StringMap.optional(),
    tolerations: listAtomic(TolerationSchema, 32).optional(),
    affinity: AffinitySchema.optional(),
    topologySpreadConstraints: listMap(TopologySpreadConstraintSchema, ['topologyKey', 'whenUnsatisfiable'], 8)
      .optional()
      .describe('Spread constraints; an absent labelSelector means the data-plane pods of this cluster.'),
    priorityClassName: z.string().max(253).optional(),
    podLabels: StringMap.optional().describe('Extra pod labels (may not change the operator-owned selector labels).'),
    podAnnotations: StringMap.optional(),
    securityContext: PodSecurityContextSchema.prefault({}).describe(
      'Pod security context; runAsNonRoot is always true.',
    ),
    containerSecurityContext: ContainerSecurityContextSchema.optional().describe(
      'Container security context; no privilege escalation, read-only root filesystem and drop ALL are always set.',
    ),
    extraEnv: EnvListSchema.optional(),
    extraEnvFrom: listAtomic(EnvFromSourceSchema, 16).optional(),
    extraVolumes: VolumeListSchema.optional(),
    extraVolumeMounts: VolumeMountListSchema.optional(),
    terminationGracePeriodSeconds: z
      .int()
      .min(1)
      .max(86_400)
      .optional()
      .describe(
        'Default and minimum: upgrade.drain.endpointPropagationSeconds + upgrade.drain.connectionDrainTimeoutSeconds + config.shutdown.gracePeriodSeconds.',
      ),
    probes: z
      .strictObject({
        startup: ProbeTimingSchema.optional(),
        liveness: ProbeTimingSchema.optional(),
        readiness: ProbeTimingSchema.optional(),
      })
      .prefault({})
      .describe('Probe timings; the handlers (/livez, /readyz on port 9601) belong to the operator.'),
  })
  .describe('Pod settings of the data plane (the Helm chart values minus what the operator owns).');

export const ServiceSpecSchema = withCel(
  z.strictObject({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP'),
    port: z.int().min(1).max(65_535).default(6001).describe('Port of the client Service (target: the pod port 6001).'),
    annotations: StringMap.optional(),
    labels: StringMap.optional(),
    externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
    sessionAffinity: z.enum(['None', 'ClientIP']).default('None'),
    loadBalancerSourceRanges: listAtomic(z.string().max(64), 64).optional(),
  }),
  [
    {
      rule: "!has(self.externalTrafficPolicy) || (has(self.type) && self.type != 'ClusterIP')",
      message: 'externalTrafficPolicy needs type NodePort or LoadBalancer',
      fieldPath: '.externalTrafficPolicy',
      check: (s) => s.externalTrafficPolicy === undefined || s.type !== 'ClusterIP',
    },
  ],
).describe('The client Service `<name>` (WebSocket and signed REST).');

export const DisruptionSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Render the PodDisruptionBudget `<name>`.'),
    maxUnavailable: IntOrPercentSchema.default(1),
    unhealthyPodEvictionPolicy: z
      .enum(['IfHealthyBudget', 'AlwaysAllow'])
      .default('AlwaysAllow')
      .describe('AlwaysAllow: already-broken pods never block a node drain.'),
  })
  .describe('PodDisruptionBudget for voluntary disruptions (node drains).');

// ---------------------------------------------------------------- upgrade

export const UpgradeSchema = z
  .strictObject({
    strategy: z
      .enum(['Drain', 'Restart', 'Supervised'])
      .default('Drain')
      .describe(
        'Drain: drain each pod, then restart it. Restart: plain rolling restart. Supervised: like Drain, but wait for the approve-step annotation before each pod.',
      ),
    drain: z
      .strictObject({
        method: z
          .enum(['AdminAPI', 'ReadinessGate'])
          .default('AdminAPI')
          .describe(
            'AdminAPI: POST /admin/drain (readiness turns 503). ReadinessGate: a pod condition set by the operator.',
          ),
        endpointPropagationSeconds: z
          .int()
          .min(0)
          .max(300)
          .default(10)
          .describe('Wait for endpoints to drop a draining pod; also the preStop sleep.'),
        connectionDrainTimeoutSeconds: z
          .int()
          .min(0)
          .max(3600)
          .default(120)
          .describe('Longest wait for the connections of a pod to close.'),
        reconnectBatch: z
          .strictObject({
            size: z.int().min(1).default(500).describe('Connections closed (4200) per batch.'),
            intervalMilliseconds: z.int().min(0).default(1000).describe('Pause between batches.'),
          })
          .prefault({})
          .describe('Batches of the operator-driven drain (SIGTERM drains use config.shutdown).'),
      })
      .prefault({}),
    healthGate: z
      .strictObject({
        minReadySeconds: z.int().min(0).max(3600).default(15).describe('Also the StatefulSet minReadySeconds.'),
        stableSeconds: z
          .int()
          .min(0)
          .max(3600)
          .default(60)
          .describe('A new pod must stay ready, without restarts, this long.'),
        maxResetRequiredChannels: z.int().min(0).default(0),
        maxHistoryQueueDepth: z.int().min(0).default(1000),
        timeoutSeconds: z
          .int()
          .min(1)
          .default(600)
          .describe('Then Stalled=True (HealthGateFailed) and the rollout stops.'),
      })
      .prefault({}),
    pauseBetweenPodsSeconds: z.int().min(0).max(3600).default(0),
    maintenanceWindows: listSet(z.string().min(1).max(100), 16)
      .optional()
      .describe(
        'Five-field cron expressions (UTC) of the minutes in which a rollout step may start, e.g. `* 1-4 * * *`; empty = any time.',
      ),
  })
  .describe('How pod-template changes roll out: one pod at a time, drained and health-gated.');

// ---------------------------------------------------------------- spec

const specRules: ReadonlyArray<CelRule<{ replicas: number; redis?: unknown }>> = [
  {
    rule: 'self.replicas <= 1 || has(self.redis)',
    message: 'replicas above 1 need spec.redis: without Redis every pod has its own embedded store',
    fieldPath: '.replicas',
    check: (s) => s.replicas <= 1 || s.redis !== undefined,
  },
];

export const ClusterSpecSchema = withCel(
  z.strictObject({
    version: Semver.describe('Data-plane version; mapped to the image tag unless image.tag or image.digest is set.'),
    image: ImageSchema.prefault({}),
    imagePullSecrets: ImagePullSecretsSchema.optional(),
    replicas: z
      .int()
      .min(0)
      .max(1000)
      .default(1)
      .describe('Number of data-plane pods; the /scale subresource (HPA) targets it.'),
    paused: z
      .boolean()
      .default(false)
      .describe('Stop reconciling (children are left as they are); condition ReconciliationPaused.'),
    config: ClusterConfigSchema.prefault({}),
    configOverrides: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ 'x-kubernetes-preserve-unknown-fields': true })
      .describe(
        'Escape hatch: deep-merged over the rendered config.json last. The result must still be a valid node config; apps, ops and listener addresses cannot be overridden.',
      ),
    apps: listMap(ClusterAppSchema, ['id'], 100)
      .min(1)
      .describe('Apps served by the cluster; their secrets come from Secrets mounted into the pods.'),
    adminTokenSecretRef: secretKeyRef('token', 'the admin API bearer token')
      .optional()
      .describe(
        'Secret with the admin API token (at least 16 characters). Default: `<name>-admin-token`, created by the operator.',
      ),
    redis: RedisSchema.optional(),
    pod: PodSchema.prefault({}),
    service: ServiceSpecSchema.prefault({}),
    disruption: DisruptionSchema.prefault({}),
    networkPolicy: NetworkPolicySpecSchema.prefault({}),
    upgrade: UpgradeSchema.prefault({}),
    monitoring: MonitoringSchema.prefault({}),
  }),
  specRules,
).describe('Desired state of an AI Transport data-plane cluster.');

// ---------------------------------------------------------------- status

export const CLUSTER_CONDITION_TYPES = [
  'Ready',
  'Reconciling',
  'Stalled',
  'Upgrading',
  'Degraded',
  'ReconciliationPaused',
  'MonitoringReady',
  'ProductionReady',
] as const;
export type ClusterConditionType = (typeof CLUSTER_CONDITION_TYPES)[number];

export const CLUSTER_PHASES = ['Pending', 'Running', 'Upgrading', 'Degraded', 'Paused', 'Failed'] as const;

export const ROLLOUT_STATES = [
  'Idle',
  'Planned',
  'Draining',
  'Restarting',
  'Verifying',
  'WaitingForApproval',
  'Paused',
  'Failed',
] as const;

const Count = z.int().min(0);

export const ClusterStatusSchema = z
  .strictObject({
    observedGeneration: z.int().min(0).optional().describe('The generation the status was computed for.'),
    conditions: ConditionsSchema.optional(),
    phase: z.enum(CLUSTER_PHASES).optional().describe('Summary for printer columns; use the conditions in automation.'),
    replicas: Count.optional().describe('Pods of the StatefulSet (the /scale status).'),
    readyReplicas: Count.optional(),
    updatedReplicas: Count.optional().describe('Pods at the update revision.'),
    selector: z.string().max(1024).optional().describe('Label selector of the data-plane pods (for /scale and HPA).'),
    currentVersion: z.string().max(64).optional().describe('Version every pod runs when no rollout is in progress.'),
    targetVersion: z.string().max(64).optional().describe('Version being rolled out (spec.version).'),
    currentRevision: z.string().max(253).optional().describe('StatefulSet currentRevision.'),
    updateRevision: z.string().max(253).optional().describe('StatefulSet updateRevision.'),
    rollout: z
      .strictObject({
        state: z.enum(ROLLOUT_STATES),
        reason: z
          .string()
          .max(64)
          .optional()
          .describe('Why the rollout is in this state (machine-readable, e.g. GateWaiting, HealthGateFailed).'),
        targetRevision: z.string().max(253).optional().describe('StatefulSet updateRevision being rolled out.'),
        pod: z.string().max(253).optional().describe('Pod of the current step.'),
        podsUpdated: Count.optional().describe('Pods at the target revision.'),
        attempt: Count.optional(),
        startedAt: TimeSchema.optional().describe('When the rollout to targetRevision started.'),
        lastTransitionTime: TimeSchema.optional().describe('When state last changed.'),
        waitingSince: TimeSchema.optional().describe(
          'When the current wait on health began; healthGate.timeoutSeconds counts from it.',
        ),
        lastStepTime: TimeSchema.optional().describe(
          'When the last pod was verified; pauseBetweenPodsSeconds counts from it.',
        ),
        message: z.string().max(4096).optional(),
      })
      .optional()
      .describe('Durable progress of the rollout state machine (the rest is derived from the cluster).'),
    dataPlane: z
      .strictObject({
        connections: Count.optional().describe('Open connections, summed over the reachable pods.'),
        resetRequiredChannels: Count.optional().describe('Channels whose history must be reset (store-wide).'),
        degradedChannels: Count.optional().describe('Channels whose history is degraded (store-wide).'),
        reachablePods: Count.optional().describe('Pods whose admin API answered.'),
        lastCheckTime: TimeSchema.optional().describe(
          'When these numbers were last read (refreshed when they change, else at most every 10 minutes).',
        ),
        message: z.string().max(4096).optional().describe('Pods whose admin API did not answer, and why.'),
      })
      .optional()
      .describe('Summary of the admin API (GET /admin/status) of the pods.'),
    redis: z
      .strictObject({
        ready: z.boolean().optional(),
        endpoint: z.string().max(512).optional(),
        message: z.string().max(4096).optional(),
      })
      .optional(),
  })
  .describe('Observed state, written by the operator through the status subresource.');

// ---------------------------------------------------------------- object

const rootRules: ReadonlyArray<CelRule<{ metadata: { name: string } }>> = [
  {
    rule: `self.metadata.name.size() <= ${MAX_CLUSTER_NAME_LENGTH}`,
    message: `metadata.name may have at most ${MAX_CLUSTER_NAME_LENGTH} characters (child names add suffixes)`,
    check: (o) => o.metadata.name.length <= MAX_CLUSTER_NAME_LENGTH,
  },
];

export const AITransportClusterSchema = withCel(
  z.strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(CLUSTER_KIND),
    metadata: ObjectMetaSchema,
    spec: ClusterSpecSchema,
    status: ClusterStatusSchema.optional(),
  }),
  rootRules,
).describe('AITransportCluster runs an AI Transport data plane: a StatefulSet of WebSocket nodes and its companions.');

export type AITransportClusterInput = z.input<typeof AITransportClusterSchema>;
export type AITransportCluster = z.output<typeof AITransportClusterSchema>;
export type ClusterSpec = z.output<typeof ClusterSpecSchema>;
export type ClusterStatus = z.output<typeof ClusterStatusSchema>;
export type ClusterConfig = z.output<typeof ClusterConfigSchema>;

// ---------------------------------------------------------------- CRD facts

/** Names and columns of the CRD (scripts/generate/crds.ts writes crds/aitransport.io_aitransportclusters.yaml). */
export const CLUSTER_RESOURCE = {
  kind: CLUSTER_KIND,
  listKind: `${CLUSTER_KIND}List`,
  plural: 'aitransportclusters',
  singular: 'aitransportcluster',
  shortNames: ['aitc'],
  categories: ['aitransport'],
  printerColumns: [
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version' },
    { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas' },
    { name: 'Ready Replicas', type: 'integer', jsonPath: '.status.readyReplicas' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    {
      name: 'Reason',
      type: 'string',
      priority: 1,
      jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
    },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  scale: {
    specReplicasPath: '.spec.replicas',
    statusReplicasPath: '.status.replicas',
    labelSelectorPath: '.status.selector',
  },
} as const;
