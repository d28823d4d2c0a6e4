// Channel policies: per-channel history, recovery and rollup settings for the channels of one app
// (the `ChannelPolicy` CRD of the operator, rendered into `channel-policies.json`). This module is
// part of the data plane's CONTRACT with the operator: the operator renders documents that must
// parse with `ChannelPolicyDocumentSchema`. Pure: schema, glob matching and resolution; the file
// watcher lives in `policy-source.ts`.
import { z } from 'zod';

const ChannelName = z.string().min(1).max(200);

export const PolicyRetentionSchema = z
  .strictObject({
    maxMessages: z.number().int().min(1).max(1_000_000).default(1000).describe('Messages kept per channel.'),
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(1024 * 1024)
      .describe('Bytes of stored messages kept per channel.'),
    maxAgeSeconds: z
      .number()
      .int()
      .min(0)
      .default(86_400)
      .describe('Messages older than this are evicted; 0 = no age limit.'),
  })
  .describe('Whichever limit is reached first evicts the oldest messages.');

export const PolicyRecoverySchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Allow connection recovery (sockudo:resume) on these channels.'),
  bufferTtlSeconds: z
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(120)
    .describe('How long frames stay in the hot replay buffer.'),
  maxReplayMessages: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(100)
    .describe('Most messages one recovery replays (hot and cold).'),
});

export const PolicyHistorySchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Keep durable history (rewind, recovery, history REST).'),
  retention: PolicyRetentionSchema.prefault({}),
  recovery: PolicyRecoverySchema.prefault({}),
});

export const PolicyPresenceHistorySchema = z.strictObject({
  enabled: z.boolean().default(false),
  retention: PolicyRetentionSchema.prefault({}),
});

export const PolicyRollupSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Coalesce the appends of a streaming message.'),
  windowMs: z
    .union([z.literal(0), z.literal(20), z.literal(40), z.literal(100), z.literal(500)])
    .default(40)
    .describe('Rollup window W in ms (one of 0, 20, 40, 100, 500); 0 delivers every append.'),
  maxBufferBytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(64 * 1024)
    .describe('Held bytes per stream; past it the held appends are delivered at once.'),
});

export const ChannelSelectorSchema = z
  .strictObject({
    names: z.array(ChannelName).max(256).default([]),
    prefixes: z.array(ChannelName).max(64).default([]),
    patterns: z.array(ChannelName).max(64).default([]).describe('Globs: `*` any run of characters, `?` one character.'),
  })
  .refine((s) => s.names.length + s.prefixes.length + s.patterns.length > 0, {
    message: 'channels needs at least one of names, prefixes or patterns',
  });

export const ChannelPolicySchema = z.strictObject({
  name: z.string().min(1).max(253).describe('Policy name; policies apply in name order, the first match wins.'),
  appId: z.string().min(1).max(64),
  channels: ChannelSelectorSchema,
  history: PolicyHistorySchema.prefault({}),
  presenceHistory: PolicyPresenceHistorySchema.prefault({}),
  rollup: PolicyRollupSchema.prefault({}),
});

export const ChannelPolicyDocumentSchema = z.strictObject({
  version: z.literal(1),
  policies: z.array(ChannelPolicySchema).max(10_000).default([]),
});

export type ChannelPolicyInput = z.input<typeof ChannelPolicySchema>;
export type ChannelPolicy = z.output<typeof ChannelPolicySchema>;
export type ChannelPolicyDocument = z.output<typeof ChannelPolicyDocumentSchema>;

/** A glob (`*`, `?`) as an anchored regular expression; every other character is literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

/** A policy compiled for matching. */
export interface CompiledPolicy {
  readonly policy: ChannelPolicy;
  readonly names: ReadonlySet<string>;
  readonly prefixes: readonly string[];
  readonly patterns: readonly RegExp[];
}

export function compilePolicy(policy: ChannelPolicy): CompiledPolicy {
  return {
    policy,
    names: new Set(policy.channels.names),
    prefixes: policy.channels.prefixes.filter((p) => p.length > 0),
    patterns: policy.channels.patterns.map(globToRegExp),
  };
}

export function policyMatches(p: CompiledPolicy, appId: string, channel: string): boolean {
  if (p.policy.appId !== appId) return false;
  if (p.names.has(channel)) return true;
  for (const prefix of p.prefixes) if (channel.startsWith(prefix)) return true;
  for (const re of p.patterns) if (re.test(channel)) return true;
  return false;
}

/** Sorts by name (the operator already does; an inline config may not) and compiles. */
export function compilePolicies(policies: readonly ChannelPolicy[]): CompiledPolicy[] {
  return [...policies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(compilePolicy);
}

/** The first policy (by name) that matches the channel, if any. */
export function findPolicy(
  compiled: readonly CompiledPolicy[],
  appId: string,
  channel: string,
): ChannelPolicy | undefined {
  for (const p of compiled) if (policyMatches(p, appId, channel)) return p.policy;
  return undefined;
}

/** Parses a policy document; every problem is reported with its path. */
export function parsePolicyDocument(
  raw: unknown,
): { ok: true; doc: ChannelPolicyDocument } | { ok: false; issues: string[] } {
  const r = ChannelPolicyDocumentSchema.safeParse(raw);
  if (r.success) return { ok: true, doc: r.data };
  return { ok: false, issues: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
}
