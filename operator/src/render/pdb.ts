// PodDisruptionBudget `<name>`: at most maxUnavailable data-plane pods down through voluntary
// disruptions. AlwaysAllow lets node drains evict pods that are already unhealthy, so a broken
// pod never blocks node maintenance.
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import { applyMeta, childMeta, selectorLabels, withInputHash } from './meta.ts';
import { pdbName } from './names.ts';

export function renderPodDisruptionBudget(c: Readonly<AITransportCluster>): V1PodDisruptionBudget | undefined {
  const d = c.spec.disruption;
  if (!d.enabled) return undefined;
  return applyMeta(
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      spec: {
        maxUnavailable: d.maxUnavailable,
        selector: { matchLabels: selectorLabels(c, 'dataplane') },
        unhealthyPodEvictionPolicy: d.unhealthyPodEvictionPolicy,
      },
    },
    ...childMeta(c, pdbName(c), 'dataplane'),
    withInputHash(),
  );
}
