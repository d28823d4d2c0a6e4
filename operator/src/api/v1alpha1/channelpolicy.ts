// ChannelPolicy (short name chp): per-channel durable history, presence history, rollup and
// reset policy for the channels of one app of one AITransportCluster. The operator renders
// policies into the `channel-policies.json` key of the cluster's ConfigMap, which the pods
// hot-reload: changing a policy never restarts a pod. Resets are run by the operator (6.5).
import { z } from 'zod';
import { AppSchema } from '../../../../dataplane/src/config/schema.ts';
import { withCel } from './cel.ts';
import {
  API_VERSION,
  ConditionsSchema,
  listAtomic,
  listSet,
  ObjectMetaSchema,
  ObjectName,
  TimeSchema,
} from './meta.ts';

export const CHANNEL_POLICY_KIND = 'ChannelPolicy';

const ChannelName = z.string().min(1).max(200);

export const ChannelSelectorSchema = withCel(
  z.strictObject({
    names: listSet(ChannelName, 256).optional().describe('Exact channel names.'),
    prefixes: listSet(ChannelName, 64).optional().describe('Channel-name prefixes (plain starts-with).'),
    patterns: listSet(ChannelName, 64)
      .optional()
      .describe('Glob patterns: `*` matches any run of characters, `?` one character.'),
  }),
  [
    {
      rule: '(has(self.names) && size(self.names) > 0) || (has(self.prefixes) && size(self.prefixes) > 0) || (has(self.patterns) && size(self.patterns) > 0)',
      message: 'channels needs at least one of names, prefixes or patterns',
      check: (c) => [c.names, c.prefixes, c.patterns].some((l) => l !== undefined && l.length > 0),
    },
  ],
).describe(
  'Which channels of the app the policy applies to; a channel matched by several policies takes the first by name.',
);

export const RetentionSchema = z
  .strictObject({
    maxMessages: z.int().min(1).max(1_000_000).default(1000).describe('Messages kept per channel.'),
    maxBytes: z
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(1024 * 1024)
      .describe('Bytes kept per channel.'),
    maxAgeSeconds: z.int().min(0).default(86_400).describe('Age after which messages are evicted; 0 = no age limit.'),
  })
  .describe('Retention: whichever limit is reached first evicts the oldest messages.');

export const HistorySchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Keep durable history (rewind, recovery, history REST).'),
  retention: RetentionSchema.prefault({}),
  recovery: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Allow connection recovery (sockudo:resume) on these channels.'),
      bufferTtlSeconds: z.int().min(1).max(86_400).default(120).describe('How long hot recovery positions live.'),
      maxReplayMessages: z.int().min(1).max(10_000).default(100).describe('Most messages one recovery replays.'),
    })
    .prefault({}),
});

export const PresenceHistorySchema = z.strictObject({
  enabled: z.boolean().default(false).describe('Keep presence transitions (presence channels only).'),
  retention: RetentionSchema.prefault({}),
});

export const ROLLUP_WINDOWS_MS = [0, 20, 40, 100, 500] as const;

export const RollupPolicySchema = withCel(
  z.strictObject({
    enabled: z.boolean().default(true).describe('Coalesce appends of a streaming message (AI token streams).'),
    windowMs: z
      .int()
      .min(0)
      .max(500)
      .default(40)
      .describe(`Rollup window W in ms, one of ${ROLLUP_WINDOWS_MS.join(', ')}; 0 delivers every append.`),
    maxBufferBytes: z
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(64 * 1024)
      .describe('Held bytes per stream; over it the pending appends are flushed at once.'),
  }),
  [
    {
      // has(): the API server checks the rule against the schema default `{}` before nested defaults apply.
      rule: `!has(self.windowMs) || self.windowMs in [${ROLLUP_WINDOWS_MS.join(', ')}]`,
      message: `rollup.windowMs must be one of ${ROLLUP_WINDOWS_MS.join(', ')}`,
      fieldPath: '.windowMs',
      check: (r) => (ROLLUP_WINDOWS_MS as readonly number[]).includes(r.windowMs),
    },
  ],
);

export const ResetSchema = z
  .strictObject({
    policy: z
      .enum(['Manual', 'Automatic'])
      .default('Manual')
      .describe(
        'Manual: reset on a new request token. Automatic: reset channels reset_required longer than graceSeconds.',
      ),
    graceSeconds: z.int().min(0).default(300),
    maxChannelsPerRun: z.int().min(1).max(1000).default(50),
    minIntervalSeconds: z.int().min(0).default(600).describe('Least time between two reset runs of this policy.'),
    dryRun: z.boolean().default(false).describe('Only report the channels that would be reset.'),
    request: z
      .strictObject({
        token: z
          .string()
          .min(1)
          .max(128)
          .describe('A new value requests one reset run; handled once (status.lastHandledResetToken).'),
        reason: z.string().max(256).optional().describe('Recorded in the reset audit trail.'),
      })
      .optional(),
  })
  .describe(
    'Resets are destructive (a reset-required channel gets a new stream): Manual by default, never during a rollout.',
  );

export const ChannelPolicySpecSchema = z
  .strictObject({
    clusterRef: withCel(z.strictObject({ name: ObjectName.describe('AITransportCluster in the same namespace.') }), [
      { rule: 'self == oldSelf', message: 'clusterRef is immutable: create a new ChannelPolicy instead' },
    ]),
    appId: AppSchema.shape.id.describe('App (spec.apps[].id of the cluster) whose channels this policy governs.'),
    channels: ChannelSelectorSchema,
    history: HistorySchema.prefault({}),
    presenceHistory: PresenceHistorySchema.prefault({}),
    rollup: RollupPolicySchema.prefault({}),
    reset: ResetSchema.prefault({}),
  })
  .describe('Per-channel durable-history, rollup and reset policy.');

export const RESET_RESULTS = ['Reset', 'WouldReset', 'Skipped', 'Failed'] as const;

export const CHANNEL_POLICY_CONDITION_TYPES = ['Ready', 'Applied', 'ResetRequired', 'Resetting', 'Stalled'] as const;
export type ChannelPolicyConditionType = (typeof CHANNEL_POLICY_CONDITION_TYPES)[number];

export const ChannelPolicyStatusSchema = z
  .strictObject({
    observedGeneration: z.int().min(0).optional(),
    conditions: ConditionsSchema.optional(),
    configHash: z.string().max(128).optional().describe('Hash of the rendered policy as pushed to the data plane.'),
    matchedChannels: z.int().min(0).optional().describe('Channels matched, when enumerable.'),
    resetRequiredChannels: z.int().min(0).optional(),
    lastHandledResetToken: z.string().max(128).optional(),
    lastReset: z
      .strictObject({
        trigger: z.enum(['Manual', 'Automatic']).optional().describe('What started the run.'),
        token: z.string().max(128).optional().describe('The request token of a Manual run.'),
        dryRun: z.boolean().optional().describe('The run only reported what it would reset.'),
        startedAt: TimeSchema.optional(),
        completedAt: TimeSchema.optional(),
        channelsReset: z.int().min(0).optional(),
        skipped: z.int().min(0).optional().describe('Channels no longer reset-required when re-checked.'),
        failed: z.int().min(0).optional(),
        remaining: z
          .int()
          .min(0)
          .optional()
          .describe('Reset-required channels left for a later run (over maxChannelsPerRun).'),
        items: listAtomic(
          z.strictObject({
            channel: z.string().max(200),
            previousStreamId: z.string().max(128).optional(),
            newStreamId: z.string().max(128).optional(),
            result: z.enum(RESET_RESULTS),
            message: z.string().max(1024).optional(),
          }),
          20,
        )
          .optional()
          .describe('The last reset items (at most 20).'),
      })
      .optional(),
  })
  .describe('Observed state, written by the operator.');

export const ChannelPolicySchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(CHANNEL_POLICY_KIND),
    metadata: ObjectMetaSchema,
    spec: ChannelPolicySpecSchema,
    status: ChannelPolicyStatusSchema.optional(),
  })
  .describe('ChannelPolicy sets history, rollup and reset policy for channels of one app of an AITransportCluster.');

export type ChannelPolicyInput = z.input<typeof ChannelPolicySchema>;
export type ChannelPolicy = z.output<typeof ChannelPolicySchema>;
export type ChannelPolicySpec = z.output<typeof ChannelPolicySpecSchema>;
export type ChannelPolicyStatus = z.output<typeof ChannelPolicyStatusSchema>;

/** Names and columns of the CRD (scripts/generate/crds.ts writes crds/aitransport.io_channelpolicies.yaml). */
export const CHANNEL_POLICY_RESOURCE = {
  kind: CHANNEL_POLICY_KIND,
  listKind: `${CHANNEL_POLICY_KIND}List`,
  plural: 'channelpolicies',
  singular: 'channelpolicy',
  shortNames: ['chp'],
  categories: ['aitransport'],
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterRef.name' },
    { name: 'App', type: 'string', jsonPath: '.spec.appId' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reset Required', type: 'integer', jsonPath: '.status.resetRequiredChannels' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
} as const;
