// The API resources the operator talks to, with their REST paths. A fixed table instead of
// discovery: the operator only ever touches these kinds, and a typo is a TypeError at once.
import { CHANNEL_POLICY_RESOURCE } from '../api/v1alpha1/channelpolicy.ts';
import { CLUSTER_RESOURCE } from '../api/v1alpha1/cluster.ts';
import { GROUP, VERSION } from '../api/v1alpha1/meta.ts';

export interface ResourceType {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const r = (group: string, version: string, kind: string, plural: string, namespaced = true): ResourceType => ({
  group,
  version,
  kind,
  plural,
  namespaced,
});

export const MONITORING_GROUP = 'monitoring.coreos.com';

export const RESOURCE = {
  cluster: r(GROUP, VERSION, CLUSTER_RESOURCE.kind, CLUSTER_RESOURCE.plural),
  channelPolicy: r(GROUP, VERSION, CHANNEL_POLICY_RESOURCE.kind, CHANNEL_POLICY_RESOURCE.plural),
  configMap: r('', 'v1', 'ConfigMap', 'configmaps'),
  secret: r('', 'v1', 'Secret', 'secrets'),
  service: r('', 'v1', 'Service', 'services'),
  serviceAccount: r('', 'v1', 'ServiceAccount', 'serviceaccounts'),
  pod: r('', 'v1', 'Pod', 'pods'),
  namespace: r('', 'v1', 'Namespace', 'namespaces', false),
  statefulSet: r('apps', 'v1', 'StatefulSet', 'statefulsets'),
  podDisruptionBudget: r('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  networkPolicy: r('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies'),
  serviceMonitor: r(MONITORING_GROUP, 'v1', 'ServiceMonitor', 'servicemonitors'),
  prometheusRule: r(MONITORING_GROUP, 'v1', 'PrometheusRule', 'prometheusrules'),
  lease: r('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  event: r('events.k8s.io', 'v1', 'Event', 'events'),
  customResourceDefinition: r(
    'apiextensions.k8s.io',
    'v1',
    'CustomResourceDefinition',
    'customresourcedefinitions',
    false,
  ),
} as const satisfies Record<string, ResourceType>;

export function apiVersionOf(t: ResourceType): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** `/api/v1` or `/apis/<group>/<version>`. */
export function groupVersionPath(t: ResourceType): string {
  return t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
}

/**
 * The REST path of a collection (no name) or of one object, optionally of a subresource.
 * An empty namespace on a namespaced kind means all namespaces (list and watch only).
 */
export function resourcePath(t: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  let p = groupVersionPath(t);
  if (t.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${t.plural}`;
  if (name !== undefined) {
    if (t.namespaced && !namespace) throw new TypeError(`${t.kind} ${name}: a namespace is required`);
    p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
  }
  return p;
}

/** The resource of an object, from its apiVersion and kind; unknown kinds are a programming error. */
export function resourceOf(obj: { apiVersion?: string; kind?: string }): ResourceType {
  for (const t of Object.values(RESOURCE) as ResourceType[]) {
    if (t.kind === obj.kind && apiVersionOf(t) === obj.apiVersion) return t;
  }
  throw new TypeError(`no resource known for ${obj.apiVersion} ${obj.kind}`);
}
