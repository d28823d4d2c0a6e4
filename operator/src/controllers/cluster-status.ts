// The status of an AITransportCluster, computed from what the controller observed (pure, no
// clock: `now` is passed in). Conditions follow kstatus: Reconciling and Stalled are
// "abnormal-true" (True only while something is in progress or stuck), every condition carries
// the generation it was computed for, and observedGeneration says which spec the status is for.
import { type FieldError, formatFieldErrors } from '../api/field-error.ts';
import type { ClusterConditionType, ClusterStatus } from '../api/v1alpha1/cluster.ts';
import type { Condition } from '../api/v1alpha1/meta.ts';
import { type ConditionUpdate, findCondition, isTrue, setConditions } from './conditions.ts';
import type { DataPlaneStatus } from './dataplane.ts';
import type { Readiness } from './production-ready.ts';

/** Condition types, in the order they are written (CLUSTER_CONDITION_TYPES of the API). */
export const CONDITION = {
  ready: 'Ready',
  reconciling: 'Reconciling',
  stalled: 'Stalled',
  upgrading: 'Upgrading',
  degraded: 'Degraded',
  paused: 'ReconciliationPaused',
  monitoring: 'MonitoringReady',
  production: 'ProductionReady',
} as const satisfies Record<string, ClusterConditionType>;

/** The StatefulSet fields status reads (live object from the cache or the apply answer). */
export interface StatefulSetView {
  readonly metadata?: { readonly generation?: number };
  readonly spec?: { readonly replicas?: number };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly readyReplicas?: number;
    readonly updatedReplicas?: number;
    readonly currentRevision?: string;
    readonly updateRevision?: string;
  };
}

export type Outcome =
  /** Every child applied (or unchanged). */
  | { readonly kind: 'applied' }
  /** Validation failed: nothing applied. */
  | { readonly kind: 'invalid'; readonly errors: readonly FieldError[] }
  /** An apply failed; permanent = the API server rejected it (4xx), else it will be retried. */
  | { readonly kind: 'applyFailed'; readonly message: string; readonly permanent: boolean };

export type MonitoringState =
  | { readonly kind: 'Disabled'; readonly message: string }
  | { readonly kind: 'CRDsMissing'; readonly message: string }
  | { readonly kind: 'CRDsPresent'; readonly message: string };

export interface ClusterObservation {
  readonly generation: number;
  readonly now: string;
  readonly previous: ClusterStatus | undefined;
  /** spec.version and spec.replicas (undefined when the spec did not parse). */
  readonly spec?: { readonly version: string; readonly replicas: number };
  readonly selector?: string;
  readonly outcome: Outcome;
  readonly statefulSet: StatefulSetView | undefined;
  /** Managed Redis: its StatefulSet (ready when one pod is); External: only the endpoint. */
  readonly redis?: { readonly managed: boolean; readonly statefulSet?: StatefulSetView; readonly endpoint?: string };
  readonly monitoring: MonitoringState;
  readonly missingSecrets: readonly string[];
  /** Undefined when the spec is invalid (cannot be judged). */
  readonly production: Readiness | undefined;
  /** This pass's rollout plan; undefined when the spec is invalid (status.rollout is kept). */
  readonly rollout?: {
    readonly status: NonNullable<ClusterStatus['rollout']>;
    readonly upgrading: boolean;
    readonly stalled?: { readonly reason: string; readonly message: string };
  };
  /** status.dataPlane as summarized this pass (dataplane.ts). */
  readonly dataPlane?: DataPlaneStatus;
  /** Pods whose data plane reports its history store unreachable. */
  readonly storeUnreachable?: readonly string[];
}

export interface PauseObservation {
  readonly generation: number;
  readonly now: string;
  readonly previous: ClusterStatus | undefined;
  readonly reason: 'SpecPaused' | 'AnnotationPaused';
  readonly message: string;
}

const t = (type: string, reason: string, message: string): ConditionUpdate => ({
  type,
  status: 'True',
  reason,
  message,
});
const f = (type: string, reason: string, message: string): ConditionUpdate => ({
  type,
  status: 'False',
  reason,
  message,
});

interface Progress {
  readonly ready: boolean;
  readonly reason: string;
  readonly message: string;
  readonly upgrading: boolean;
  /** The StatefulSet controller has seen the latest spec and every pod is at the update revision. */
  readonly settled: boolean;
}

function progressOf(o: ClusterObservation): Progress {
  const sts = o.statefulSet;
  const want = o.spec?.replicas ?? 0;
  if (!sts) {
    return {
      ready: false,
      reason: 'Creating',
      message: 'the StatefulSet is being created',
      upgrading: false,
      settled: false,
    };
  }
  const s = sts.status ?? {};
  const observed = (s.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0);
  const ready = s.readyReplicas ?? 0;
  const updated = s.updatedReplicas ?? 0;
  const upgrading = !!s.updateRevision && !!s.currentRevision && s.updateRevision !== s.currentRevision;
  const settled = observed && !upgrading && updated >= want && (s.replicas ?? 0) === want;
  if (!observed) {
    return {
      ready: false,
      reason: 'Progressing',
      message: 'the StatefulSet controller has not seen the latest spec yet',
      upgrading,
      settled,
    };
  }
  if (upgrading || updated < want) {
    return {
      ready: false,
      reason: 'RollingUpdate',
      message: `${updated}/${want} pods at revision ${s.updateRevision ?? '?'}, ${ready} ready`,
      upgrading: true,
      settled,
    };
  }
  if ((s.replicas ?? 0) !== want || ready < want) {
    return { ready: false, reason: 'PodsNotReady', message: `${ready}/${want} pods ready`, upgrading, settled };
  }
  if (o.redis?.managed && (o.redis.statefulSet?.status?.readyReplicas ?? 0) < 1) {
    return { ready: false, reason: 'RedisNotReady', message: 'the managed Redis pod is not ready', upgrading, settled };
  }
  return {
    ready: true,
    reason: want === 0 ? 'ScaledToZero' : 'AllPodsReady',
    message:
      want === 0
        ? 'spec.replicas is 0'
        : `${ready}/${want} pods ready at revision ${s.updateRevision ?? s.currentRevision ?? '?'}`,
    upgrading,
    settled,
  };
}

function phaseOf(conditions: readonly Condition[]): NonNullable<ClusterStatus['phase']> {
  if (isTrue(conditions, CONDITION.paused)) return 'Paused';
  if (isTrue(conditions, CONDITION.stalled)) return 'Failed';
  if (isTrue(conditions, CONDITION.upgrading)) return 'Upgrading';
  if (isTrue(conditions, CONDITION.degraded)) return 'Degraded';
  if (isTrue(conditions, CONDITION.ready)) return 'Running';
  return 'Pending';
}

export function computeClusterStatus(o: ClusterObservation): ClusterStatus {
  const prev = o.previous;
  const p = progressOf(o);
  let ready: ConditionUpdate;
  let reconciling: ConditionUpdate;
  let stalled: ConditionUpdate = f(CONDITION.stalled, 'AsExpected', '');
  const out = o.outcome;
  if (out.kind === 'invalid') {
    const msg = formatFieldErrors(out.errors);
    ready = f(CONDITION.ready, 'InvalidSpec', msg);
    reconciling = f(CONDITION.reconciling, 'InvalidSpec', 'nothing applied: waiting for a valid spec');
    stalled = t(CONDITION.stalled, 'InvalidSpec', msg);
  } else if (out.kind === 'applyFailed') {
    const reason = out.permanent ? 'ApplyRejected' : 'ApplyFailed';
    ready = f(CONDITION.ready, reason, out.message);
    reconciling = out.permanent
      ? f(
          CONDITION.reconciling,
          reason,
          'the API server rejected a child: fix the spec or the cause; retried with backoff',
        )
      : t(CONDITION.reconciling, reason, `retrying: ${out.message}`);
    if (out.permanent) stalled = t(CONDITION.stalled, reason, out.message);
  } else if (o.missingSecrets.length) {
    const msg = o.missingSecrets.join('; ');
    ready = f(CONDITION.ready, 'SecretsMissing', msg);
    reconciling = f(CONDITION.reconciling, 'SecretsMissing', 'the pods cannot start until the Secrets exist');
    stalled = t(CONDITION.stalled, 'SecretsMissing', msg);
  } else if (p.ready && !o.rollout?.upgrading) {
    ready = t(CONDITION.ready, p.reason, p.message);
    reconciling = f(CONDITION.reconciling, 'ReconciliationSucceeded', '');
  } else {
    const reason = p.ready ? 'RollingUpdate' : p.reason;
    const message = o.rollout?.upgrading ? `${p.message}; ${o.rollout.status.message ?? ''}` : p.message;
    ready = f(CONDITION.ready, reason, message);
    reconciling = t(CONDITION.reconciling, reason, message);
  }
  if (stalled.status === 'False' && o.rollout?.stalled) {
    stalled = t(CONDITION.stalled, o.rollout.stalled.reason, o.rollout.stalled.message);
  }
  const rolling = o.rollout ? o.rollout.upgrading : p.upgrading;
  const upgrading = rolling
    ? t(
        CONDITION.upgrading,
        o.rollout ? o.rollout.status.state : 'RollingUpdate',
        o.rollout?.status.message ?? p.message,
      )
    : f(CONDITION.upgrading, 'NoRollout', '');
  // Degraded: a cluster that was available lost pods without a rollout or spec change explaining it.
  const wasAvailable = isTrue(prev?.conditions, CONDITION.ready) || isTrue(prev?.conditions, CONDITION.degraded);
  const sts = o.statefulSet?.status;
  const podsDown =
    out.kind !== 'invalid' &&
    wasAvailable &&
    p.settled &&
    !p.ready &&
    (sts?.readyReplicas ?? 0) < (o.spec?.replicas ?? 0);
  const dp = o.dataPlane ?? prev?.dataPlane;
  const unreachableStore = o.storeUnreachable ?? [];
  let degraded: ConditionUpdate = f(CONDITION.degraded, 'AsExpected', '');
  if (out.kind === 'invalid') degraded = f(CONDITION.degraded, 'AsExpected', '');
  else if (podsDown)
    degraded = t(
      CONDITION.degraded,
      'PodsUnavailable',
      `${sts?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0} pods ready`,
    );
  else if (unreachableStore.length)
    degraded = t(
      CONDITION.degraded,
      'HistoryStoreUnreachable',
      `the history store is unreachable from ${unreachableStore.join(', ')}: writes that cannot be made durable are refused`,
    );
  else if ((dp?.resetRequiredChannels ?? 0) > 0)
    degraded = t(
      CONDITION.degraded,
      'ChannelsResetRequired',
      `${dp?.resetRequiredChannels} channels need a history reset (see the ChannelPolicies' status, docs/operations.md)`,
    );
  else if ((dp?.degradedChannels ?? 0) > 0)
    degraded = t(CONDITION.degraded, 'ChannelsDegraded', `${dp?.degradedChannels} channels have degraded history`);
  const monitoring =
    o.monitoring.kind === 'CRDsMissing'
      ? f(CONDITION.monitoring, o.monitoring.kind, o.monitoring.message)
      : t(CONDITION.monitoring, o.monitoring.kind, o.monitoring.message);
  const production = o.production
    ? o.production.ready
      ? t(CONDITION.production, 'AllChecksPassed', 'every production checklist item is met')
      : f(CONDITION.production, 'ChecksFailed', `missing: ${o.production.missing.join('; ')}`)
    : { type: CONDITION.production, status: 'Unknown' as const, reason: 'InvalidSpec', message: 'the spec is invalid' };
  const conditions = setConditions(
    prev?.conditions,
    [ready, reconciling, stalled, upgrading, degraded, f(CONDITION.paused, 'NotPaused', ''), monitoring, production],
    o.generation,
    o.now,
  );
  const status: ClusterStatus = {
    observedGeneration: o.generation,
    conditions,
    phase: phaseOf(conditions),
    replicas: sts?.replicas ?? 0,
    readyReplicas: sts?.readyReplicas ?? 0,
    updatedReplicas: sts?.updatedReplicas ?? 0,
  };
  if (o.selector) status.selector = o.selector;
  if (o.spec) status.targetVersion = o.spec.version;
  const currentVersion =
    p.ready && !p.upgrading && !o.rollout?.upgrading && o.spec ? o.spec.version : prev?.currentVersion;
  if (currentVersion) status.currentVersion = currentVersion;
  if (sts?.currentRevision) status.currentRevision = sts.currentRevision;
  if (sts?.updateRevision) status.updateRevision = sts.updateRevision;
  if (o.redis) {
    status.redis = {
      ...(o.redis.endpoint ? { endpoint: o.redis.endpoint } : {}),
      ...(o.redis.managed ? { ready: (o.redis.statefulSet?.status?.readyReplicas ?? 0) >= 1 } : {}),
    };
  }
  const rollout = o.rollout?.status ?? prev?.rollout;
  if (rollout) status.rollout = rollout;
  if (dp) status.dataPlane = dp;
  return status;
}

/**
 * A paused cluster: only ReconciliationPaused changes (with the current generation); the rest
 * stays as last computed, and observedGeneration is NOT advanced, so kstatus and Argo CD show
 * that the current spec has not been acted on.
 */
export function computePausedStatus(o: PauseObservation): ClusterStatus {
  const conditions = setConditions(
    o.previous?.conditions,
    [t(CONDITION.paused, o.reason, o.message)],
    o.generation,
    o.now,
    true,
  );
  return { ...o.previous, conditions, phase: 'Paused' };
}

export function pausedCondition(status: ClusterStatus | undefined): Condition | undefined {
  return findCondition(status?.conditions, CONDITION.paused);
}
