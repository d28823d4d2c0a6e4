// NetworkPolicies. `<name>`: the public port 6001 is open; the ops port 9601 (metrics and the
// admin API) only accepts the operator's pods and the configured Prometheus peers
// (STANDARDS.md I5). `<name>-redis`: managed Redis accepts only this cluster's data-plane pods.
// Egress is not restricted (Redis may be external, DNS varies by cluster).
import type {
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicySpec,
} from '@kubernetes/client-node';
import { LABEL } from '../api/labels.ts';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import type { ObservedFacts } from './facts.ts';
import { applyMeta, childMeta, selectorLabels, withInputHash } from './meta.ts';
import { networkPolicyName, PORT, PORT_NAME, redisNetworkPolicyName } from './names.ts';

type Cluster = Readonly<AITransportCluster>;

/**
 * The wire shape of a NetworkPolicy. client-node's model names the `from` field `_from` (its
 * ObjectSerializer renames it); render output is plain API JSON, so the type says `from`. Send
 * rendered objects as JSON, never through ObjectSerializer with the V1NetworkPolicy type.
 */
export type NetworkPolicyIngressRule = Omit<V1NetworkPolicyIngressRule, '_from'> & { from?: V1NetworkPolicyPeer[] };
export type NetworkPolicy = Omit<V1NetworkPolicy, 'spec'> & {
  spec: Omit<V1NetworkPolicySpec, 'ingress'> & { ingress: NetworkPolicyIngressRule[] };
};

function operatorPeer(facts: ObservedFacts): V1NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { [LABEL.namespaceName]: facts.operator.namespace } },
    podSelector: { matchLabels: { ...facts.operator.podLabels } },
  };
}

export function renderNetworkPolicy(c: Cluster, facts: ObservedFacts): NetworkPolicy | undefined {
  const np = c.spec.networkPolicy;
  if (!np.enabled) return undefined;
  return applyMeta(
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      spec: {
        podSelector: { matchLabels: selectorLabels(c, 'dataplane') },
        policyTypes: ['Ingress'],
        ingress: [
          { ports: [{ port: PORT_NAME.http, protocol: 'TCP' }] },
          {
            from: [operatorPeer(facts), ...(np.metricsFrom as V1NetworkPolicyPeer[])],
            ports: [{ port: PORT_NAME.ops, protocol: 'TCP' }],
          },
        ],
      },
    },
    ...childMeta(c, networkPolicyName(c), 'dataplane'),
    withInputHash(),
  );
}

export function renderRedisNetworkPolicy(c: Cluster): NetworkPolicy | undefined {
  if (!c.spec.networkPolicy.enabled || c.spec.redis?.mode !== 'Managed') return undefined;
  return applyMeta(
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      spec: {
        podSelector: { matchLabels: selectorLabels(c, 'redis') },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ podSelector: { matchLabels: selectorLabels(c, 'dataplane') } }],
            ports: [{ port: PORT.redis, protocol: 'TCP' }],
          },
        ],
      },
    },
    ...childMeta(c, redisNetworkPolicyName(c), 'redis'),
    withInputHash(),
  );
}
