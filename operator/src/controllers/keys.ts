// Work-queue keys (`<Kind>/<namespace>/<name>`) and the mapping of a child's watch event to the
// cluster that owns it: its controller ownerReference, or — for children in another namespace,
// which cannot carry one — the aitransport.io/cluster labels.
import { LABEL, LABEL_VALUE } from '../api/labels.ts';
import { CHANNEL_POLICY_KIND } from '../api/v1alpha1/channelpolicy.ts';
import { CLUSTER_KIND } from '../api/v1alpha1/cluster.ts';
import { GROUP } from '../api/v1alpha1/meta.ts';
import type { KubeObject } from '../render/meta.ts';

export type ReconcileKind = typeof CLUSTER_KIND | typeof CHANNEL_POLICY_KIND;

export interface ObjectName {
  readonly namespace: string;
  readonly name: string;
}

export function keyOf(kind: ReconcileKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function parseKey(key: string): { kind: ReconcileKind; namespace: string; name: string } {
  const [kind, namespace, name, ...rest] = key.split('/');
  if ((kind !== CLUSTER_KIND && kind !== CHANNEL_POLICY_KIND) || !namespace || !name || rest.length > 0) {
    throw new TypeError(`not a work-queue key: ${key}`);
  }
  return { kind, namespace, name };
}

/** The AITransportCluster a child belongs to, if any. */
export function ownerCluster(child: KubeObject): ObjectName | undefined {
  const ns = child.metadata?.namespace;
  const ref = child.metadata?.ownerReferences?.find(
    (r) => r.controller && r.kind === CLUSTER_KIND && r.apiVersion.startsWith(`${GROUP}/`),
  );
  if (ref && ns) return { namespace: ns, name: ref.name };
  const labels = child.metadata?.labels ?? {};
  const name = labels[LABEL.cluster];
  const namespace = labels[LABEL.clusterNamespace];
  if (name && namespace) return { namespace, name };
  return undefined;
}

/**
 * The cluster of a pod: the StatefulSet owns it (not the cluster), so by the labels every pod
 * template of ours carries (instance + managed-by), in the pod's namespace.
 */
export function podCluster(pod: KubeObject): ObjectName | undefined {
  const labels = pod.metadata?.labels ?? {};
  const ns = pod.metadata?.namespace;
  const name = labels[LABEL.instance];
  if (!ns || !name || labels[LABEL.managedBy] !== LABEL_VALUE.managedBy) return undefined;
  return { namespace: ns, name };
}

/** Whether `child` belongs to this very cluster object (uid checked: never a same-named predecessor's child). */
export function isOwnedBy(child: KubeObject, cluster: { uid?: string; name: string; namespace: string }): boolean {
  const refs = child.metadata?.ownerReferences ?? [];
  if (refs.some((r) => r.controller && r.kind === CLUSTER_KIND && r.uid === cluster.uid)) return true;
  const labels = child.metadata?.labels ?? {};
  return (
    refs.length === 0 &&
    labels[LABEL.cluster] === cluster.name &&
    labels[LABEL.clusterNamespace] === cluster.namespace &&
    child.metadata?.namespace !== cluster.namespace
  );
}
