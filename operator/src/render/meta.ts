// Metadata of every child: name, labels, the controller ownerReference and the input-hash
// annotation, applied by small mutators: applyMeta(obj, withName(…), withLabels(…), withOwner(c),
// withInputHash()) (STYLE.md 4, after prometheus-operator's factory).
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { ANNOTATION, LABEL, LABEL_VALUE } from '../api/labels.ts';
import { API_VERSION } from '../api/v1alpha1/meta.ts';
import { hashOf } from './hash.ts';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
}

export type Mutator = (obj: KubeObject) => void;

/** The CR fields meta needs (an AITransportCluster). */
export interface Owner {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly uid?: string };
  readonly spec: { readonly version: string };
}

export type Component = 'dataplane' | 'metrics' | 'redis' | 'config' | 'monitoring';

function meta(obj: KubeObject): V1ObjectMeta {
  obj.metadata ??= {};
  return obj.metadata;
}

/** Runs the mutators, then returns the object with apiVersion, kind and metadata first (readable output). */
export function applyMeta<T extends KubeObject>(obj: T, ...mutators: Mutator[]): T {
  for (const m of mutators) m(obj);
  const { apiVersion, kind, metadata, ...rest } = obj;
  const { name, namespace, labels, annotations, ownerReferences, ...otherMeta } = metadata ?? {};
  const orderedMeta = { name, namespace, labels, annotations, ownerReferences, ...otherMeta };
  for (const k of Object.keys(orderedMeta) as Array<keyof typeof orderedMeta>) {
    if (orderedMeta[k] === undefined) delete orderedMeta[k];
  }
  return { apiVersion, kind, metadata: orderedMeta, ...rest } as T;
}

export const withName =
  (name: string, namespace: string | undefined): Mutator =>
  (obj) => {
    const m = meta(obj);
    m.name = name;
    if (namespace !== undefined) m.namespace = namespace;
  };

/** Merges labels; later mutators win, so operator labels go last. */
export const withLabels =
  (labels: Readonly<Record<string, string>>): Mutator =>
  (obj) => {
    const m = meta(obj);
    m.labels = { ...m.labels, ...labels };
  };

export const withAnnotations =
  (annotations: Readonly<Record<string, string>> | undefined): Mutator =>
  (obj) => {
    if (!annotations || Object.keys(annotations).length === 0) return;
    const m = meta(obj);
    m.annotations = { ...m.annotations, ...annotations };
  };

export function ownerReference(owner: Owner): V1OwnerReference {
  if (!owner.metadata.uid) {
    throw new TypeError(`while rendering ${owner.kind} ${owner.metadata.name}: metadata.uid is missing`);
  }
  return {
    apiVersion: API_VERSION,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The controller ownerReference: garbage collection deletes the child with its cluster. */
export const withOwner =
  (owner: Owner): Mutator =>
  (obj) => {
    meta(obj).ownerReferences = [ownerReference(owner)];
  };

/**
 * The input-hash annotation: sha256 of the rendered object without the annotation itself. Apply
 * it last. The controller skips the apply when the live object carries the same value.
 */
export const withInputHash = (): Mutator => (obj) => {
  const m = meta(obj);
  const { [ANNOTATION.inputHash]: _old, ...rest } = m.annotations ?? {};
  const hash = hashOf({ ...obj, metadata: { ...m, annotations: rest } });
  m.annotations = { ...rest, [ANNOTATION.inputHash]: hash };
};

/** The labels that select the pods of one component of one cluster (immutable once applied). */
export function selectorLabels(owner: Owner, component: Component): Record<string, string> {
  return {
    [LABEL.name]: component === 'redis' ? LABEL_VALUE.redisName : LABEL_VALUE.appName,
    [LABEL.instance]: owner.metadata.name,
    [LABEL.component]: component,
  };
}

/** Selector labels plus the informational ones. */
export function commonLabels(owner: Owner, component: Component): Record<string, string> {
  return {
    ...selectorLabels(owner, component),
    [LABEL.partOf]: LABEL_VALUE.partOf,
    [LABEL.managedBy]: LABEL_VALUE.managedBy,
    ...(component === 'redis' ? {} : { [LABEL.version]: owner.spec.version }),
  };
}

/** `status.selector` of the cluster (for /scale and HPA): the data-plane pod selector as a string. */
export function selectorString(owner: Owner): string {
  const labels = selectorLabels(owner, 'dataplane');
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** The standard metadata of a child in the cluster's namespace. */
export function childMeta(
  owner: Owner,
  name: string,
  component: Component,
  labels?: Record<string, string>,
): Mutator[] {
  return [
    withName(name, owner.metadata.namespace),
    withLabels({ ...labels, ...commonLabels(owner, component) }),
    withOwner(owner),
  ];
}
