// The ProductionReady condition: the preflight checklist of an AI Transport deployment
// (shared state for horizontal deployments, narrow AI channel prefixes, retention covering the
// recovery window, metrics scraped and alerting on, disruption budget, resources, …) evaluated
// against the spec, its ChannelPolicies and what the cluster offers. A table of named checks
// (STYLE.md 8): each returns undefined when satisfied, else what is missing.
import type { AlertName } from '../api/v1alpha1/alerts.ts';
import type { ChannelPolicy } from '../api/v1alpha1/channelpolicy.ts';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import type { ObservedFacts } from '../render/facts.ts';

type Cluster = Readonly<AITransportCluster>;

export interface ReadinessInput {
  readonly cluster: Cluster;
  /** The policies rendered for the cluster. */
  readonly policies: readonly Readonly<ChannelPolicy>[];
  readonly facts: ObservedFacts;
}

export type ProductionCheck = (i: ReadinessInput) => string | undefined;

/** Prefixes that select whole channel families, not AI streams (Pusher's own prefixes). */
export const BROAD_PREFIXES = [
  'private-',
  'presence-',
  'private-encrypted-',
  'cache-',
  'private-cache-',
  'presence-cache-',
  'public-',
  '#',
] as const;
export const MIN_PREFIX_LENGTH = 3;

/** Alerts the checklist wants on: history degraded/reset-required, recovery failures, flush latency, stream leaks, transport drops. */
export const ESSENTIAL_ALERTS: readonly AlertName[] = [
  'AITransportClusterDown',
  'AITransportHistoryDegraded',
  'AITransportHistoryResetRequired',
  'AITransportHistoryRecoveryFailures',
  'AITransportFlushLatencyHigh',
  'AITransportActiveStreamsNotDraining',
  'AITransportAdapterMessagesDropped',
];

function globMatchesPrefix(pattern: string, prefix: string): boolean {
  // A pattern covers every channel starting with `prefix` when its literal head is a prefix of it followed by `*`.
  const star = pattern.indexOf('*');
  if (star < 0 || pattern.slice(star) !== '*' || /[?]/.test(pattern.slice(0, star))) return false;
  return prefix.startsWith(pattern.slice(0, star));
}

function policyCovers(p: Readonly<ChannelPolicy>, prefix: string): boolean {
  const ch = p.spec.channels;
  return (
    (ch.prefixes ?? []).some((q) => prefix.startsWith(q)) ||
    (ch.patterns ?? []).some((pat) => globMatchesPrefix(pat, prefix))
  );
}

export const PRODUCTION_CHECKS: Readonly<Record<string, ProductionCheck>> = {
  'at least 2 replicas': ({ cluster }) =>
    cluster.spec.replicas >= 2
      ? undefined
      : `spec.replicas is ${cluster.spec.replicas}: one pod is a single point of failure`,
  'shared Redis for horizontal deployments': ({ cluster }) =>
    cluster.spec.redis || cluster.spec.replicas <= 1
      ? undefined
      : 'spec.redis is unset: history, cache and presence would be per pod',
  'Redis persistence': ({ cluster }) =>
    cluster.spec.redis?.mode === 'Managed' && cluster.spec.redis.managed?.persistence === false
      ? 'spec.redis.managed.persistence is false: a Redis restart loses durable history'
      : undefined,
  'AI Transport enabled': ({ cluster }) =>
    cluster.spec.config.aiTransport.enabled ? undefined : 'spec.config.aiTransport.enabled is false',
  'narrow AI channel prefixes': ({ cluster }) => {
    const ai = cluster.spec.config.aiTransport;
    if (!ai.enabled) return undefined;
    if (ai.channelPrefixes.length === 0) return 'spec.config.aiTransport.channelPrefixes is empty';
    const broad = ai.channelPrefixes.filter(
      (p) => p.length < MIN_PREFIX_LENGTH || (BROAD_PREFIXES as readonly string[]).includes(p),
    );
    return broad.length
      ? `AI channel prefixes too broad: ${broad.map((p) => JSON.stringify(p)).join(', ')}`
      : undefined;
  },
  'durable history for the AI channels': ({ cluster, policies }) => {
    const ai = cluster.spec.config.aiTransport;
    if (!ai.enabled) return undefined;
    const uncovered = ai.channelPrefixes.filter(
      (prefix) => !policies.some((p) => p.spec.history.enabled && policyCovers(p, prefix)),
    );
    return uncovered.length
      ? `no ChannelPolicy with history covers ${uncovered.map((p) => JSON.stringify(p)).join(', ')}`
      : undefined;
  },
  'retention covers the recovery window': ({ policies }) => {
    const short = policies.filter((p) => {
      const h = p.spec.history;
      return (
        h.enabled &&
        h.recovery.enabled &&
        h.retention.maxAgeSeconds !== 0 &&
        h.retention.maxAgeSeconds < h.recovery.bufferTtlSeconds
      );
    });
    return short.length
      ? `ChannelPolicy ${short.map((p) => p.metadata.name).join(', ')}: history.retention.maxAgeSeconds is shorter than recovery.bufferTtlSeconds`
      : undefined;
  },
  'metrics enabled': ({ cluster }) =>
    cluster.spec.config.metrics.enabled ? undefined : 'spec.config.metrics.enabled is false',
  'metrics scraped (ServiceMonitor)': ({ cluster, facts }) => {
    if (!cluster.spec.monitoring.serviceMonitor.enabled) return 'spec.monitoring.serviceMonitor.enabled is false';
    return facts.monitoring.serviceMonitors
      ? undefined
      : 'the ServiceMonitor CRD (Prometheus Operator) is not installed';
  },
  'alerts on (PrometheusRule)': ({ cluster, facts }) => {
    const pr = cluster.spec.monitoring.prometheusRule;
    if (!pr.enabled) return 'spec.monitoring.prometheusRule.enabled is false';
    if (!facts.monitoring.prometheusRules) return 'the PrometheusRule CRD (Prometheus Operator) is not installed';
    const off = ESSENTIAL_ALERTS.filter((a) => pr.disabledAlerts?.includes(a));
    return off.length ? `essential alerts disabled: ${off.join(', ')}` : undefined;
  },
  'PodDisruptionBudget on': ({ cluster }) =>
    cluster.spec.disruption.enabled ? undefined : 'spec.disruption.enabled is false',
  'resources set': ({ cluster }) => {
    const r = cluster.spec.pod.resources;
    const missing = [
      r.requests?.cpu === undefined ? 'requests.cpu' : undefined,
      r.requests?.memory === undefined ? 'requests.memory' : undefined,
      r.limits?.memory === undefined ? 'limits.memory' : undefined,
    ].filter((x): x is string => x !== undefined);
    return missing.length ? `spec.pod.resources lacks ${missing.join(', ')}` : undefined;
  },
  'NetworkPolicy on': ({ cluster }) =>
    cluster.spec.networkPolicy.enabled ? undefined : 'spec.networkPolicy.enabled is false',
  'JSON logs': ({ cluster }) =>
    cluster.spec.config.logging.format === 'json' ? undefined : 'spec.config.logging.format is not json',
};

export interface Readiness {
  readonly ready: boolean;
  /** `<check>: <what is missing>`, in table order. */
  readonly missing: string[];
}

export function productionReadiness(i: ReadinessInput): Readiness {
  const missing: string[] = [];
  for (const [name, check] of Object.entries(PRODUCTION_CHECKS)) {
    const problem = check(i);
    if (problem) missing.push(`${name}: ${problem}`);
  }
  return { ready: missing.length === 0, missing };
}
