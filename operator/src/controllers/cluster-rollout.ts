// The rollout inside the cluster reconcile: gather the observation (live StatefulSet, pods,
// PDB, each pod's GET /admin/status, the reset lock), run the pure planner, and execute the one
// action it asks for. The partition and replicas of the plan go into the StatefulSet render; the
// other actions are admin calls (drain, flush), the drained-at annotation, or a pod delete.
import type { V1Pod, V1PodDisruptionBudget, V1StatefulSet } from '@kubernetes/client-node';
import type { DrainRequest, DrainStatus } from '../../../dataplane/src/server/admin-types.ts';
import { ANNOTATION } from '../api/labels.ts';
import type { AITransportCluster, ClusterStatus } from '../api/v1alpha1/cluster.ts';
import { type AdminApi, AdminApiError, type AdminTarget } from '../dataplane/admin-client.ts';
import { rfc3339 } from '../kube/clock.ts';
import { errorMessage, isNotFound } from '../kube/errors.ts';
import { RESOURCE } from '../kube/resources.ts';
import { dataplaneName, pdbName } from '../render/names.ts';
import { podTemplateHash } from '../render/statefulset.ts';
import type { PodHealth, PodView } from '../rollout/health.ts';
import {
  planRollout,
  type RolloutAction,
  type RolloutObservation,
  type RolloutPlan,
  type RolloutStatus,
} from '../rollout/planner.ts';
import { findCondition } from './conditions.ts';
import type { ReconcileDeps, ReconcileRequest } from './context.ts';
import { adminTarget } from './dataplane.ts';
import { clusterLockKey } from './locks.ts';
import { clusterRefOf } from './parse.ts';

type Cluster = Readonly<AITransportCluster>;

/** How long POST /admin/flush may wait for queued writes (the call's deadline adds 3 s). */
export const FLUSH_WAIT_MS = 5_000;

/** The ChannelPolicy condition that records a reset run in flight (policy-reset.ts). */
export const RESETTING_CONDITION = 'Resetting';

/** Actions that take capacity away: one per pass, never while a reset runs. */
export function isDisruptive(a: RolloutAction | undefined): boolean {
  return a !== undefined && a.kind !== 'finishDrain';
}

/** A policy of this cluster records a reset run in flight (it may be another replica's, before a crash). */
export function policiesResetting(deps: ReconcileDeps, c: Cluster): boolean {
  return deps.caches
    .list<{ metadata?: { namespace?: string }; status?: { conditions?: Array<{ type: string; status: string }> } }>(
      RESOURCE.channelPolicy,
      c.metadata.namespace,
    )
    .some(
      (p) =>
        clusterRefOf(p) === c.metadata.name &&
        findCondition(p.status?.conditions as never, RESETTING_CONDITION)?.status === 'True',
    );
}

export interface RolloutInputs {
  readonly now: number;
  readonly cluster: Cluster;
  readonly previous: ClusterStatus['rollout'];
  readonly liveSts: V1StatefulSet | undefined;
  readonly pdb: V1PodDisruptionBudget | undefined;
  readonly pods: readonly PodView[];
  readonly health: ReadonlyMap<string, PodHealth>;
  readonly resetRunning: boolean;
}

/** The planner's observation from what the reconcile gathered (pure). */
export function rolloutObservation(i: RolloutInputs): RolloutObservation {
  const c = i.cluster;
  const a = c.metadata.annotations ?? {};
  const sts = i.liveSts;
  const approveStep = a[ANNOTATION.approveStep];
  const skipHealthGate = a[ANNOTATION.skipHealthGate];
  return {
    now: i.now,
    clusterName: c.metadata.name,
    replicas: c.spec.replicas,
    upgrade: c.spec.upgrade,
    pdbEnabled: c.spec.disruption.enabled,
    controls: {
      pauseRollout: a[ANNOTATION.pauseRollout] === 'true',
      ...(approveStep ? { approveStep } : {}),
      ...(skipHealthGate ? { skipHealthGate } : {}),
    },
    ...(sts
      ? {
          sts: {
            generation: sts.metadata?.generation ?? 0,
            observedGeneration: sts.status?.observedGeneration ?? 0,
            replicas: sts.spec?.replicas ?? 0,
            partition: sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0,
            ...(sts.status?.currentRevision ? { currentRevision: sts.status.currentRevision } : {}),
            ...(sts.status?.updateRevision ? { updateRevision: sts.status.updateRevision } : {}),
            templateChanged: sts.metadata?.annotations?.[ANNOTATION.templateHash] !== podTemplateHash(c),
          },
        }
      : {}),
    pods: i.pods,
    health: i.health,
    ...(i.pdb?.status?.disruptionsAllowed !== undefined
      ? { pdbDisruptionsAllowed: i.pdb.status.disruptionsAllowed }
      : {}),
    resetRunning: i.resetRunning,
    ...(i.previous ? { previous: i.previous as RolloutStatus } : {}),
  };
}

/** The live objects the planner reads, from the caches. */
export function liveRolloutObjects(
  deps: ReconcileDeps,
  c: Cluster,
): { sts: V1StatefulSet | undefined; pdb: V1PodDisruptionBudget | undefined } {
  const ns = c.metadata.namespace;
  const owned = <T extends { metadata?: { ownerReferences?: Array<{ uid: string; controller?: boolean }> } }>(
    o: T | undefined,
  ) =>
    o && (!c.metadata.uid || o.metadata?.ownerReferences?.some((r) => r.controller && r.uid === c.metadata.uid))
      ? o
      : undefined;
  return {
    sts: owned(deps.caches.get<V1StatefulSet>(RESOURCE.statefulSet, ns, dataplaneName(c))),
    pdb: owned(deps.caches.get<V1PodDisruptionBudget>(RESOURCE.podDisruptionBudget, ns, pdbName(c))),
  };
}

/** Runs the planner, holding the cluster's operation lock for a disruptive action (else dropping it). */
export function plan(deps: ReconcileDeps, inputs: RolloutInputs): { plan: RolloutPlan; release: () => void } {
  const c = inputs.cluster;
  const key = clusterLockKey(c.metadata.namespace ?? '', c.metadata.name);
  const p = planRollout(rolloutObservation(inputs));
  if (!isDisruptive(p.action) || !deps.operations) return { plan: p, release: () => {} };
  const release = deps.operations.tryAcquire(key, 'rollout');
  if (release) return { plan: p, release };
  // A reset took the lock since the observation: no step this pass, the partition stays.
  const sts = inputs.liveSts;
  const { action: _dropped, ...rest } = p;
  return {
    plan: {
      ...rest,
      partition: sts?.spec?.updateStrategy?.rollingUpdate?.partition ?? p.partition,
      replicas: Math.max(sts?.spec?.replicas ?? p.replicas, c.spec.replicas),
      requeueAfterMs: 2_000,
      events: [],
    },
    release: () => {},
  };
}

/** POST /admin/drain; a data plane older than `closeAfterMs` refuses the field (400): drain it the old way. */
export async function drainPod(admin: AdminApi, target: AdminTarget, request: DrainRequest): Promise<DrainStatus> {
  try {
    return await admin.drain(target, request);
  } catch (err) {
    if (!(err instanceof AdminApiError && err.status === 400 && request.closeAfterMs !== undefined)) throw err;
    const { closeAfterMs: _, ...plain } = request;
    return admin.drain(target, plain);
  }
}

export type ActionOutcome = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** Executes the plan's action (the partition and replicas are applied by the render). */
export async function executeAction(
  deps: ReconcileDeps,
  req: ReconcileRequest,
  c: Cluster,
  p: RolloutPlan,
  pods: ReadonlyMap<string, V1Pod>,
  views: readonly PodView[],
  token: string | undefined,
): Promise<ActionOutcome> {
  const a = p.action;
  if (!a) return { ok: true };
  const ns = c.metadata.namespace ?? '';
  const log = req.log.child({ action: a.kind, ...('pod' in a ? { pod: a.pod } : {}) });
  const view = 'pod' in a ? views.find((v) => v.name === a.pod) : undefined;
  const target = view && token ? adminTarget(view, token) : undefined;
  const admin = deps.admin as AdminApi;
  try {
    switch (a.kind) {
      case 'drain': {
        if (!target) return { ok: false, message: `no admin target for ${a.pod}` };
        const d = await drainPod(admin, target, a.request);
        log.info({ remaining: d.remainingConnections, state: d.state }, 'drain started');
        break;
      }
      case 'finishDrain': {
        if (a.flush && target) {
          const f = await admin.flush(target, FLUSH_WAIT_MS);
          if (f.pendingWrites > 0) {
            log.info({ pendingWrites: f.pendingWrites }, 'flush left queued writes: not marked drained yet');
            return { ok: false, message: `${a.pod}: the flush left ${f.pendingWrites} queued writes; trying again` };
          }
          log.info({ deliveredRollups: f.deliveredRollups }, 'flushed');
        }
        const pod = pods.get(a.pod);
        const ops = [
          { op: 'test' as const, path: '/metadata/uid', value: a.uid },
          pod?.metadata?.annotations
            ? {
                op: 'add' as const,
                path: `/metadata/annotations/${ANNOTATION.drainedAt.replace('/', '~1')}`,
                value: rfc3339(deps.clock.now()),
              }
            : {
                op: 'add' as const,
                path: '/metadata/annotations',
                value: { [ANNOTATION.drainedAt]: rfc3339(deps.clock.now()) },
              },
        ];
        await deps.client.jsonPatch(RESOURCE.pod, ns, a.pod, ops);
        log.info({ flushed: a.flush }, 'pod marked drained');
        deps.recorder.normal(
          podRef(c, a.pod, a.uid),
          'PodDrained',
          'Drain',
          a.flush ? 'drained and flushed' : 'nothing to drain',
        );
        break;
      }
      case 'deletePod': {
        await deps.client.delete(RESOURCE.pod, ns, a.pod, { uid: a.uid });
        log.warn('deleted a pod stuck on another revision');
        break;
      }
      case 'restart':
      case 'scaleDown':
        log.info(a.kind === 'restart' ? { partition: a.partition } : { from: a.from, to: a.to }, `rollout ${a.kind}`);
        break;
    }
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (isNotFound(err) || status === 409 || status === 422) {
      // Gone, or the uid test failed (recreated meanwhile): the next pass sees the new state.
      log.debug({ error: errorMessage(err) }, 'rollout action target changed; re-planning');
      return { ok: false, message: `${'pod' in a ? a.pod : 'StatefulSet'} changed meanwhile` };
    }
    log.warn({ error: errorMessage(err) }, 'rollout action failed');
    return { ok: false, message: `${a.kind}${'pod' in a ? ` ${a.pod}` : ''} failed: ${errorMessage(err)}` };
  }
  if (isDisruptive(a)) deps.metrics?.rolloutAction(ns, c.metadata.name, a.kind);
  return { ok: true };
}

function podRef(c: Cluster, name: string, uid: string) {
  return { apiVersion: 'v1', kind: 'Pod', name, namespace: c.metadata.namespace ?? '', uid };
}
