// Every label, annotation and pod-condition key the operator reads or writes. No other file
// holds these strings (labels.test.ts greps for them), and docs/labels-annotations.md is
// generated from KEY_DOCS below (STYLE.md 20, after CNPG pkg/utils/labels_annotations.go).

/** The API group; also the prefix of our own keys. */
export const KEY_PREFIX = 'aitransport.io';

/** Labels the operator sets on children (and reads back to map events to their cluster). */
export const LABEL = {
  /** app.kubernetes.io/name: always `aitransport` on data-plane children, `redis` on managed Redis. */
  name: 'app.kubernetes.io/name',
  /** app.kubernetes.io/instance: the AITransportCluster name. */
  instance: 'app.kubernetes.io/instance',
  /** app.kubernetes.io/component: dataplane | metrics | redis | monitoring | config. */
  component: 'app.kubernetes.io/component',
  /** app.kubernetes.io/part-of: always `aitransport`. */
  partOf: 'app.kubernetes.io/part-of',
  /** app.kubernetes.io/managed-by: always `aitransport-operator`; informers filter on it. */
  managedBy: 'app.kubernetes.io/managed-by',
  /** app.kubernetes.io/version: the data-plane version (never part of a selector). */
  version: 'app.kubernetes.io/version',
  /** aitransport.io/cluster: the owning cluster, also on objects that cannot carry an ownerReference (other namespace). */
  cluster: 'aitransport.io/cluster',
  /** aitransport.io/cluster-namespace: namespace of the owning cluster, on objects in another namespace. */
  clusterNamespace: 'aitransport.io/cluster-namespace',
  /** kubernetes.io/metadata.name: set by Kubernetes on every Namespace; NetworkPolicies select namespaces by it. */
  namespaceName: 'kubernetes.io/metadata.name',
  /** kubernetes.io/hostname: well-known node label; the default pod anti-affinity spreads over it. */
  hostname: 'kubernetes.io/hostname',
  /** controller-revision-hash: set by the StatefulSet controller on each pod; the revision the pod runs. */
  revisionHash: 'controller-revision-hash',
} as const;

/** Annotations, on the CR, on children, or on pods. */
export const ANNOTATION = {
  /** sha256 of a rendered child; the apply is skipped when the live object carries the same value. */
  inputHash: 'aitransport.io/input-hash',
  /** sha256 of the restart-requiring config (config.json) on the pod template: a change rolls the pods. */
  configHash: 'aitransport.io/config-hash',
  /** `disabled` on a CR stops reconciliation of that object (the children stay as they are). */
  reconcile: 'aitransport.io/reconcile',
  /** `"true"` on a CR: hard pause, like spec.paused; condition ReconciliationPaused. */
  pauseReconciliation: 'aitransport.io/pause-reconciliation',
  /** A timestamp on the CR; copied into the pod template, so a new value rolls the pods through the drain path. */
  restartedAt: 'aitransport.io/restartedAt',
  /** `delete-pod` on a data-plane pod: drain this pod, then delete it (one-off). */
  drain: 'aitransport.io/drain',
  /** Set by the operator on a pod when its drain finished (crash-recovery marker of the rollout). */
  drainedAt: 'aitransport.io/drained-at',
  /** sha256 of the rendered pod template, on the StatefulSet: a new value starts a rollout (partition held). */
  templateHash: 'aitransport.io/template-hash',
  /** `"true"` on the CR: finish the step in flight, then start no further rollout step. */
  pauseRollout: 'aitransport.io/pause-rollout',
  /** `<updateRevision>/<pod>` on the CR releases the next step of a Supervised rollout. */
  approveStep: 'aitransport.io/approve-step',
  /** `<pod>` on the CR: break-glass, let a stuck rollout proceed past that pod's health gate. */
  skipHealthGate: 'aitransport.io/skip-health-gate',
  /** `"true"` on the CR: allow delete (orphaning pods) + recreate of the StatefulSet on an immutable-field change. */
  recreateStatefulSet: 'aitransport.io/recreate-statefulset',
  /** A token on a ChannelPolicy: manual reset request for kubectl users (spec.reset.request.token is preferred). */
  resetToken: 'aitransport.io/reset-token',
  /** Pod-template annotation naming the container `kubectl logs/exec` pick by default. */
  defaultContainer: 'kubectl.kubernetes.io/default-container',
} as const;

/** Pod condition types (readiness gates). */
export const POD_CONDITION = {
  /** With upgrade.drain.method=ReadinessGate: the operator sets it False to take a pod out of the Services. */
  serving: 'aitransport.io/serving',
} as const;

export type LabelName = keyof typeof LABEL;
export type AnnotationName = keyof typeof ANNOTATION;

export interface KeyDoc {
  /** Where the key appears. */
  on: string;
  /** Who writes it. */
  setBy: 'operator' | 'user' | 'Kubernetes';
  doc: string;
}

/** The documentation of every key; typed so a key without docs does not compile. */
export const KEY_DOCS: {
  label: Record<LabelName, KeyDoc>;
  annotation: Record<AnnotationName, KeyDoc>;
  podCondition: Record<keyof typeof POD_CONDITION, KeyDoc>;
} = {
  label: {
    name: {
      on: 'every child and its pods',
      setBy: 'operator',
      doc: '`aitransport` (data plane) or `redis` (managed Redis).',
    },
    instance: { on: 'every child and its pods', setBy: 'operator', doc: 'Name of the owning AITransportCluster.' },
    component: {
      on: 'every child and its pods',
      setBy: 'operator',
      doc: '`dataplane`, `metrics`, `redis`, `config` or `monitoring`; part of the pod selectors.',
    },
    partOf: { on: 'every child', setBy: 'operator', doc: 'Always `aitransport`.' },
    managedBy: {
      on: 'every child',
      setBy: 'operator',
      doc: 'Always `aitransport-operator`; the operator watches only objects carrying it.',
    },
    version: {
      on: 'data-plane children and pods',
      setBy: 'operator',
      doc: 'Data-plane version (`spec.version`); never part of a selector.',
    },
    cluster: {
      on: 'children in another namespace (ServiceMonitor)',
      setBy: 'operator',
      doc: 'Owning cluster name, where an ownerReference cannot be used; the operator deletes these itself.',
    },
    clusterNamespace: {
      on: 'children in another namespace (ServiceMonitor)',
      setBy: 'operator',
      doc: 'Namespace of the owning cluster, with `aitransport.io/cluster`.',
    },
    namespaceName: {
      on: 'Namespaces',
      setBy: 'Kubernetes',
      doc: 'The namespace name; the rendered NetworkPolicy selects the operator namespace by it.',
    },
    hostname: {
      on: 'Nodes',
      setBy: 'Kubernetes',
      doc: 'Node name; without affinity or spread constraints in the CR, data-plane pods prefer distinct nodes by it.',
    },
    revisionHash: {
      on: 'data-plane Pods',
      setBy: 'Kubernetes',
      doc: 'StatefulSet revision the pod runs; the rollout compares it with the StatefulSet `updateRevision`.',
    },
  },
  annotation: {
    inputHash: {
      on: 'every child',
      setBy: 'operator',
      doc: 'sha256 of the rendered object; the apply is skipped when the live object has the same hash.',
    },
    configHash: {
      on: 'data-plane pod template',
      setBy: 'operator',
      doc: 'sha256 of `config.json` (settings that need a restart); a change rolls the pods. Channel policies are hot-reloaded and not part of it.',
    },
    reconcile: {
      on: 'AITransportCluster, ChannelPolicy',
      setBy: 'user',
      doc: '`disabled`: the operator leaves the object and its children alone.',
    },
    pauseReconciliation: {
      on: 'AITransportCluster',
      setBy: 'user',
      doc: '`"true"`: same as `spec.paused`; condition `ReconciliationPaused=True`.',
    },
    restartedAt: {
      on: 'AITransportCluster (copied to the pod template)',
      setBy: 'user',
      doc: 'Any new value (a timestamp) starts a rolling restart through the normal drain path.',
    },
    drain: { on: 'data-plane Pod', setBy: 'user', doc: '`delete-pod`: drain this pod, then delete it (one-off).' },
    drainedAt: {
      on: 'data-plane Pod',
      setBy: 'operator',
      doc: 'RFC 3339 time the drain (and flush) of this pod finished; lets a restarted operator resume a rollout step. A pod carrying it is restarted next.',
    },
    templateHash: {
      on: 'data-plane StatefulSet',
      setBy: 'operator',
      doc: 'sha256 of the rendered pod template; when it changes the template is applied with the partition held at `replicas`, and the rollout steps it down.',
    },
    pauseRollout: {
      on: 'AITransportCluster',
      setBy: 'user',
      doc: '`"true"`: the rollout finishes the pod in flight (a drained pod is always restarted), then starts no further step; children are still reconciled.',
    },
    approveStep: {
      on: 'AITransportCluster',
      setBy: 'user',
      doc: '`<updateRevision>/<pod>` (as in `status.rollout.message`): releases that pod of a `Supervised` upgrade.',
    },
    skipHealthGate: {
      on: 'AITransportCluster',
      setBy: 'user',
      doc: '`<pod>`: break-glass, treat that pod as healthy in the cluster gate and its verification (clears a stall on it).',
    },
    recreateStatefulSet: {
      on: 'AITransportCluster',
      setBy: 'user',
      doc: '`"true"`: allow delete (orphaning the pods) and recreate of the StatefulSet when an immutable field changes; otherwise the cluster is Stalled.',
    },
    resetToken: {
      on: 'ChannelPolicy',
      setBy: 'user',
      doc: 'A new token requests a manual history reset of the matched reset-required channels (`spec.reset.request.token` is the GitOps way).',
    },
    defaultContainer: {
      on: 'data-plane pod template',
      setBy: 'operator',
      doc: '`dataplane`: the container `kubectl logs` and `kubectl exec` use by default.',
    },
  },
  podCondition: {
    serving: {
      on: 'data-plane Pod (readiness gate)',
      setBy: 'operator',
      doc: 'Only with `upgrade.drain.method: ReadinessGate`: `False` takes the pod out of the Services before it is drained.',
    },
  },
};

/** Constant label values the operator writes. */
export const LABEL_VALUE = {
  appName: 'aitransport',
  partOf: 'aitransport',
  managedBy: 'aitransport-operator',
  redisName: 'redis',
} as const;
