// The glue between the cluster reconcile and the planner: what the observation is made of (the
// CR's annotations, the live StatefulSet and PDB), and the operation lock — a disruptive action
// is dropped (partition kept) while a reset holds the cluster.
import type { V1PodDisruptionBudget, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { DrainRequest } from '../../../dataplane/src/server/admin-types.ts';
import { ANNOTATION } from '../api/labels.ts';
import { type AdminApi, AdminApiError, type AdminStatus } from '../dataplane/admin-client.ts';
import { loadCluster } from '../render/fixtures.ts';
import { podTemplateHash } from '../render/statefulset.ts';
import type { PodHealth, PodView } from '../rollout/health.ts';
import { drainPod, isDisruptive, plan, type RolloutInputs, rolloutObservation } from './cluster-rollout.ts';
import type { ReconcileDeps } from './context.ts';
import { clusterLockKey, OperationLocks } from './locks.ts';

// 02:00 UTC: inside the example's maintenance window (01:00-04:59)
const NOW = Date.UTC(2026, 5, 1, 2, 0, 0);

function inputs(annotations: Record<string, string> = {}, partition = 3): RolloutInputs {
  const cluster = loadCluster('cluster-production.yaml', (raw) => {
    (raw.metadata as { annotations?: Record<string, string> }).annotations = annotations;
  });
  const sts: V1StatefulSet = {
    metadata: { generation: 4, annotations: { [ANNOTATION.templateHash]: podTemplateHash(cluster) } },
    spec: {
      replicas: 3,
      selector: {},
      serviceName: 'x',
      template: {},
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition } },
    },
    status: { replicas: 3, observedGeneration: 4, currentRevision: 'chat-a', updateRevision: 'chat-b' },
  };
  const pods: PodView[] = [0, 1, 2].map((i) => ({
    name: `chat-${i}`,
    ordinal: i,
    uid: `u${i}`,
    revision: 'chat-a',
    ready: true,
    readySinceMs: NOW - 3_600_000,
    runningSinceMs: NOW - 3_600_000,
    restartCount: 0,
    terminating: false,
    createdMs: NOW - 3_600_000,
    ip: `10.0.0.${i}`,
  }));
  const healthy: PodHealth = {
    kind: 'ok',
    status: {
      ready: true,
      draining: false,
      uptimeSeconds: 3600,
      connections: 10,
      history: { store: 'redis', reachable: true, resetRequiredChannels: 0, degradedChannels: 0 },
      pipeline: { queueDepth: 0, rollupActiveStreams: 0, rollupHeldBytes: 0, rollupPendingWindows: 0 },
    } as AdminStatus,
  };
  return {
    now: NOW,
    cluster,
    previous: undefined,
    liveSts: sts,
    pdb: { status: { disruptionsAllowed: 1 } } as V1PodDisruptionBudget,
    pods,
    health: new Map(pods.map((p) => [p.name, healthy])),
    resetRunning: false,
  };
}

describe('rolloutObservation', () => {
  it('reads the controls from the annotations and the facts from the live StatefulSet and PDB', () => {
    const o = rolloutObservation(
      inputs({
        [ANNOTATION.pauseRollout]: 'true',
        [ANNOTATION.approveStep]: 'chat-b/chat-2',
        [ANNOTATION.skipHealthGate]: 'chat-1',
      }),
    );
    expect(o.controls).toEqual({ pauseRollout: true, approveStep: 'chat-b/chat-2', skipHealthGate: 'chat-1' });
    expect(o.sts).toEqual({
      generation: 4,
      observedGeneration: 4,
      replicas: 3,
      partition: 3,
      currentRevision: 'chat-a',
      updateRevision: 'chat-b',
      templateChanged: false,
    });
    expect(o.pdbDisruptionsAllowed).toBe(1);
    expect(o.clusterName).toBe('chat');
  });

  it('sees a template change through the template-hash annotation', () => {
    const i = inputs();
    const sts = {
      ...i.liveSts,
      metadata: { ...i.liveSts?.metadata, annotations: { [ANNOTATION.templateHash]: 'old' } },
    };
    expect(rolloutObservation({ ...i, liveSts: sts }).sts?.templateChanged).toBe(true);
  });
});

describe('plan (the operation lock)', () => {
  const deps = (locks: OperationLocks) => ({ operations: locks }) as unknown as ReconcileDeps;

  it('takes the lock for a disruptive action and releases it', () => {
    const locks = new OperationLocks();
    const { plan: p, release } = plan(deps(locks), inputs());
    expect(p.action).toMatchObject({ kind: 'drain', pod: 'chat-2' });
    expect(isDisruptive(p.action)).toBe(true);
    expect(locks.holder(clusterLockKey('apps', 'chat'))).toBe('rollout');
    release();
    expect(locks.holder(clusterLockKey('apps', 'chat'))).toBeUndefined();
  });

  it('drops the action and keeps the live partition while a reset holds the cluster', () => {
    const locks = new OperationLocks();
    locks.tryAcquire(clusterLockKey('apps', 'chat'), 'reset');
    const i = inputs({}, 3);
    // chat-2 drained: the planner wants partition 2
    const drained = { ...i, pods: i.pods.map((p) => (p.ordinal === 2 ? { ...p, drainedAtMs: NOW - 1000 } : p)) };
    const { plan: p } = plan(deps(locks), drained);
    expect(p.action).toBeUndefined();
    expect(p.partition).toBe(3);
    expect(p.requeueAfterMs).toBe(2_000);
    expect(p.events).toEqual([]);
  });
});

describe('drainPod', () => {
  const target = { host: '127.0.0.2', port: 9601, token: 't' };
  const drained = {
    state: 'draining' as const,
    startedAtMs: 1,
    remainingConnections: 3,
    closedConnections: 0,
    pendingFlushes: 0,
  };
  /** An admin API that, like a data plane from before closeAfterMs, refuses the field. */
  function oldDataPlane() {
    const requests: DrainRequest[] = [];
    const admin = {
      async drain(_t: unknown, req: DrainRequest) {
        requests.push(req);
        if (req.closeAfterMs !== undefined) {
          throw new AdminApiError('POST /admin/drain', 400, 'invalid_input', 'closeAfterMs: unrecognized key');
        }
        return drained;
      },
    } as unknown as AdminApi;
    return { admin, requests };
  }

  it('asks for closeAfterMs, and drains an older data plane without it', async () => {
    const { admin, requests } = oldDataPlane();
    const req = { batchSize: 2, batchIntervalMs: 10, reason: 'r', closeAfterMs: 1000 };
    expect(await drainPod(admin, target, req)).toEqual(drained);
    expect(requests).toEqual([req, { batchSize: 2, batchIntervalMs: 10, reason: 'r' }]);
  });

  it('does not retry other failures', async () => {
    const admin = {
      async drain() {
        throw new AdminApiError('POST /admin/drain', 401, 'auth_failed', '');
      },
    } as unknown as AdminApi;
    await expect(drainPod(admin, target, { closeAfterMs: 1000 })).rejects.toThrow(/401/);
  });
});
