import { describe, expect, it } from 'vitest';
import { CLUSTER_CONDITION_TYPES, type ClusterStatus } from '../api/v1alpha1/cluster.ts';
import {
  type ClusterObservation,
  CONDITION,
  computeClusterStatus,
  computePausedStatus,
  type StatefulSetView,
} from './cluster-status.ts';

const NOW = '2026-01-01T00:00:00Z';
const LATER = '2026-01-01T01:00:00Z';

function sts(s: Partial<NonNullable<StatefulSetView['status']>>, generation = 1): StatefulSetView {
  return {
    metadata: { generation },
    status: { observedGeneration: generation, currentRevision: 'r1', updateRevision: 'r1', ...s },
  };
}
const allReady = (n: number) => sts({ replicas: n, readyReplicas: n, updatedReplicas: n });

function observe(o: Partial<ClusterObservation> = {}): ClusterObservation {
  return {
    generation: 3,
    now: NOW,
    previous: undefined,
    spec: { version: '1.2.3', replicas: 3 },
    selector: 'sel',
    outcome: { kind: 'applied' },
    statefulSet: allReady(3),
    monitoring: { kind: 'CRDsPresent', message: 'ServiceMonitor and PrometheusRule applied' },
    missingSecrets: [],
    production: { ready: true, missing: [] },
    ...o,
  };
}

const cond = (s: ClusterStatus, type: string) => s.conditions?.find((c) => c.type === type);
const summary = (s: ClusterStatus) =>
  Object.fromEntries((s.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('computeClusterStatus', () => {
  const cases: Array<[string, Partial<ClusterObservation>, Record<string, string>, string]> = [
    [
      'all pods ready',
      {},
      {
        Ready: 'True/AllPodsReady',
        Reconciling: 'False/ReconciliationSucceeded',
        Stalled: 'False/AsExpected',
        Upgrading: 'False/NoRollout',
      },
      'Running',
    ],
    [
      'StatefulSet not created yet',
      { statefulSet: undefined },
      { Ready: 'False/Creating', Reconciling: 'True/Creating' },
      'Pending',
    ],
    [
      'controller has not seen the new spec',
      {
        statefulSet: {
          metadata: { generation: 2 },
          status: { observedGeneration: 1, replicas: 3, readyReplicas: 3, updatedReplicas: 3 },
        },
      },
      { Ready: 'False/Progressing', Reconciling: 'True/Progressing' },
      'Pending',
    ],
    [
      'rolling update in progress',
      { statefulSet: sts({ replicas: 3, readyReplicas: 3, updatedReplicas: 1, updateRevision: 'r2' }) },
      { Ready: 'False/RollingUpdate', Reconciling: 'True/RollingUpdate', Upgrading: 'True/RollingUpdate' },
      'Upgrading',
    ],
    [
      'pods not ready yet',
      { statefulSet: sts({ replicas: 3, readyReplicas: 1, updatedReplicas: 3 }) },
      { Ready: 'False/PodsNotReady', Degraded: 'False/AsExpected' },
      'Pending',
    ],
    [
      'drain-aware rollout in progress (the plan says so)',
      {
        rollout: {
          status: { state: 'Draining', reason: 'ClosingConnections', pod: 'demo-2', message: 'draining demo-2' },
          upgrading: true,
        },
        statefulSet: sts({ replicas: 3, readyReplicas: 3, updatedReplicas: 0, updateRevision: 'r2' }),
      },
      { Ready: 'False/RollingUpdate', Reconciling: 'True/RollingUpdate', Upgrading: 'True/Draining' },
      'Upgrading',
    ],
    [
      'rollout stalled at a health gate',
      {
        rollout: {
          status: { state: 'Failed', reason: 'VerifyTimeout', pod: 'demo-2', message: 'demo-2 failed verification' },
          upgrading: true,
          stalled: { reason: 'HealthGateFailed', message: 'demo-2 failed verification' },
        },
        statefulSet: sts({ replicas: 3, readyReplicas: 2, updatedReplicas: 1, updateRevision: 'r2' }),
      },
      { Stalled: 'True/HealthGateFailed', Upgrading: 'True/Failed' },
      'Failed',
    ],
    [
      'reset-required channels reported by the admin API',
      { dataPlane: { connections: 5, resetRequiredChannels: 2, degradedChannels: 0, reachablePods: 3 } },
      { Ready: 'True/AllPodsReady', Degraded: 'True/ChannelsResetRequired' },
      'Degraded',
    ],
    [
      'degraded channels reported by the admin API',
      { dataPlane: { connections: 5, resetRequiredChannels: 0, degradedChannels: 1, reachablePods: 3 } },
      { Degraded: 'True/ChannelsDegraded' },
      'Degraded',
    ],
    [
      'a pod cannot reach the history store',
      { storeUnreachable: ['demo-1'], dataPlane: { resetRequiredChannels: 1, reachablePods: 3 } },
      { Degraded: 'True/HistoryStoreUnreachable' },
      'Degraded',
    ],
    [
      'invalid spec',
      {
        outcome: { kind: 'invalid', errors: [{ field: 'spec.x', type: 'Invalid', message: 'bad' }] },
        production: undefined,
      },
      {
        Ready: 'False/InvalidSpec',
        Reconciling: 'False/InvalidSpec',
        Stalled: 'True/InvalidSpec',
        ProductionReady: 'Unknown/InvalidSpec',
      },
      'Failed',
    ],
    [
      'apply rejected by the API server',
      { outcome: { kind: 'applyFailed', message: 'while applying StatefulSet: 422', permanent: true } },
      { Ready: 'False/ApplyRejected', Reconciling: 'False/ApplyRejected', Stalled: 'True/ApplyRejected' },
      'Failed',
    ],
    [
      'apply failed transiently',
      { outcome: { kind: 'applyFailed', message: 'while applying StatefulSet: 503', permanent: false } },
      { Ready: 'False/ApplyFailed', Reconciling: 'True/ApplyFailed', Stalled: 'False/AsExpected' },
      'Pending',
    ],
    [
      'referenced Secret missing',
      { missingSecrets: ['Secret demo-app (spec.apps[0].secretRef) not found'] },
      { Ready: 'False/SecretsMissing', Stalled: 'True/SecretsMissing' },
      'Failed',
    ],
    [
      'managed Redis not ready',
      { redis: { managed: true, statefulSet: sts({ replicas: 1, readyReplicas: 0 }), endpoint: 'r:6379' } },
      { Ready: 'False/RedisNotReady' },
      'Pending',
    ],
    [
      'scaled to zero',
      { spec: { version: '1.2.3', replicas: 0 }, statefulSet: allReady(0) },
      { Ready: 'True/ScaledToZero' },
      'Running',
    ],
    [
      'monitoring CRDs missing',
      { monitoring: { kind: 'CRDsMissing', message: 'not installed' } },
      { MonitoringReady: 'False/CRDsMissing', Ready: 'True/AllPodsReady' },
      'Running',
    ],
    [
      'monitoring disabled',
      { monitoring: { kind: 'Disabled', message: 'off' } },
      { MonitoringReady: 'True/Disabled' },
      'Running',
    ],
    [
      'production checklist not met',
      { production: { ready: false, missing: ['at least 2 replicas: spec.replicas is 1'] } },
      { ProductionReady: 'False/ChecksFailed' },
      'Running',
    ],
  ];

  it.each(cases)('%s', (_name, o, expected, phase) => {
    const s = computeClusterStatus(observe(o));
    expect(summary(s)).toMatchObject(expected);
    expect(s.phase).toBe(phase);
    expect(s.observedGeneration).toBe(3);
    for (const c of s.conditions ?? []) expect(c.observedGeneration).toBe(3);
  });

  it('writes conditions in a fixed order, ReconciliationPaused False', () => {
    const s = computeClusterStatus(observe());
    expect(s.conditions?.map((c) => c.type)).toEqual([...CLUSTER_CONDITION_TYPES]);
    expect(cond(s, CONDITION.paused)).toMatchObject({ status: 'False', reason: 'NotPaused' });
  });

  it('reports the /scale and version fields', () => {
    const s = computeClusterStatus(
      observe({
        statefulSet: sts({
          replicas: 3,
          readyReplicas: 2,
          updatedReplicas: 3,
          currentRevision: 'a',
          updateRevision: 'a',
        }),
      }),
    );
    expect(s).toMatchObject({
      replicas: 3,
      readyReplicas: 2,
      updatedReplicas: 3,
      selector: 'sel',
      targetVersion: '1.2.3',
      currentRevision: 'a',
      updateRevision: 'a',
    });
    expect(s.currentVersion).toBeUndefined();
    const ready = computeClusterStatus(observe({ previous: { currentVersion: '1.0.0' } }));
    expect(ready.currentVersion).toBe('1.2.3');
    const rolling = computeClusterStatus(
      observe({
        previous: { currentVersion: '1.0.0' },
        statefulSet: sts({ replicas: 3, readyReplicas: 3, updatedReplicas: 1, updateRevision: 'r2' }),
      }),
    );
    expect(rolling).toMatchObject({ currentVersion: '1.0.0', targetVersion: '1.2.3' });
  });

  it('is Degraded when a cluster that was ready loses pods without a rollout', () => {
    const ready = computeClusterStatus(observe());
    const lost = computeClusterStatus(
      observe({ previous: ready, now: LATER, statefulSet: sts({ replicas: 3, readyReplicas: 2, updatedReplicas: 3 }) }),
    );
    expect(cond(lost, CONDITION.degraded)).toMatchObject({
      status: 'True',
      reason: 'PodsUnavailable',
      message: '2/3 pods ready',
    });
    expect(lost.phase).toBe('Degraded');
    // during a rollout the same numbers are not Degraded
    const rolling = computeClusterStatus(
      observe({
        previous: ready,
        statefulSet: sts({ replicas: 3, readyReplicas: 2, updatedReplicas: 2, updateRevision: 'r2' }),
      }),
    );
    expect(cond(rolling, CONDITION.degraded)?.status).toBe('False');
  });

  it('keeps lastTransitionTime of unchanged conditions, so an unchanged cluster gets an identical status', () => {
    const first = computeClusterStatus(observe());
    const again = computeClusterStatus(observe({ previous: first, now: LATER }));
    expect(again).toEqual(first);
  });

  it('keeps the parts later features own (rollout, dataPlane)', () => {
    const previous: ClusterStatus = { rollout: { state: 'Idle' }, dataPlane: { connections: 5 } };
    expect(computeClusterStatus(observe({ previous }))).toMatchObject(previous);
  });
});

describe('computePausedStatus', () => {
  it('sets only ReconciliationPaused and leaves observedGeneration where it was', () => {
    const before = computeClusterStatus(observe());
    const paused = computePausedStatus({
      generation: 4,
      now: LATER,
      previous: before,
      reason: 'SpecPaused',
      message: 'spec.paused',
    });
    expect(paused.observedGeneration).toBe(3);
    expect(paused.phase).toBe('Paused');
    expect(cond(paused, CONDITION.paused)).toMatchObject({
      status: 'True',
      reason: 'SpecPaused',
      observedGeneration: 4,
      lastTransitionTime: LATER,
    });
    expect(cond(paused, CONDITION.ready)).toEqual(cond(before, CONDITION.ready));
    expect(paused.conditions?.map((c) => c.type)).toEqual(before.conditions?.map((c) => c.type));
  });
});
