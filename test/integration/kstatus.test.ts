// kstatus compatibility: the status the operator writes for the example CRs, in the situations
// a cluster goes through, read by the kstatus rules that Flux, kpt/cli-utils apply-wait and Argo
// CD-style health checks rely on. The rules are implemented below as a small pure checker,
// after sigs.k8s.io/cli-utils pkg/kstatus (status/generic.go and its README):
//
// 1. metadata.deletionTimestamp set → Terminating;
// 2. metadata.generation ≠ status.observedGeneration (when both are set) → InProgress;
// 3. the first condition in the list that is `Reconciling=True` → InProgress, or `Stalled=True`
//    → Failed ("abnormal-true": absent or False means normal);
// 4. otherwise, for a custom resource with a `Ready` condition: True → Current, False → InProgress;
// 5. otherwise Current.
//
// On top of what kstatus computes, the conventions we promise (docs/controller.md): Reconciling and
// Stalled are never True together (so the order of conditions cannot change the answer); a cluster
// that is not Ready has one of them True (so a reader that ignores Ready still never sees Current);
// every condition carries the generation it was computed for; reasons are CamelCase.
// Pure (no process is started): it sits with the integration suites because it checks
// operator/src against an outside convention.
import { describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../../operator/src/api/v1alpha1/cluster.ts';
import type { Condition } from '../../operator/src/api/v1alpha1/meta.ts';
import {
  type ClusterObservation,
  computeClusterStatus,
  computePausedStatus,
  type StatefulSetView,
} from '../../operator/src/controllers/cluster-status.ts';
import { computePolicyStatus, type PolicyObservation } from '../../operator/src/controllers/policy-status.ts';
import { loadCluster, loadPolicy } from '../../operator/src/render/fixtures.ts';

// ---------------------------------------------------------------- the kstatus checker

type KStatus = 'InProgress' | 'Failed' | 'Current' | 'Terminating';

interface Resource {
  readonly metadata: { readonly generation?: number; readonly deletionTimestamp?: string };
  readonly status?: { readonly observedGeneration?: number; readonly conditions?: readonly Condition[] };
}

function kstatus(r: Resource): { status: KStatus; reason: string } {
  if (r.metadata.deletionTimestamp) return { status: 'Terminating', reason: 'deletionTimestamp' };
  const gen = r.metadata.generation;
  const observed = r.status?.observedGeneration;
  if (gen !== undefined && observed !== undefined && gen !== observed) {
    return { status: 'InProgress', reason: 'LatestGenerationNotObserved' };
  }
  const conditions = r.status?.conditions ?? [];
  for (const c of conditions) {
    if (c.type === 'Reconciling' && c.status === 'True') return { status: 'InProgress', reason: c.reason };
    if (c.type === 'Stalled' && c.status === 'True') return { status: 'Failed', reason: c.reason };
  }
  const ready = conditions.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return { status: 'Current', reason: ready.reason };
  if (ready?.status === 'False') return { status: 'InProgress', reason: ready.reason };
  return { status: 'Current', reason: 'NoConditions' };
}

/** The conventions beyond kstatus that our status promises; returns the broken ones. */
function conventionViolations(r: Resource, expectObservedGeneration = true): string[] {
  const out: string[] = [];
  const gen = r.metadata.generation;
  const conditions = r.status?.conditions ?? [];
  const is = (type: string) => conditions.find((c) => c.type === type)?.status;
  if (expectObservedGeneration && r.status?.observedGeneration !== gen) out.push('observedGeneration ≠ generation');
  if (is('Reconciling') === 'True' && is('Stalled') === 'True') out.push('Reconciling and Stalled both True');
  if (is('Ready') !== 'True' && is('Reconciling') !== 'True' && is('Stalled') !== 'True') {
    out.push('not Ready, but neither Reconciling nor Stalled is True');
  }
  if (is('Ready') === 'True' && (is('Reconciling') === 'True' || is('Stalled') === 'True')) {
    out.push('Ready while Reconciling or Stalled');
  }
  const types = new Set<string>();
  for (const c of conditions) {
    if (types.has(c.type)) out.push(`duplicate condition ${c.type}`);
    types.add(c.type);
    if (!['True', 'False', 'Unknown'].includes(c.status)) out.push(`${c.type}: status ${c.status}`);
    if (!/^[A-Z][A-Za-z0-9]*$/.test(c.reason))
      out.push(`${c.type}: reason ${JSON.stringify(c.reason)} is not CamelCase`);
    if (Number.isNaN(Date.parse(c.lastTransitionTime))) out.push(`${c.type}: lastTransitionTime`);
    if (c.observedGeneration !== gen && expectObservedGeneration) {
      out.push(`${c.type}: observedGeneration ${c.observedGeneration} ≠ ${gen}`);
    }
  }
  return out;
}

describe('the kstatus checker', () => {
  const cond = (type: string, status: Condition['status'], reason = 'R'): Condition => ({
    type,
    status,
    reason,
    message: '',
    lastTransitionTime: '2026-01-01T00:00:00Z',
    observedGeneration: 1,
  });
  it.each<[string, Resource, KStatus]>([
    ['deleting', { metadata: { generation: 1, deletionTimestamp: 'x' } }, 'Terminating'],
    ['generation not observed', { metadata: { generation: 2 }, status: { observedGeneration: 1 } }, 'InProgress'],
    ['Reconciling=True', { metadata: {}, status: { conditions: [cond('Reconciling', 'True')] } }, 'InProgress'],
    ['Stalled=True', { metadata: {}, status: { conditions: [cond('Stalled', 'True')] } }, 'Failed'],
    ['Ready=False only', { metadata: {}, status: { conditions: [cond('Ready', 'False')] } }, 'InProgress'],
    ['Ready=True', { metadata: {}, status: { conditions: [cond('Ready', 'True')] } }, 'Current'],
    ['no conditions', { metadata: {} }, 'Current'],
    [
      'first abnormal condition wins',
      { metadata: {}, status: { conditions: [cond('Stalled', 'True'), cond('Reconciling', 'True')] } },
      'Failed',
    ],
  ])('%s → %s', (_n, r, want) => {
    expect(kstatus(r).status).toBe(want);
  });

  it('flags broken conventions (the checks below can fail)', () => {
    const r: Resource = {
      metadata: { generation: 2 },
      status: {
        observedGeneration: 2,
        conditions: [cond('Reconciling', 'True'), cond('Stalled', 'True', 'not camel')],
      },
    };
    expect(conventionViolations(r)).toEqual([
      'Reconciling and Stalled both True',
      'Reconciling: observedGeneration 1 ≠ 2',
      'Stalled: reason "not camel" is not CamelCase',
      'Stalled: observedGeneration 1 ≠ 2',
    ]);
  });
});

// ---------------------------------------------------------------- the operator's status

const NOW = '2026-03-01T10:00:00Z';

function sts(
  replicas: number,
  s: Partial<NonNullable<StatefulSetView['status']>> = {},
  generation = 1,
): StatefulSetView {
  return {
    metadata: { generation },
    spec: { replicas },
    status: {
      observedGeneration: generation,
      replicas,
      readyReplicas: replicas,
      updatedReplicas: replicas,
      currentRevision: 'rev-1',
      updateRevision: 'rev-1',
      ...s,
    },
  };
}

interface Situation {
  readonly name: string;
  readonly o: (base: ClusterObservation, replicas: number) => Partial<ClusterObservation>;
  readonly want: KStatus;
}

const SITUATIONS: readonly Situation[] = [
  { name: 'all pods ready', o: () => ({}), want: 'Current' },
  { name: 'first apply, no StatefulSet yet', o: () => ({ statefulSet: undefined }), want: 'InProgress' },
  {
    name: 'StatefulSet controller behind the spec',
    o: (_b, n) => ({ statefulSet: sts(n, { observedGeneration: 1 }, 2) }),
    want: 'InProgress',
  },
  {
    name: 'rolling update half way',
    o: (_b, n) => ({ statefulSet: sts(n, { updatedReplicas: Math.floor(n / 2), updateRevision: 'rev-2' }) }),
    want: 'InProgress',
  },
  { name: 'pods starting', o: (_b, n) => ({ statefulSet: sts(n, { readyReplicas: 0 }) }), want: 'InProgress' },
  {
    name: 'invalid spec',
    o: () => ({
      outcome: { kind: 'invalid', errors: [{ field: 'spec.replicas', type: 'Invalid', message: 'must be ≥ 0' }] },
      production: undefined,
    }),
    want: 'Failed',
  },
  {
    name: 'apply rejected (4xx)',
    o: () => ({ outcome: { kind: 'applyFailed', message: 'while applying StatefulSet: 422', permanent: true } }),
    want: 'Failed',
  },
  {
    name: 'apply failing transiently (retried)',
    o: () => ({ outcome: { kind: 'applyFailed', message: 'while applying StatefulSet: 503', permanent: false } }),
    want: 'InProgress',
  },
  {
    name: 'referenced Secret missing',
    o: () => ({ missingSecrets: ['Secret chat-apps (spec.apps[0].secretRef) not found'] }),
    want: 'Failed',
  },
  {
    name: 'monitoring CRDs missing (not a reconcile state)',
    o: () => ({ monitoring: { kind: 'CRDsMissing', message: 'no CRDs' } }),
    want: 'Current',
  },
];

describe.each([
  ['cluster-minimal.yaml', false],
  ['cluster-production.yaml', true],
])('AITransportCluster %s', (file, managedRedis) => {
  const cluster = loadCluster(file);
  const replicas = cluster.spec.replicas;
  const generation = 4;
  const base: ClusterObservation = {
    generation,
    now: NOW,
    previous: undefined,
    spec: { version: cluster.spec.version, replicas },
    selector: 'app.kubernetes.io/instance=x',
    outcome: { kind: 'applied' },
    statefulSet: sts(replicas),
    ...(managedRedis ? { redis: { managed: true, statefulSet: sts(1), endpoint: 'chat-redis:6379' } } : {}),
    monitoring: { kind: 'CRDsPresent', message: 'applied' },
    missingSecrets: [],
    production: { ready: true, missing: [] },
  };
  const resource = (status: ClusterStatus, gen = generation): Resource => ({ metadata: { generation: gen }, status });

  it.each(SITUATIONS.map((s) => [s.name, s] as const))('%s', (_n, s) => {
    const status = computeClusterStatus({ ...base, ...s.o(base, replicas) });
    const r = resource(status);
    expect(conventionViolations(r)).toEqual([]);
    expect(kstatus(r).status).toBe(s.want);
  });

  if (managedRedis) {
    it('managed Redis not ready yet → InProgress', () => {
      const status = computeClusterStatus({
        ...base,
        redis: { managed: true, statefulSet: sts(1, { readyReplicas: 0 }), endpoint: 'chat-redis:6379' },
      });
      expect(conventionViolations(resource(status))).toEqual([]);
      expect(kstatus(resource(status))).toEqual({ status: 'InProgress', reason: 'RedisNotReady' });
    });
  }

  it('walks a version upgrade: Current → InProgress while rolling → Current, re-using the previous status', () => {
    let status = computeClusterStatus(base);
    expect(kstatus(resource(status)).status).toBe('Current');
    const seen: KStatus[] = [];
    const steps = [...new Set([0, Math.floor(replicas / 2), replicas])].map((updated) =>
      sts(replicas, {
        updatedReplicas: updated,
        updateRevision: 'rev-2',
        currentRevision: updated === replicas ? 'rev-2' : 'rev-1',
      }),
    );
    for (const statefulSet of steps) {
      status = computeClusterStatus({
        ...base,
        generation: generation + 1,
        previous: status,
        spec: { version: '0.2.0', replicas },
        statefulSet,
      });
      const r = resource(status, generation + 1);
      expect(conventionViolations(r)).toEqual([]);
      seen.push(kstatus(r).status);
    }
    expect(seen.at(-1)).toBe('Current');
    expect(seen.slice(0, -1).every((s) => s === 'InProgress')).toBe(true);
    expect(status.currentVersion).toBe('0.2.0');
  });

  it('a degraded cluster (pods lost after being ready) is InProgress, never Current', () => {
    const ready = computeClusterStatus(base);
    const lost = computeClusterStatus({
      ...base,
      previous: ready,
      statefulSet: sts(replicas, { readyReplicas: replicas - 1 }),
    });
    expect(conventionViolations(resource(lost))).toEqual([]);
    expect(kstatus(resource(lost)).status).toBe('InProgress');
  });

  it('paused with a new spec: observedGeneration stays behind, so kstatus reports InProgress', () => {
    const ready = computeClusterStatus(base);
    const paused = computePausedStatus({
      generation: generation + 1,
      now: NOW,
      previous: ready,
      reason: 'SpecPaused',
      message: 'spec.paused is true',
    });
    expect(paused.observedGeneration).toBe(generation);
    expect(kstatus(resource(paused, generation + 1))).toEqual({
      status: 'InProgress',
      reason: 'LatestGenerationNotObserved',
    });
    expect(conventionViolations(resource(paused, generation + 1), false)).toEqual([]);
  });

  it('a status computed before the CR changed reads as InProgress until the operator catches up', () => {
    const status = computeClusterStatus(base);
    expect(kstatus(resource(status, generation + 1)).status).toBe('InProgress');
  });
});

describe('ChannelPolicy channelpolicy-ai.yaml', () => {
  const policy = loadPolicy('channelpolicy-ai.yaml');
  const generation = 2;
  const base: PolicyObservation = {
    generation,
    now: NOW,
    previous: undefined,
    cluster: { kind: 'ok', configMap: `${policy.spec.clusterRef.name}-config` },
    errors: [],
    hash: 'h1',
    inConfigMap: true,
  };
  it.each<[string, Partial<PolicyObservation>, KStatus]>([
    ['applied to the ConfigMap', {}, 'Current'],
    ['waiting for the cluster reconcile', { inConfigMap: false }, 'InProgress'],
    ['cluster not found', { cluster: { kind: 'missing', name: 'chat' } }, 'InProgress'],
    ['cluster not reconciled', { cluster: { kind: 'notReconciled', why: 'the cluster is paused' } }, 'InProgress'],
    ['invalid spec', { errors: [{ field: 'spec.rollup.windowMs', type: 'Invalid', message: 'bad' }] }, 'Failed'],
  ])('%s → %s', (_n, o, want) => {
    const status = computePolicyStatus({ ...base, ...o });
    const r: Resource = { metadata: { generation }, status };
    expect(kstatus(r).status).toBe(want);
    // ChannelPolicy has no Reconciling condition: a not-Ready policy relies on the Ready fallback.
    const violations = conventionViolations(r).filter(
      (v) => v !== 'not Ready, but neither Reconciling nor Stalled is True',
    );
    expect(violations).toEqual([]);
  });
});
