// A small model of what the rollout planner drives, for its unit tests: a StatefulSet controller
// (Parallel pods, RollingUpdate with a partition, currentRevision/updateRevision), pods that
// become Ready some time after creation unless their revision is "broken", and each pod's data
// plane (drain: readiness off, connections closed over time; flush). Deterministic; time moves
// only when the test says so. Invariant violations (a Ready pod restarted without a drain, more
// than one action in a pass) are recorded, never thrown, so a test can assert on all of them.
import type { z } from 'zod';
import { type ClusterSpec, UpgradeSchema } from '../api/v1alpha1/cluster.ts';
import type { AdminStatus } from '../dataplane/admin-client.ts';
import type { PodHealth, PodView } from './health.ts';
import { planRollout, type RolloutObservation, type RolloutPlan, type RolloutStatus } from './planner.ts';

export interface SimPod {
  name: string;
  ordinal: number;
  uid: string;
  revision: string;
  createdMs: number;
  readyMs?: number;
  notReadySinceMs: number;
  drainedAtMs?: number;
  drainStartedMs?: number;
  connections: number;
  terminating: boolean;
}

export interface SimOptions {
  readonly replicas: number;
  /** spec.upgrade as a user writes it (defaults filled in, healthGate and drain merged over fast test values). */
  readonly upgrade?: z.input<typeof UpgradeSchema>;
  /** How long a pod takes to become Ready after creation. */
  readonly startupMs?: number;
  /** Connections per pod at start; a drain closes them over `closeMs`. */
  readonly connections?: number;
  readonly closeMs?: number;
  readonly start?: number;
}

export class SimCluster {
  now: number;
  specReplicas: number;
  stsReplicas: number;
  partition = 0;
  currentRevision: string;
  updateRevision: string;
  /** The template the CR renders now vs the one applied to the StatefulSet. */
  rendered: string;
  applied: string;
  generation = 1;
  observedGeneration = 1;
  readonly pods = new Map<number, SimPod>();
  readonly broken = new Set<string>();
  readonly unreachable = new Set<string>();
  /** Pods whose flush never completes. */
  readonly unflushable = new Set<string>();
  upgrade: ClusterSpec['upgrade'];
  controls: RolloutObservation['controls'] = { pauseRollout: false };
  resetRunning = false;
  previous: RolloutStatus | undefined;
  readonly violations: string[] = [];
  readonly log: string[] = [];
  readonly restarts: string[] = [];
  #uid = 0;
  readonly #o: SimOptions;

  constructor(o: SimOptions) {
    this.#o = o;
    this.now = o.start ?? Date.UTC(2026, 5, 1, 12, 0, 0);
    this.specReplicas = o.replicas;
    this.stsReplicas = o.replicas;
    this.upgrade = UpgradeSchema.parse({
      ...o.upgrade,
      healthGate: { minReadySeconds: 1, stableSeconds: 2, timeoutSeconds: 30, ...o.upgrade?.healthGate },
      drain: { endpointPropagationSeconds: 1, connectionDrainTimeoutSeconds: 10, ...o.upgrade?.drain },
    });
    this.currentRevision = 'A';
    this.updateRevision = 'A';
    this.rendered = 'A';
    this.applied = 'A';
    for (let i = 0; i < o.replicas; i++) this.#create(i, 'A', true);
  }

  #create(ordinal: number, revision: string, readyNow = false): void {
    const p: SimPod = {
      name: `demo-${ordinal}`,
      ordinal,
      uid: `uid-${++this.#uid}`,
      revision,
      createdMs: readyNow ? this.now - 3_600_000 : this.now,
      notReadySinceMs: this.now,
      connections: this.#o.connections ?? 100,
      terminating: false,
    };
    if (readyNow) p.readyMs = p.createdMs + 1000;
    this.pods.set(ordinal, p);
  }

  /** The user edits the CR: a new pod template (a new revision name). */
  setTemplate(revision: string): void {
    this.rendered = revision;
  }

  #ready(p: SimPod): boolean {
    return p.readyMs !== undefined && p.readyMs <= this.now && !p.terminating && p.drainStartedMs === undefined;
  }

  #health(p: SimPod): PodHealth | undefined {
    if (this.broken.has(p.revision) || this.unreachable.has(p.name)) {
      return { kind: 'error', message: 'connect ECONNREFUSED' };
    }
    if (p.readyMs === undefined || p.readyMs > this.now) return { kind: 'error', message: 'connect ECONNREFUSED' };
    const draining = p.drainStartedMs !== undefined;
    const closeMs = this.#o.closeMs ?? 2_000;
    const left = draining
      ? Math.max(0, Math.ceil(p.connections * (1 - (this.now - (p.drainStartedMs ?? 0)) / closeMs)))
      : p.connections;
    const status = {
      nodeId: p.name,
      version: p.revision,
      uptimeSeconds: Math.floor((this.now - p.readyMs) / 1000) + 1,
      ready: !draining,
      draining,
      connections: left,
      connectionsByApp: {},
      channels: 0,
      drain: draining
        ? {
            state: left === 0 ? 'drained' : 'draining',
            startedAtMs: p.drainStartedMs as number,
            remainingConnections: left,
            closedConnections: p.connections - left,
            pendingFlushes: 0,
          }
        : null,
      history: { store: 'redis', reachable: true, degradedChannels: 0, resetRequiredChannels: 0 },
      pipeline: { queueDepth: 0, rollupActiveStreams: 0, rollupHeldBytes: 0, rollupPendingWindows: 0 },
      policies: {} as AdminStatus['policies'],
    } satisfies AdminStatus;
    return { kind: 'ok', status };
  }

  observation(): RolloutObservation {
    const pods: PodView[] = [...this.pods.values()].map((p) => {
      const ready = this.#ready(p);
      return {
        name: p.name,
        ordinal: p.ordinal,
        uid: p.uid,
        revision: p.revision,
        ready,
        readySinceMs: ready ? p.readyMs : p.notReadySinceMs,
        runningSinceMs: p.createdMs,
        restartCount: 0,
        terminating: p.terminating,
        createdMs: p.createdMs,
        ...(p.drainedAtMs !== undefined ? { drainedAtMs: p.drainedAtMs } : {}),
        ip: `10.0.0.${p.ordinal}`,
      };
    });
    const health = new Map<string, PodHealth>();
    for (const p of this.pods.values()) {
      const h = this.#health(p);
      if (h) health.set(p.name, h);
    }
    const unavailable = pods.filter((p) => !p.ready).length;
    return {
      now: this.now,
      clusterName: 'demo',
      replicas: this.specReplicas,
      upgrade: this.upgrade,
      pdbEnabled: true,
      controls: this.controls,
      sts: {
        generation: this.generation,
        observedGeneration: this.observedGeneration,
        replicas: this.stsReplicas,
        partition: this.partition,
        currentRevision: this.currentRevision,
        updateRevision: this.updateRevision,
        templateChanged: this.rendered !== this.applied,
      },
      pods,
      health,
      pdbDisruptionsAllowed: Math.max(0, 1 - unavailable),
      resetRunning: this.resetRunning,
      ...(this.previous ? { previous: this.previous } : {}),
    };
  }

  /** One reconcile pass: plan, execute the action, apply, persist the status (unless `loseStatus`). */
  pass(opts: { loseStatus?: boolean } = {}): RolloutPlan {
    const plan = planRollout(this.observation());
    this.#execute(plan);
    this.#apply(plan);
    if (!opts.loseStatus) this.previous = plan.status;
    this.log.push(
      `${this.now}: ${plan.status.state}/${plan.status.reason} ${plan.status.pod ?? ''} ${plan.action?.kind ?? ''}`,
    );
    this.#controller();
    return plan;
  }

  #execute(plan: RolloutPlan): void {
    const a = plan.action;
    if (!a || a.kind === 'scaleDown') return;
    const pod = [...this.pods.values()].find((p) => p.name === a.pod);
    if (a.kind === 'drain' && pod) pod.drainStartedMs ??= this.now;
    if (a.kind === 'finishDrain' && pod && pod.uid === a.uid) {
      if (!(a.flush && this.unflushable.has(pod.name))) pod.drainedAtMs = this.now;
    }
    if (a.kind === 'deletePod' && pod && pod.uid === a.uid) {
      this.#checkDrained(pod, 'forced delete');
      this.restarts.push(`${pod.name}@${pod.revision} deleted`);
      this.#recreate(pod);
    }
  }

  #apply(plan: RolloutPlan): void {
    let changed = false;
    if (this.applied !== this.rendered) {
      this.applied = this.rendered;
      changed = true;
    }
    if (plan.partition !== this.partition || plan.replicas !== this.stsReplicas) changed = true;
    this.partition = plan.partition;
    this.stsReplicas = plan.replicas;
    if (changed) this.generation++;
  }

  #recreate(p: SimPod): void {
    const rev = p.ordinal >= this.partition ? this.updateRevision : this.currentRevision;
    this.pods.delete(p.ordinal);
    this.#create(p.ordinal, rev);
  }

  /** The StatefulSet controller (Parallel, RollingUpdate), run after every pass. */
  #controller(): void {
    if (this.observedGeneration < this.generation) {
      this.observedGeneration = this.generation;
      this.updateRevision = this.applied;
    }
    for (const p of [...this.pods.values()]) {
      if (p.ordinal >= this.stsReplicas) {
        this.#checkDrained(p, 'scale-down');
        this.pods.delete(p.ordinal);
      }
    }
    for (let i = 0; i < this.stsReplicas; i++) {
      if (!this.pods.has(i)) this.#create(i, i >= this.partition ? this.updateRevision : this.currentRevision);
    }
    for (let i = this.stsReplicas - 1; i >= this.partition; i--) {
      const p = this.pods.get(i) as SimPod;
      if (p.revision !== this.updateRevision) {
        this.#checkDrained(p, 'rolling update');
        this.restarts.push(`${p.name}@${p.revision}→${this.updateRevision}`);
        this.#recreate(p);
        break;
      }
      if (!this.#ready(p)) break;
    }
    const all = [...this.pods.values()];
    if (all.length === this.stsReplicas && all.every((p) => p.revision === this.updateRevision && this.#ready(p))) {
      this.currentRevision = this.updateRevision;
    }
  }

  /** A pod whose data plane runs must have been drained and flushed (drained-at) before it goes. */
  #checkDrained(p: SimPod, why: string): void {
    const running = this.#health(p)?.kind === 'ok';
    if (running && p.drainedAtMs === undefined) {
      this.violations.push(`${why} removed ${p.name} (data plane running, not drained) at ${this.now}`);
    }
  }

  /** Time passes; pods whose revision is not broken become Ready after startupMs. */
  advance(ms: number): void {
    this.now += ms;
    for (const p of this.pods.values()) {
      if (
        p.readyMs === undefined &&
        !this.broken.has(p.revision) &&
        this.now - p.createdMs >= (this.#o.startupMs ?? 1_500)
      ) {
        p.readyMs = this.now;
      }
    }
  }

  unavailable(): number {
    return this.observation().pods.filter((p) => !p.ready).length;
  }

  /** Runs passes every `stepMs` until `done` or `maxPasses`; returns the passes run. */
  run(
    done: (c: SimCluster) => boolean,
    o: { maxPasses?: number; stepMs?: number; lose?: (i: number) => boolean } = {},
  ): number {
    const max = o.maxPasses ?? 500;
    for (let i = 0; i < max; i++) {
      if (done(this)) return i;
      this.pass({ loseStatus: o.lose?.(i) ?? false });
      this.advance(o.stepMs ?? 500);
    }
    return max;
  }

  revisions(): string {
    return [...this.pods.values()]
      .sort((a, b) => a.ordinal - b.ordinal)
      .map((p) => p.revision)
      .join('');
  }
}
