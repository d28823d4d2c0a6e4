// A load profile: the traffic `ait plan` sizes a fleet for (docs/capacity.md), and what the
// load runner replays (test/load/profiles/). One zod schema with a default and a description on
// every optional field; the per-node budgets default to the figures in BUDGET_DEFAULTS, each with
// where it comes from, and a profile overrides any of them.

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** The append_rollup_window values a socket may ask for (docs/rollup.md "Windows"). */
export const ROLLUP_WINDOWS = [0, 20, 40, 100, 500] as const;

export interface BudgetDefault {
  readonly value: number;
  /** Where the figure comes from: a measured benchmark, the spec, the code, or an estimate. */
  readonly source: string;
}

/**
 * Per-node budgets and model constants. A "node" is one data-plane pod: one Node.js process with
 * one event loop, so the per-core budgets are multiplied by `coresPerNode` (1 unless measured
 * otherwise: the pod's second core goes to GC, libuv and the kernel's socket work).
 */
export const BUDGET_DEFAULTS = {
  connectionsPerNode: {
    value: 20_000,
    source:
      'estimate: about 32 KiB per idle WebSocket (ws buffers + connection state) within the default 1 GiB pod limit, ' +
      'with room for bursts; no benchmark yet',
  },
  appendsPerSecondPerCore: {
    value: 10_000,
    source:
      'estimate for batched appends (POST /apps/{id}/appends or WS sockudo:append); one signed REST request per ' +
      'token costs several times more; no benchmark yet (B2 will report server CPU per 1k appends)',
  },
  egressFramesPerSecondPerCore: {
    value: 72_000,
    source: 'docs/benchmarks.md B1: the aitransport node delivered 72 464 frames per server CPU-second',
  },
  transportMessagesPerSecondPerCore: {
    value: 100_000,
    source: 'estimate: decode, order and deliver one horizontal-transport envelope in about 10 µs; no benchmark yet',
  },
  coresPerNode: {
    value: 1,
    source: 'one Node.js event loop per data-plane pod (the default pod CPU limit is 2)',
  },
  rollupBytesPerStream: {
    value: 4096,
    source: '/work/shared/OPERATIONS.md capacity model: 4 KiB of rollup state per active stream',
  },
  versionOverheadBytes: {
    value: 256,
    source: 'VERSION_OVERHEAD, the bytes the version stores account per append version besides its fragment',
  },
  minNodes: { value: 1, source: 'no redundancy required unless the profile asks for it' },
} as const satisfies Record<string, BudgetDefault>;

export type BudgetName = keyof typeof BUDGET_DEFAULTS;

const positive = (what: string) => z.number().positive().describe(what);
const count = (what: string) => z.number().int().min(1).describe(what);

const BudgetsSchema = z
  .strictObject({
    connectionsPerNode: count('WebSocket connections one node holds at its limit (config.websocket.maxConnections)'),
    appendsPerSecondPerCore: positive('append commits one core handles per second (validate, store, transport)'),
    egressFramesPerSecondPerCore: positive('frames one core writes to subscriber sockets per second'),
    transportMessagesPerSecondPerCore: positive(
      'horizontal-transport messages one core receives and orders per second',
    ),
    coresPerNode: positive('cores one node can use for the budgets above'),
    rollupBytesPerStream: count('rollup state per tracked stream, in bytes (payload buffers excluded)'),
    versionOverheadBytes: z.number().int().min(0).describe('stored bytes per append version besides its fragment'),
    minNodes: count('the fewest nodes the plan may give (e.g. 3 for redundancy)'),
  })
  .partial()
  .describe('per-node budgets; each defaults to BUDGET_DEFAULTS');

export const TRANSPORT_MODES = ['all-channels', 'subscribed-channels'] as const;

export const ProfileSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/, 'must be lowercase letters, digits and dashes (1-64)')
      .describe('profile name, used in report file names'),
    description: z.string().max(1000).optional(),
    durationSeconds: count('how long the load runs'),
    connections: count('concurrent WebSocket connections across the fleet'),
    activeStreams: count('AI output streams being written at any moment'),
    tokensPerSecond: positive('appends per second per active stream'),
    subscribersPerSession: z
      .strictObject({ min: count('fewest subscriber devices'), max: count('most subscriber devices') })
      .refine((s) => s.max >= s.min, {
        path: ['max'],
        error: (i) => `must be at least subscribersPerSession.min (${(i.input as { min: number }).min})`,
      })
      .describe('subscriber devices per session, uniformly distributed between min and max'),
    rollupWindowMs: z
      .literal(ROLLUP_WINDOWS)
      .default(40)
      .describe('append_rollup_window of the subscribers (0, 20, 40, 100 or 500; default 40, the node default)'),
    response: z
      .strictObject({
        meanTokens: count('tokens in one response').default(500),
        meanTokenBytes: positive('UTF-8 bytes per token').default(4),
        controlWrites: z
          .number()
          .int()
          .min(0)
          .default(5)
          .describe(
            'store writes per response besides its token appends: ai-input, ai-run-start, the ai-output create, the ' +
              'terminal append and ai-run-end (default 5)',
          ),
      })
      .default({ meanTokens: 500, meanTokenBytes: 4, controlWrites: 5 })
      .describe('shape of one response'),
    retentionMultiplier: positive(
      'stored bytes per response byte; default 2 + versionOverheadBytes / meanTokenBytes (the aggregate, plus one ' +
        'version per append)',
    ).optional(),
    headroom: z
      .number()
      .min(0)
      .max(0.9)
      .default(0.2)
      .describe('share of every per-node budget kept free (default 0.2)'),
    budgets: BudgetsSchema.default({}),
    fleet: z
      .strictObject({
        nodes: count('evaluate this node count instead of computing one').optional(),
        transport: z
          .enum(TRANSPORT_MODES)
          .default('all-channels')
          .describe(
            'what each node receives from the horizontal transport: every channel (what the data plane does today) ' +
              'or only channels it has subscribers on',
          ),
      })
      .default({ transport: 'all-channels' }),
  })
  .superRefine((p, ctx) => {
    const needed = p.activeStreams * p.subscribersPerSession.min;
    if (needed > p.connections) {
      ctx.addIssue({
        code: 'custom',
        path: ['connections'],
        message:
          `${p.connections} is fewer than activeStreams × subscribersPerSession.min = ${needed}: ` +
          'every active stream has at least that many subscriber connections',
      });
    }
  });

export type Profile = z.output<typeof ProfileSchema>;
export type ProfileInput = z.input<typeof ProfileSchema>;

export type ProfileOutcome =
  | { readonly ok: true; readonly profile: Profile }
  | { readonly ok: false; readonly errors: readonly string[] };

/** Validates a parsed profile; every problem is one `path: message` line. */
export function validateProfile(value: unknown): ProfileOutcome {
  const r = ProfileSchema.safeParse(value);
  if (r.success) return { ok: true, profile: r.data };
  return {
    ok: false,
    errors: r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
  };
}

/** Parses profile text (JSON, or YAML, a superset) named `source` in errors. */
export function parseProfile(text: string, source: string): ProfileOutcome {
  let value: unknown;
  try {
    value = parseYaml(text, { prettyErrors: false });
  } catch (err) {
    return { ok: false, errors: [`${source}: not JSON or YAML: ${(err as Error).message.split('\n')[0]}`] };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, errors: [`${source}: a profile is an object`] };
  }
  const r = validateProfile(value);
  return r.ok ? r : { ok: false, errors: r.errors.map((e) => `${source}: ${e}`) };
}
