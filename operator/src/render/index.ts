// renderAll: (cluster, policies, facts) → every desired child, in apply order (ConfigMap →
// ServiceAccount → Redis → Services → NetworkPolicies → StatefulSet → PDB → monitoring, then by
// name). Pure and deterministic: the same inputs give the same objects, byte for byte, with no
// timestamps (STANDARDS.md O5), so `ait render` output and GitOps diffs stay quiet.
import { type FieldError, fieldError } from '../api/field-error.ts';
import { LABEL } from '../api/labels.ts';
import type { ChannelPolicy } from '../api/v1alpha1/channelpolicy.ts';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import { validateCluster } from '../api/v1alpha1/validate.ts';
import { renderConfigMap, validateNodeConfig } from './configmap.ts';
import type { ObservedFacts } from './facts.ts';
import type { KubeObject } from './meta.ts';
import { renderNetworkPolicy, renderRedisNetworkPolicy } from './networkpolicy.ts';
import { renderPodDisruptionBudget } from './pdb.ts';
import { renderPrometheusRule } from './prometheusrule.ts';
import { renderRedisService, renderRedisStatefulSet } from './redis.ts';
import { renderClientService, renderHeadlessService, renderMetricsService } from './service.ts';
import { renderServiceAccount } from './serviceaccount.ts';
import { renderServiceMonitor } from './servicemonitor.ts';
import { renderStatefulSet, validatePodOverrides } from './statefulset.ts';

export type { ObservedFacts, OperatorIdentity } from './facts.ts';
export type { KubeObject } from './meta.ts';

/** Apply order by kind (OPERATOR.md 6.3): config first, workloads after their Services, monitoring last. */
export const KIND_ORDER = [
  'ConfigMap',
  'ServiceAccount',
  'Service',
  'NetworkPolicy',
  'StatefulSet',
  'PodDisruptionBudget',
  'ServiceMonitor',
  'PrometheusRule',
] as const;

function rank(o: KubeObject): number {
  const i = (KIND_ORDER as readonly string[]).indexOf(o.kind ?? '');
  return i < 0 ? KIND_ORDER.length : i;
}

/** Redis objects sort before the data plane's of the same kind, so Redis is applied first. */
function key(o: KubeObject): string {
  const redisFirst = o.metadata?.labels?.[LABEL.component] === 'redis';
  return `${redisFirst ? '0' : '1'}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

export function sortObjects<T extends KubeObject>(objects: readonly T[]): T[] {
  return [...objects].sort((a, b) => rank(a) - rank(b) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export function renderAll(
  cluster: Readonly<AITransportCluster>,
  policies: readonly Readonly<ChannelPolicy>[],
  facts: ObservedFacts,
): KubeObject[] {
  const objects: Array<KubeObject | undefined> = [
    renderConfigMap(cluster, policies),
    renderServiceAccount(cluster),
    renderRedisService(cluster),
    renderRedisStatefulSet(cluster),
    renderRedisNetworkPolicy(cluster),
    renderClientService(cluster),
    renderHeadlessService(cluster),
    renderMetricsService(cluster),
    renderNetworkPolicy(cluster, facts),
    renderStatefulSet(cluster, facts),
    renderPodDisruptionBudget(cluster),
    renderServiceMonitor(cluster, facts),
    renderPrometheusRule(cluster, facts),
  ];
  return sortObjects(objects.filter((o): o is KubeObject => o !== undefined));
}

/**
 * Everything that must hold before anything is applied: the CR's semantic rules, pod overrides
 * that would collide with the operator's, and the rendered config.json against the data plane's
 * own schema. Non-empty → Stalled=True, reason InvalidSpec, no partial applies.
 */
export function validateDesired(cluster: Readonly<AITransportCluster>): FieldError[] {
  if (!cluster.metadata.namespace)
    return [fieldError('metadata.namespace', 'Required', 'the cluster has no namespace')];
  return [...validateCluster(cluster), ...validatePodOverrides(cluster), ...validateNodeConfig(cluster)];
}
