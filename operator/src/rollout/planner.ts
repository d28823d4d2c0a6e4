// The rollout planner (OPERATOR.md 6.4): (desired, observed, now) → the StatefulSet partition and
// replicas to apply, at most ONE side-effecting action, the durable status.rollout, Events and
// when to look again. Pure; the controller gathers the observation and executes the action.
//
// Everything needed to resume after an operator crash is in the cluster: the live partition,
// each pod's controller-revision-hash, the drain state the pod's own admin API reports
// (a drain is one-way for the life of the process), the aitransport.io/drained-at annotation
// on the pod object, and pod ages. status.rollout only adds timers (waitingSince,
// lastStepTime) and the sticky "verification failed" verdict.
//
// One pass, in order:
//   scale-down: drain the pods a lower spec.replicas removes (one action per pass), then lower replicas
//   Restart strategy: partition 0, the StatefulSet controller rolls as it likes
//   template changed: apply it with partition = replicas (nothing rolls in that request)
//   sticky stall: a new pod failed verification → stop until the template changes or skip-health-gate
//   a drained pod (drained-at) → partition = its ordinal (the StatefulSet controller recreates it)
//   pods the controller is replacing (at or above the partition, or missing) → wait
//   rollback (updateRevision == currentRevision): a broken pod below the partition is deleted
//   pods at the new revision not yet stable and healthy → Verifying (timeout → Stalled, sticky)
//   nothing left → partition 0, Idle
//   next = highest ordinal not at the new revision: drain in progress → wait, then flush (finishDrain)
//   else the cluster gate (pause, reset running, maintenance window, pause between pods, health
//   of every pod, PDB) → Supervised approval → drain
import { ANNOTATION } from '../api/labels.ts';
import type { ClusterSpec, ClusterStatus } from '../api/v1alpha1/cluster.ts';
import type { DrainRequest } from '../dataplane/admin-client.ts';
import { rfc3339 } from '../kube/clock.ts';
import { adminProblem, type GateLimits, type PodHealth, type PodView, stabilityProblem } from './health.ts';
import { inMaintenanceWindow } from './maintenance.ts';

export type { PodHealth, PodView } from './health.ts';

export type RolloutStatus = NonNullable<ClusterStatus['rollout']>;
export type RolloutState = RolloutStatus['state'];

/** A pod not Ready this long (and not answering its admin API) is broken: nothing to drain. */
export const BROKEN_GRACE_MS = 10_000;
/** The close reason the drained clients see (4200 "Reconnect: …"). */
export const DRAIN_REASON = 'rolling upgrade';

export interface StatefulSetFacts {
  readonly generation: number;
  readonly observedGeneration: number;
  readonly replicas: number;
  readonly partition: number;
  readonly currentRevision?: string;
  readonly updateRevision?: string;
  /** The rendered pod template differs from the live one (ANNOTATION.templateHash). */
  readonly templateChanged: boolean;
}

/** The user's annotations on the CR. */
export interface RolloutControls {
  readonly pauseRollout: boolean;
  readonly approveStep?: string;
  readonly skipHealthGate?: string;
}

export interface RolloutObservation {
  readonly now: number;
  readonly clusterName: string;
  /** spec.replicas */
  readonly replicas: number;
  readonly upgrade: ClusterSpec['upgrade'];
  readonly pdbEnabled: boolean;
  readonly controls: RolloutControls;
  /** Undefined until the StatefulSet exists. */
  readonly sts?: StatefulSetFacts;
  /** The data-plane pods of the cluster (any revision, terminating ones included). */
  readonly pods: readonly PodView[];
  /** This pass's admin API answers, by pod name (absent: not asked, e.g. no pod IP). */
  readonly health: ReadonlyMap<string, PodHealth>;
  readonly pdbDisruptionsAllowed?: number;
  /** A ChannelPolicy reset runs on this cluster (mutual exclusion with rollout steps). */
  readonly resetRunning: boolean;
  readonly previous?: RolloutStatus;
}

export type RolloutAction =
  /** POST /admin/drain on the pod. */
  | { readonly kind: 'drain'; readonly pod: string; readonly request: DrainRequest }
  /** POST /admin/flush when `flush`, then annotate the pod drained-at (only when the flush left nothing). */
  | { readonly kind: 'finishDrain'; readonly pod: string; readonly uid: string; readonly flush: boolean }
  /** The partition in this plan lets the StatefulSet controller recreate the pod. */
  | { readonly kind: 'restart'; readonly pod: string; readonly partition: number }
  /** Delete the pod (uid precondition): it is recreated at the update revision. */
  | { readonly kind: 'deletePod'; readonly pod: string; readonly uid: string }
  /** The replicas in this plan remove already drained pods. */
  | { readonly kind: 'scaleDown'; readonly from: number; readonly to: number };

export interface PlanEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly note: string;
}

export interface RolloutPlan {
  readonly partition: number;
  readonly replicas: number;
  readonly action?: RolloutAction;
  readonly status: RolloutStatus;
  /** Upgrading condition. */
  readonly upgrading: boolean;
  /** Stalled condition (reason HealthGateFailed), when set. */
  readonly stalled?: { readonly reason: string; readonly message: string };
  readonly requeueAfterMs?: number;
  readonly events: readonly PlanEvent[];
}

/** Reasons of status.rollout (machine-readable). VerifyTimeout is the sticky one. */
export const ROLLOUT_REASON = {
  idle: 'NoRollout',
  templateChanged: 'TemplateChanged',
  waitingForStatefulSet: 'WaitingForStatefulSet',
  plainRollingUpdate: 'PlainRollingUpdate',
  waitingForController: 'WaitingForController',
  forcedRollback: 'ForcedRollback',
  replaceDrained: 'ReplacingDrainedPod',
  verifying: 'Verifying',
  verifyTimeout: 'VerifyTimeout',
  gateWaiting: 'GateWaiting',
  gateTimeout: 'GateTimeout',
  closingConnections: 'ClosingConnections',
  flushing: 'Flushing',
  flushTimeout: 'FlushTimeout',
  restarting: 'Restarting',
  paused: 'PauseAnnotation',
  resetRunning: 'ResetRunning',
  maintenanceWindow: 'OutsideMaintenanceWindow',
  pauseBetweenPods: 'PauseBetweenPods',
  approval: 'WaitingForApproval',
  scaleDown: 'ScaleDownDrain',
} as const;

const STALL_REASON = 'HealthGateFailed';

/** A wait that timed out is still the same wait (its clock keeps running). */
function sameWait(a: string | undefined, b: string): boolean {
  const norm = (r: string | undefined) => (r === ROLLOUT_REASON.gateTimeout ? ROLLOUT_REASON.gateWaiting : r);
  return norm(a) === norm(b);
}

const byOrdinalDesc = (a: PodView, b: PodView) => b.ordinal - a.ordinal;
const time = (ms: number) => rfc3339(ms);
const parse = (t: string | undefined) => (t ? Date.parse(t) : undefined);

interface Draft {
  state: RolloutState;
  reason: string;
  message: string;
  pod?: string;
  action?: RolloutAction;
  requeueAfterMs?: number;
  /** A timed wait: keeps waitingSince while (state, reason, pod) stay the same. */
  timed?: boolean;
  stalled?: string;
  events?: PlanEvent[];
}

class Pass {
  readonly o: RolloutObservation;
  readonly limits: GateLimits;
  readonly stableMs: number;
  readonly timeoutMs: number;

  constructor(o: RolloutObservation) {
    this.o = o;
    const g = o.upgrade.healthGate;
    this.limits = {
      maxResetRequiredChannels: g.maxResetRequiredChannels,
      maxHistoryQueueDepth: g.maxHistoryQueueDepth,
    };
    this.stableMs = (g.minReadySeconds + g.stableSeconds) * 1000;
    this.timeoutMs = g.timeoutSeconds * 1000;
  }

  /** When the wait described by (state, reason, pod) began: kept from the previous pass, else now. */
  waitingSince(d: Draft): number {
    const p = this.o.previous;
    const same = p && p.state === d.state && sameWait(p.reason, d.reason) && p.pod === d.pod;
    return (same ? parse(p.waitingSince) : undefined) ?? this.o.now;
  }

  skipped(pod: string): boolean {
    return this.o.controls.skipHealthGate === pod;
  }

  /** The drain of `p`, one call per pass: start it, wait for propagation and closes, then flush. */
  drainStep(p: PodView, what: string): Draft | undefined {
    const o = this.o;
    const h = o.health.get(p.name);
    const d = o.upgrade.drain;
    if (h?.kind !== 'ok') {
      if (!p.ready) {
        return {
          state: 'Draining',
          reason: ROLLOUT_REASON.flushing,
          pod: p.name,
          message: `${p.name} is not Ready and its admin API does not answer (${adminProblem(h, this.limits)}): nothing to drain`,
          action: { kind: 'finishDrain', pod: p.name, uid: p.uid, flush: false },
        };
      }
      return undefined; // Ready but unreachable: the caller's gate decides
    }
    const s = h.status;
    if (!s.draining) {
      return {
        state: 'Draining',
        reason: ROLLOUT_REASON.closingConnections,
        pod: p.name,
        message: `draining ${p.name} (${what}): ${s.connections} connections`,
        action: {
          kind: 'drain',
          pod: p.name,
          request: {
            batchSize: d.reconnectBatch.size,
            batchIntervalMs: d.reconnectBatch.intervalMilliseconds,
            reason: DRAIN_REASON,
            // Readiness off now, closes once the endpoints have dropped the pod: reconnecting
            // clients then never land on it again.
            closeAfterMs: d.endpointPropagationSeconds * 1000,
          },
        },
        requeueAfterMs: 1_000,
      };
    }
    const started = s.drain?.startedAtMs ?? o.now;
    const remaining = s.drain?.remainingConnections ?? s.connections;
    const elapsed = o.now - started;
    const propagationMs = d.endpointPropagationSeconds * 1000;
    const drainTimeoutMs = d.connectionDrainTimeoutSeconds * 1000;
    // Closing starts after the propagation wait; the drain timeout runs from there.
    if (elapsed < propagationMs || (remaining > 0 && elapsed < propagationMs + drainTimeoutMs)) {
      const wait = elapsed < propagationMs ? propagationMs - elapsed : 1_000;
      return {
        state: 'Draining',
        reason: ROLLOUT_REASON.closingConnections,
        pod: p.name,
        message: `draining ${p.name} (${what}): ${remaining} connections left, ${Math.floor(elapsed / 1000)}s since the drain started`,
        requeueAfterMs: Math.min(Math.max(wait, 100), 1_000),
      };
    }
    const flushing: Draft = {
      state: 'Draining',
      reason: ROLLOUT_REASON.flushing,
      pod: p.name,
      message: `flushing ${p.name} (${what}): ${remaining} connections left, history queue ${s.pipeline.queueDepth}, held rollups ${s.pipeline.rollupPendingWindows}`,
      action: { kind: 'finishDrain', pod: p.name, uid: p.uid, flush: true },
      requeueAfterMs: 1_000,
    };
    if (elapsed > propagationMs + drainTimeoutMs + this.timeoutMs) {
      // The flush keeps being retried; the rollout reports it is stuck.
      return {
        ...flushing,
        reason: ROLLOUT_REASON.flushTimeout,
        stalled: `${p.name} has not flushed its queued writes ${Math.floor(elapsed / 1000)}s after its drain started`,
      };
    }
    return flushing;
  }
}

function gateProblems(pass: Pass, kept: readonly PodView[], target: PodView | undefined): string[] {
  const o = pass.o;
  const out: string[] = [];
  for (const p of kept) {
    if (pass.skipped(p.name)) continue;
    if (p.terminating) {
      out.push(`${p.name} terminating`);
      continue;
    }
    if (p === target) {
      // Replacing an unhealthy pod is the cure, not a risk: it only has to be drainable, and a pod
      // that is not Ready and does not answer has nothing to drain.
      const h = o.health.get(p.name);
      if (p.ready && h?.kind !== 'ok') out.push(`${p.name}: ${adminProblem(h, pass.limits)}`);
      continue;
    }
    if (!p.ready) out.push(`${p.name} not Ready`);
    else {
      const problem = adminProblem(o.health.get(p.name), pass.limits);
      if (problem) out.push(`${p.name}: ${problem}`);
    }
  }
  // A skipped pod counts as available (break-glass: the user accepts it being down).
  const forgiven = kept.filter((p) => pass.skipped(p.name) && !p.ready).length;
  if (target?.ready && o.pdbEnabled && (o.pdbDisruptionsAllowed ?? 0) + forgiven < 1) {
    out.push(`PodDisruptionBudget allows ${o.pdbDisruptionsAllowed ?? 0} disruptions`);
  }
  return out;
}

/** The rollout part (partition, state) of one pass; scale-down is handled around it. */
function planSteps(pass: Pass, replicas: number): { partition: number; draft: Draft } {
  const o = pass.o;
  const s = o.sts as StatefulSetFacts;
  const prev = o.previous;
  const hold = Math.max(s.replicas, replicas);
  const livePartition = Math.min(Math.max(s.partition, 0), hold);

  if (o.upgrade.strategy === 'Restart') {
    const rolling = !!s.updateRevision && s.updateRevision !== s.currentRevision;
    return {
      partition: 0,
      draft: rolling
        ? {
            state: 'Restarting',
            reason: ROLLOUT_REASON.plainRollingUpdate,
            message: `strategy Restart: the StatefulSet controller rolls the pods to ${s.updateRevision} (no drain, no health gate)`,
          }
        : { state: 'Idle', reason: ROLLOUT_REASON.idle, message: '' },
    };
  }
  if (s.templateChanged) {
    return {
      partition: hold,
      draft: {
        state: 'Planned',
        reason: ROLLOUT_REASON.templateChanged,
        message: `new pod template: applied with the partition held at ${hold}; pods roll one at a time`,
        requeueAfterMs: 500,
      },
    };
  }
  if (s.observedGeneration < s.generation || !s.updateRevision) {
    return {
      partition: livePartition,
      draft: {
        state: prev && prev.state !== 'Idle' ? prev.state : 'Planned',
        reason: ROLLOUT_REASON.waitingForStatefulSet,
        message: 'waiting for the StatefulSet controller to observe the latest spec',
        ...(prev?.pod ? { pod: prev.pod } : {}),
        requeueAfterMs: 1_000,
      },
    };
  }
  const upd = s.updateRevision;
  const cur = s.currentRevision;
  const kept = o.pods.filter((p) => p.ordinal < replicas);
  const live = kept.filter((p) => !p.terminating);
  const pending = live.filter((p) => p.revision !== upd).sort(byOrdinalDesc);
  const updated = live.filter((p) => p.revision === upd);
  const active =
    pending.length > 0 || livePartition > 0 || cur !== upd || (prev !== undefined && prev.state !== 'Idle');
  if (!active) return { partition: 0, draft: { state: 'Idle', reason: ROLLOUT_REASON.idle, message: '' } };

  // A new revision's pod failed verification: stop until the template changes or a human says go.
  if (
    prev?.state === 'Failed' &&
    prev.reason === ROLLOUT_REASON.verifyTimeout &&
    prev.targetRevision === upd &&
    !(prev.pod && pass.skipped(prev.pod))
  ) {
    return {
      partition: livePartition,
      draft: {
        state: 'Failed',
        reason: ROLLOUT_REASON.verifyTimeout,
        message: prev.message ?? 'verification failed',
        ...(prev.pod ? { pod: prev.pod } : {}),
        stalled: prev.message ?? 'verification failed',
      },
    };
  }

  const below = pending.filter((p) => p.ordinal < livePartition);
  const next = below[0];
  // A drained pod serves nothing: restart it whatever else holds (pause, approval, gate).
  if (next?.drainedAtMs !== undefined) {
    return {
      partition: next.ordinal,
      draft: {
        state: 'Restarting',
        reason: ROLLOUT_REASON.restarting,
        pod: next.name,
        message: `restarting ${next.name} at revision ${upd} (partition ${next.ordinal})`,
        action: { kind: 'restart', pod: next.name, partition: next.ordinal },
        requeueAfterMs: 500,
      },
    };
  }

  // Pods the StatefulSet controller is replacing: at/above the partition, or not there yet.
  const replacing = pending.filter((p) => p.ordinal >= livePartition);
  const present = new Set(live.map((p) => p.ordinal));
  const missing = Array.from({ length: replicas }, (_, i) => i).filter((i) => !present.has(i));
  if (replacing.length || missing.length) {
    const pod = replacing[0]?.name ?? `${o.clusterName}-${missing[0]}`;
    const d: Draft = {
      state: 'Restarting',
      reason: ROLLOUT_REASON.waitingForController,
      pod,
      message: `waiting for the StatefulSet controller to recreate ${pod} at revision ${upd}`,
      requeueAfterMs: 1_000,
      timed: true,
    };
    if (o.now - pass.waitingSince(d) > pass.timeoutMs) {
      d.state = 'Failed';
      d.reason = ROLLOUT_REASON.verifyTimeout;
      d.stalled = `${pod} was not recreated at revision ${upd} within ${o.upgrade.healthGate.timeoutSeconds}s`;
      d.message = d.stalled;
    }
    return { partition: livePartition, draft: d };
  }

  // Rollback: recreating a pod below the partition yields the update revision; a broken one is
  // deleted (a plain StatefulSet never replaces a pod stuck on a bad revision by itself).
  if (cur === upd) {
    const broken = pending.find(
      (p) =>
        !p.ready && o.health.get(p.name)?.kind !== 'ok' && o.now - (p.readySinceMs ?? p.createdMs) >= BROKEN_GRACE_MS,
    );
    if (broken) {
      return {
        partition: livePartition,
        draft: {
          state: 'Restarting',
          reason: ROLLOUT_REASON.forcedRollback,
          pod: broken.name,
          message: `rollback: deleting ${broken.name}, stuck on revision ${broken.revision ?? '?'}, to recreate it at ${upd}`,
          action: { kind: 'deletePod', pod: broken.name, uid: broken.uid },
          requeueAfterMs: 1_000,
        },
      };
    }
  }

  // A pod at the update revision whose data plane drains (a revert caught it mid-drain, or it was
  // drained by hand): a drain is one-way, so it must be replaced — finish the drain, then delete
  // it (the StatefulSet controller recreates it).
  const stray = updated.find((p) => {
    const h = o.health.get(p.name);
    return p.drainedAtMs !== undefined || (h?.kind === 'ok' && h.status.draining);
  });
  if (stray) {
    if (stray.drainedAtMs === undefined) {
      return { partition: livePartition, draft: pass.drainStep(stray, 'its data plane drains') as Draft };
    }
    return {
      partition: livePartition,
      draft: {
        state: 'Restarting',
        reason: ROLLOUT_REASON.replaceDrained,
        pod: stray.name,
        message: `deleting ${stray.name}: its data plane was drained, the StatefulSet controller recreates it`,
        action: { kind: 'deletePod', pod: stray.name, uid: stray.uid },
        requeueAfterMs: 1_000,
      },
    };
  }

  // Verify every pod at the new revision before the next step (and before calling it done).
  const unverified = updated
    .filter((p) => !pass.skipped(p.name))
    .map((p) => [p, stabilityProblem(p, o.health.get(p.name), pass.limits, pass.stableMs, o.now)] as const)
    .filter((x): x is readonly [PodView, string] => x[1] !== undefined)
    .sort((a, b) => b[0].createdMs - a[0].createdMs || b[0].ordinal - a[0].ordinal);
  const first = unverified[0];
  if (first) {
    const [p, problem] = first;
    const d: Draft = {
      state: 'Verifying',
      reason: ROLLOUT_REASON.verifying,
      pod: p.name,
      message: `verifying ${p.name} at revision ${upd}: ${problem}`,
      requeueAfterMs: 1_000,
      timed: true,
    };
    const since = pass.waitingSince(d);
    if (o.now - since > pass.timeoutMs) {
      d.state = 'Failed';
      d.reason = ROLLOUT_REASON.verifyTimeout;
      d.message = `${p.name} at revision ${upd} failed verification for ${o.upgrade.healthGate.timeoutSeconds}s: ${problem}; revert the spec to roll back, or annotate ${ANNOTATION.skipHealthGate}=${p.name} to go on`;
      d.stalled = d.message;
    }
    return { partition: livePartition, draft: d };
  }

  if (!next) {
    return {
      partition: 0,
      draft: { state: 'Idle', reason: ROLLOUT_REASON.idle, message: `every pod runs revision ${upd}` },
    };
  }

  // The next pod: finish a drain that is under way (whatever the gate says: it is one-way).
  const h = o.health.get(next.name);
  if (h?.kind === 'ok' && h.status.draining) {
    return { partition: livePartition, draft: pass.drainStep(next, 'rollout') as Draft };
  }

  // The cluster gate.
  const gate = (reason: string, message: string, requeueAfterMs?: number): Draft => ({
    state: reason === ROLLOUT_REASON.paused ? 'Paused' : 'Planned',
    reason,
    pod: next.name,
    message,
    ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
  });
  if (o.controls.pauseRollout) {
    return {
      partition: livePartition,
      draft: gate(ROLLOUT_REASON.paused, `paused by ${ANNOTATION.pauseRollout}: next would be ${next.name}`),
    };
  }
  if (o.resetRunning) {
    return {
      partition: livePartition,
      draft: gate(ROLLOUT_REASON.resetRunning, 'a ChannelPolicy history reset is running', 2_000),
    };
  }
  if (!inMaintenanceWindow(o.upgrade.maintenanceWindows, o.now)) {
    return {
      partition: livePartition,
      draft: gate(
        ROLLOUT_REASON.maintenanceWindow,
        `outside the maintenance windows (${(o.upgrade.maintenanceWindows ?? []).join('; ')})`,
        30_000,
      ),
    };
  }
  // A pass that leaves Verifying completed a step just now.
  const lastStep = prev?.state === 'Verifying' ? o.now : parse(prev?.lastStepTime);
  const pauseMs = o.upgrade.pauseBetweenPodsSeconds * 1000;
  if (lastStep !== undefined && pauseMs > 0 && o.now < lastStep + pauseMs) {
    return {
      partition: livePartition,
      draft: gate(
        ROLLOUT_REASON.pauseBetweenPods,
        `pauseBetweenPodsSeconds: ${next.name} after ${time(lastStep + pauseMs)}`,
        lastStep + pauseMs - o.now,
      ),
    };
  }
  const problems = gateProblems(pass, kept, next);
  if (problems.length) {
    const d: Draft = {
      state: 'Planned',
      reason: ROLLOUT_REASON.gateWaiting,
      pod: next.name,
      message: `waiting for the cluster gate before ${next.name}: ${problems.join('; ')}`,
      requeueAfterMs: 2_000,
      timed: true,
    };
    const since = pass.waitingSince(d);
    if (o.now - since > pass.timeoutMs) {
      // Not sticky: the pods this waits on run the old revision; it goes on once they are healthy.
      d.reason = ROLLOUT_REASON.gateTimeout;
      d.stalled = `the cluster gate before ${next.name} failed for ${o.upgrade.healthGate.timeoutSeconds}s: ${problems.join('; ')}`;
    }
    return { partition: livePartition, draft: d };
  }
  if (o.upgrade.strategy === 'Supervised' && o.controls.approveStep !== `${upd}/${next.name}`) {
    return {
      partition: livePartition,
      draft: {
        state: 'WaitingForApproval',
        reason: ROLLOUT_REASON.approval,
        pod: next.name,
        message: `waiting for approval of ${next.name}: kubectl annotate aitc ${o.clusterName} ${ANNOTATION.approveStep}=${upd}/${next.name} --overwrite`,
      },
    };
  }
  return { partition: livePartition, draft: pass.drainStep(next, 'rollout') as Draft };
}

/** Scale-down: drain the pods that a lower spec.replicas removes, one action per pass. */
function planScaleDown(pass: Pass): { replicas: number; draft?: Draft } {
  const o = pass.o;
  const s = o.sts as StatefulSetFacts;
  if (o.replicas >= s.replicas) return { replicas: o.replicas };
  if (o.upgrade.strategy === 'Restart') return { replicas: o.replicas };
  const removed = o.pods.filter((p) => p.ordinal >= o.replicas && !p.terminating).sort(byOrdinalDesc);
  const undrained = removed.filter((p) => p.drainedAtMs === undefined);
  if (!undrained.length) {
    return {
      replicas: o.replicas,
      draft: {
        state: 'Idle',
        reason: ROLLOUT_REASON.scaleDown,
        message: `scaling down from ${s.replicas} to ${o.replicas}: the removed pods are drained`,
        action: { kind: 'scaleDown', from: s.replicas, to: o.replicas },
      },
    };
  }
  const p = undrained[0] as PodView;
  const d = pass.drainStep(p, `scale-down to ${o.replicas}`);
  if (d) return { replicas: s.replicas, draft: { ...d, reason: ROLLOUT_REASON.scaleDown } };
  // Ready but its admin API does not answer: wait a drain timeout, then let it go anyway.
  const wait: Draft = {
    state: 'Draining',
    reason: ROLLOUT_REASON.scaleDown,
    pod: p.name,
    message: `scale-down: ${p.name}'s admin API does not answer (${adminProblem(o.health.get(p.name), pass.limits)})`,
    requeueAfterMs: 2_000,
    timed: true,
  };
  if (o.now - pass.waitingSince(wait) > o.upgrade.drain.connectionDrainTimeoutSeconds * 1000) {
    wait.action = { kind: 'finishDrain', pod: p.name, uid: p.uid, flush: false };
    wait.message += ': removing it without a drain';
  }
  return { replicas: s.replicas, draft: wait };
}

function eventsFor(o: RolloutObservation, next: RolloutStatus, d: Draft, prev: RolloutStatus | undefined): PlanEvent[] {
  const out: PlanEvent[] = [];
  const changed = !prev || prev.state !== next.state || prev.pod !== next.pod || prev.reason !== next.reason;
  const a = d.action;
  if (a?.kind === 'drain') out.push({ type: 'Normal', reason: 'PodDraining', note: d.message });
  if (a?.kind === 'restart' && changed) out.push({ type: 'Normal', reason: 'PodRestarting', note: d.message });
  if (a?.kind === 'deletePod') {
    if (d.reason === ROLLOUT_REASON.forcedRollback)
      out.push({ type: 'Warning', reason: 'ForcedRollback', note: d.message });
    else out.push({ type: 'Normal', reason: 'PodRestarting', note: d.message });
  }
  if (!changed) return out;
  if (
    prev?.state === 'Verifying' &&
    prev.pod &&
    (next.state !== 'Verifying' || next.pod !== prev.pod) &&
    next.state !== 'Failed'
  ) {
    out.push({
      type: 'Normal',
      reason: 'PodUpdated',
      note: `${prev.pod} verified at revision ${next.targetRevision ?? '?'}`,
    });
  }
  if (d.reason === ROLLOUT_REASON.templateChanged)
    out.push({ type: 'Normal', reason: 'RolloutStarted', note: d.message });
  if (d.stalled) out.push({ type: 'Warning', reason: 'RolloutStalled', note: d.stalled });
  if (next.state === 'WaitingForApproval') {
    out.push({ type: 'Normal', reason: 'RolloutWaitingForApproval', note: d.message });
  }
  if (next.state === 'Paused') out.push({ type: 'Normal', reason: 'RolloutPaused', note: d.message });
  if (prev && prev.state !== 'Idle' && next.state === 'Idle') {
    const took = prev.startedAt ? ` in ${Math.round((o.now - Date.parse(prev.startedAt)) / 1000)}s` : '';
    out.push({ type: 'Normal', reason: 'RolloutCompleted', note: `${d.message}${took}` });
  }
  return out;
}

export function planRollout(o: RolloutObservation): RolloutPlan {
  const prev = o.previous;
  if (!o.sts) {
    return {
      partition: 0,
      replicas: o.replicas,
      status: { state: 'Idle', reason: ROLLOUT_REASON.idle },
      upgrading: false,
      events: [],
    };
  }
  const pass = new Pass(o);
  const scale = planScaleDown(pass);
  const steps = planSteps(pass, o.replicas);
  // One action per pass, and no rollout action while a scale-down drains: the scale-down's goes
  // first, the rollout's comes in a later pass (its non-disruptive partition changes still apply).
  let draft = steps.draft;
  let partition = steps.partition;
  const extra: PlanEvent[] = [];
  const sd = scale.draft;
  const livePartition = Math.min(Math.max(o.sts.partition, 0), Math.max(o.sts.replicas, o.replicas));
  if (sd) {
    if (steps.draft.action?.kind === 'restart') partition = livePartition;
    if (sd.action?.kind === 'scaleDown') {
      extra.push({ type: 'Normal', reason: 'ScaledDown', note: sd.message });
      const { action: _deferred, ...rest } = steps.draft;
      draft = steps.draft.state === 'Idle' ? sd : { ...rest, action: sd.action };
    } else if (sd.action || steps.draft.action || steps.draft.state === 'Idle') {
      draft = sd;
    }
  }
  const upd = o.sts.updateRevision;
  const podsUpdated = o.pods.filter((p) => !p.terminating && p.ordinal < o.replicas && p.revision === upd).length;
  const sameState = prev?.state === draft.state && prev.reason === draft.reason && prev.pod === draft.pod;
  const verifiedNow = prev?.state === 'Verifying' && (draft.state !== 'Verifying' || draft.pod !== prev.pod);
  const running = draft.state !== 'Idle';
  const startedAt = prev && prev.state !== 'Idle' && prev.startedAt ? prev.startedAt : time(o.now);
  const lastStepTime = verifiedNow && draft.state !== 'Failed' ? time(o.now) : prev?.lastStepTime;
  const status: RolloutStatus = {
    state: draft.state,
    reason: draft.reason,
    ...(upd ? { targetRevision: upd } : {}),
    ...(draft.pod ? { pod: draft.pod } : {}),
    podsUpdated,
    ...(running ? { startedAt } : {}),
    lastTransitionTime: sameState && prev?.lastTransitionTime ? prev.lastTransitionTime : time(o.now),
    ...(draft.timed ? { waitingSince: time(pass.waitingSince(draft)) } : {}),
    ...(running && lastStepTime ? { lastStepTime } : {}),
    ...(draft.message ? { message: draft.message } : {}),
  };
  return {
    partition,
    replicas: scale.replicas,
    ...(draft.action ? { action: draft.action } : {}),
    status,
    upgrading: running && draft.reason !== ROLLOUT_REASON.scaleDown,
    ...(draft.stalled ? { stalled: { reason: STALL_REASON, message: draft.stalled } } : {}),
    ...(draft.requeueAfterMs !== undefined ? { requeueAfterMs: draft.requeueAfterMs } : {}),
    events: [...extra, ...eventsFor(o, status, draft, prev)],
  };
}
