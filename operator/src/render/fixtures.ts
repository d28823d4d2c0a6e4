// Test fixtures shared by the render tests: the example CRs of examples/, parsed with the zod
// schemas (so defaults are applied exactly as the API server would), plus fixed ObservedFacts.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { LABEL } from '../api/labels.ts';
import { type ChannelPolicy, ChannelPolicySchema } from '../api/v1alpha1/channelpolicy.ts';
import { type AITransportCluster, AITransportClusterSchema } from '../api/v1alpha1/cluster.ts';
import type { ObservedFacts } from './facts.ts';

export const FACTS: ObservedFacts = {
  partition: 0,
  monitoring: { serviceMonitors: true, prometheusRules: true },
  operator: { namespace: 'aitransport-system', podLabels: { [LABEL.name]: 'aitransport-operator' } },
};

export const EXAMPLE_NAMESPACE = 'apps';

export function readExample(file: string): Record<string, unknown> {
  return parse(readFileSync(new URL(`../../../examples/${file}`, import.meta.url), 'utf8')) as Record<string, unknown>;
}

/** What the API server adds: namespace, uid, generation (fixed, so goldens are stable). */
function served(raw: Record<string, unknown>): Record<string, unknown> {
  const metadata = (raw.metadata ?? {}) as Record<string, unknown>;
  return {
    ...raw,
    metadata: { namespace: EXAMPLE_NAMESPACE, uid: `uid-${String(metadata.name)}`, generation: 1, ...metadata },
  };
}

type Patch = (raw: Record<string, unknown>) => void;

export function loadCluster(file: string, patch?: Patch): AITransportCluster {
  const raw = served(readExample(file));
  patch?.(raw);
  return AITransportClusterSchema.parse(raw);
}

export function loadPolicy(file: string, patch?: Patch): ChannelPolicy {
  const raw = served(readExample(file));
  patch?.(raw);
  return ChannelPolicySchema.parse(raw);
}

/** Shorthand for patches: the spec of a raw CR. */
export function specOf(raw: Record<string, unknown>): Record<string, unknown> {
  return raw.spec as Record<string, unknown>;
}
