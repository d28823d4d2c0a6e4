// The rollout planner: table tests (each state × the observations that move it or hold it) on
// observations built from a simulated StatefulSet (sim.ts), then whole rollouts in the
// simulation with crash-and-resume replays (the status write of any pass lost, or the status
// gone entirely), all on a fake clock.
import { describe, expect, it } from 'vitest';
import { ANNOTATION } from '../api/labels.ts';
import { type PodHealth, planRollout, ROLLOUT_REASON, type RolloutObservation } from './planner.ts';
import { SimCluster } from './sim.ts';

const SECOND = 1000;

/** A 3-pod cluster at revision A whose template was just changed to B and applied (partition held). */
function heldAt(rev = 'B', o: ConstructorParameters<typeof SimCluster>[0] = { replicas: 3 }): SimCluster {
  const c = new SimCluster(o);
  c.setTemplate(rev);
  const first = c.pass();
  expect(first.partition).toBe(3);
  c.advance(100);
  return c;
}

function withHealth(obs: RolloutObservation, pod: string, h: PodHealth | undefined): RolloutObservation {
  const health = new Map(obs.health);
  if (h) health.set(pod, h);
  else health.delete(pod);
  return { ...obs, health };
}

function withPod(obs: RolloutObservation, pod: string, patch: Partial<RolloutObservation['pods'][number]>) {
  return { ...obs, pods: obs.pods.map((p) => (p.name === pod ? { ...p, ...patch } : p)) };
}

describe('planRollout: single observations', () => {
  it('renders partition 0 and spec.replicas before the StatefulSet exists', () => {
    const c = new SimCluster({ replicas: 3 });
    const { sts: _none, ...obs } = c.observation();
    const plan = planRollout(obs);
    expect(plan).toMatchObject({ partition: 0, replicas: 3, status: { state: 'Idle' }, upgrading: false });
    expect(plan.action).toBeUndefined();
  });

  it('is Idle with partition 0 when every pod runs the update revision', () => {
    const c = new SimCluster({ replicas: 3 });
    const plan = planRollout(c.observation());
    expect(plan).toMatchObject({ partition: 0, status: { state: 'Idle', podsUpdated: 3 }, events: [] });
  });

  it('applies a new template with the partition held at replicas, and nothing else', () => {
    const c = new SimCluster({ replicas: 3 });
    c.setTemplate('B');
    const plan = planRollout(c.observation());
    expect(plan.partition).toBe(3);
    expect(plan.action).toBeUndefined();
    expect(plan.status).toMatchObject({ state: 'Planned', reason: ROLLOUT_REASON.templateChanged });
    expect(plan.upgrading).toBe(true);
    expect(plan.events.map((e) => e.reason)).toEqual(['RolloutStarted']);
  });

  it('with strategy Restart leaves the partition at 0 and does nothing itself', () => {
    const c = new SimCluster({ replicas: 3, upgrade: { strategy: 'Restart' } });
    c.setTemplate('B');
    let plan = c.pass();
    expect(plan.partition).toBe(0);
    plan = planRollout(c.observation());
    expect(plan).toMatchObject({ partition: 0, status: { state: 'Restarting', reason: 'PlainRollingUpdate' } });
    expect(plan.action).toBeUndefined();
  });

  it('waits while the StatefulSet controller has not observed the latest spec', () => {
    const c = heldAt();
    const obs = c.observation();
    const plan = planRollout({ ...obs, sts: { ...(obs.sts as NonNullable<typeof obs.sts>), observedGeneration: 0 } });
    expect(plan.status.reason).toBe(ROLLOUT_REASON.waitingForStatefulSet);
    expect(plan.action).toBeUndefined();
    expect(plan.partition).toBe(3);
  });

  it('starts with the highest ordinal: drain demo-2 with the reconnect batch of the spec', () => {
    const c = heldAt('B', {
      replicas: 3,
      upgrade: { drain: { reconnectBatch: { size: 7, intervalMilliseconds: 30 } } },
    });
    const plan = planRollout(c.observation());
    expect(plan.action).toEqual({
      kind: 'drain',
      pod: 'demo-2',
      // Closing waits for the endpoints to drop the pod (endpointPropagationSeconds: 1 here).
      request: { batchSize: 7, batchIntervalMs: 30, reason: 'rolling upgrade', closeAfterMs: 1000 },
    });
    expect(plan.status).toMatchObject({ state: 'Draining', pod: 'demo-2', targetRevision: 'B', podsUpdated: 0 });
    expect(plan.partition).toBe(3);
    expect(plan.events.map((e) => e.reason)).toEqual(['PodDraining']);
  });

  describe('the cluster gate', () => {
    it('waits for a pod that is not Ready, then stalls after the health-gate timeout (not sticky)', () => {
      const c = heldAt();
      c.unreachable.add('demo-0');
      const obs = withPod(c.observation(), 'demo-0', { ready: false });
      let plan = planRollout(obs);
      expect(plan.status).toMatchObject({ state: 'Planned', reason: ROLLOUT_REASON.gateWaiting, pod: 'demo-2' });
      expect(plan.status.message).toContain('demo-0 not Ready');
      expect(plan.action).toBeUndefined();
      expect(plan.stalled).toBeUndefined();
      // 31 s later, still failing: Stalled, one Warning Event
      plan = planRollout({
        ...withPod(c.observation(), 'demo-0', { ready: false }),
        previous: plan.status,
        now: obs.now + 31 * SECOND,
      });
      expect(plan.stalled).toMatchObject({ reason: 'HealthGateFailed' });
      expect(plan.status.reason).toBe(ROLLOUT_REASON.gateTimeout);
      expect(plan.events.map((e) => e.reason)).toEqual(['RolloutStalled']);
      const stalled = plan.status;
      plan = planRollout({
        ...withPod(c.observation(), 'demo-0', { ready: false }),
        previous: stalled,
        now: obs.now + 40 * SECOND,
      });
      expect(plan.events).toEqual([]); // no repeat
      // healthy again: the rollout goes on by itself
      c.unreachable.delete('demo-0');
      plan = planRollout({ ...c.observation(), previous: stalled, now: obs.now + 41 * SECOND });
      expect(plan.stalled).toBeUndefined();
      expect(plan.action?.kind).toBe('drain');
    });

    it('names the unhealthy signal of the admin API (history store, queue depth, reset-required channels)', () => {
      const c = heldAt('B', { replicas: 3, upgrade: { healthGate: { maxHistoryQueueDepth: 5 } } });
      const base = c.observation();
      const ok = base.health.get('demo-1') as Extract<PodHealth, { kind: 'ok' }>;
      const cases: Array<[Partial<typeof ok.status>, string]> = [
        [{ history: { ...ok.status.history, reachable: false } }, 'history store (redis) unreachable'],
        [{ pipeline: { ...ok.status.pipeline, queueDepth: 6 } }, 'history queue depth 6 (max 5)'],
        [{ history: { ...ok.status.history, resetRequiredChannels: 1 } }, '1 reset-required channels (max 0)'],
        [{ ready: false }, 'not ready (admin status)'],
      ];
      for (const [patch, text] of cases) {
        const plan = planRollout(withHealth(base, 'demo-1', { kind: 'ok', status: { ...ok.status, ...patch } }));
        expect(plan.action, text).toBeUndefined();
        expect(plan.status.message).toContain(`demo-1: ${text}`);
      }
      const plan = planRollout(withHealth(base, 'demo-1', undefined));
      expect(plan.status.message).toContain('demo-1: no pod IP yet');
    });

    it('waits while the PodDisruptionBudget allows no disruption', () => {
      const c = heldAt();
      const plan = planRollout({ ...c.observation(), pdbDisruptionsAllowed: 0 });
      expect(plan.action).toBeUndefined();
      expect(plan.status.message).toContain('PodDisruptionBudget allows 0 disruptions');
    });

    it('holds for the pause annotation, a running reset and a closed maintenance window (no stall timer)', () => {
      const c = heldAt();
      const obs = c.observation();
      // 12:00 UTC; the window is 01:00-04:59
      const variants: Array<[RolloutObservation, string]> = [
        [{ ...obs, controls: { pauseRollout: true } }, ROLLOUT_REASON.paused],
        [{ ...obs, resetRunning: true }, ROLLOUT_REASON.resetRunning],
        [
          { ...obs, upgrade: { ...obs.upgrade, maintenanceWindows: ['* 1-4 * * *'] } },
          ROLLOUT_REASON.maintenanceWindow,
        ],
      ];
      for (const [v, reason] of variants) {
        const plan = planRollout(v);
        expect(plan.status.reason).toBe(reason);
        expect(plan.action).toBeUndefined();
        expect(plan.status.waitingSince).toBeUndefined();
        const later = planRollout({ ...v, previous: plan.status, now: obs.now + 3_600_000 });
        expect(later.stalled, reason).toBeUndefined();
        expect(later.action).toBeUndefined();
      }
      expect(planRollout(variants[0]?.[0] as RolloutObservation).status.state).toBe('Paused');
      expect(planRollout(variants[0]?.[0] as RolloutObservation).events.map((e) => e.reason)).toEqual([
        'RolloutPaused',
      ]);
      const open = planRollout({ ...obs, upgrade: { ...obs.upgrade, maintenanceWindows: ['* 12 * * *'] } });
      expect(open.action?.kind).toBe('drain');
    });

    it('waits pauseBetweenPodsSeconds after a verified pod', () => {
      const c = heldAt('B', { replicas: 3, upgrade: { pauseBetweenPodsSeconds: 20 } });
      const passes = c.run((x) => x.previous?.state === 'Verifying', { maxPasses: 100 });
      expect(passes).toBeLessThan(100);
      c.run((x) => x.previous?.reason === ROLLOUT_REASON.pauseBetweenPods, { maxPasses: 100 });
      const waitingAt = c.now;
      c.run((x) => x.previous?.state === 'Draining', { maxPasses: 200 });
      expect(c.now - waitingAt).toBeGreaterThanOrEqual(19 * SECOND);
    });
  });

  describe('Supervised', () => {
    it('waits for approve-step=<updateRevision>/<pod>; another pod or revision does not release it', () => {
      const c = heldAt('B', { replicas: 3, upgrade: { strategy: 'Supervised' } });
      const obs = c.observation();
      const plan = planRollout(obs);
      expect(plan.status).toMatchObject({ state: 'WaitingForApproval', pod: 'demo-2' });
      expect(plan.status.message).toContain(`${ANNOTATION.approveStep}=B/demo-2`);
      expect(plan.events.map((e) => e.reason)).toEqual(['RolloutWaitingForApproval']);
      for (const wrong of ['B/demo-1', 'A/demo-2', 'demo-2']) {
        expect(planRollout({ ...obs, controls: { pauseRollout: false, approveStep: wrong } }).action).toBeUndefined();
      }
      const later = planRollout({ ...obs, previous: plan.status, now: obs.now + 3_600_000 });
      expect(later.stalled).toBeUndefined();
      const go = planRollout({ ...obs, controls: { pauseRollout: false, approveStep: 'B/demo-2' } });
      expect(go.action).toMatchObject({ kind: 'drain', pod: 'demo-2' });
    });
  });

  describe('draining', () => {
    function draining(closeMs: number, connections = 100) {
      const c = heldAt('B', { replicas: 3, closeMs, connections });
      const plan = c.pass();
      expect(plan.action?.kind).toBe('drain');
      return c;
    }

    it('waits endpointPropagationSeconds, then for the connections, then flushes (finishDrain)', () => {
      const c = draining(3_000);
      c.advance(500);
      let plan = planRollout(c.observation());
      expect(plan.status).toMatchObject({ state: 'Draining', reason: ROLLOUT_REASON.closingConnections });
      expect(plan.action).toBeUndefined();
      c.advance(1_000); // propagation (1 s) over, connections still open
      plan = planRollout(c.observation());
      expect(plan.action).toBeUndefined();
      expect(plan.status.message).toMatch(/draining demo-2 .*connections left/);
      c.advance(2_000); // all closed
      plan = planRollout(c.observation());
      expect(plan.action).toMatchObject({ kind: 'finishDrain', pod: 'demo-2', flush: true });
      expect(plan.status.reason).toBe(ROLLOUT_REASON.flushing);
    });

    it('goes on connectionDrainTimeoutSeconds after closing started, even with connections left', () => {
      const c = draining(60_000);
      // Closing starts after the 1 s propagation wait; the 10 s drain timeout runs from there.
      c.advance(10_500);
      expect(planRollout(c.observation()).action).toBeUndefined();
      c.advance(1_000);
      expect(planRollout(c.observation()).action).toMatchObject({ kind: 'finishDrain', flush: true });
    });

    it('finishes a drain that is under way even when paused or the gate fails (a drain is one-way)', () => {
      const c = draining(100);
      c.advance(2_000);
      c.controls = { pauseRollout: true };
      const obs = withPod(c.observation(), 'demo-0', { ready: false });
      expect(planRollout(obs).action).toMatchObject({ kind: 'finishDrain', pod: 'demo-2' });
    });

    it('reports a flush that does not complete as a stall, and keeps trying', () => {
      const c = draining(100);
      c.unflushable.add('demo-2');
      c.run((x) => x.previous?.reason === ROLLOUT_REASON.flushTimeout, { maxPasses: 200 });
      const plan = planRollout(c.observation());
      expect(plan.stalled?.message).toContain('has not flushed');
      expect(plan.action).toMatchObject({ kind: 'finishDrain', pod: 'demo-2' });
      expect(c.restarts).toEqual([]);
    });

    it('restarts a pod carrying drained-at: partition = its ordinal, even when paused', () => {
      const c = draining(100);
      c.advance(2_000);
      c.pass(); // finishDrain → drained-at
      c.controls = { pauseRollout: true };
      const plan = planRollout(c.observation());
      expect(plan.action).toEqual({ kind: 'restart', pod: 'demo-2', partition: 2 });
      expect(plan.partition).toBe(2);
      expect(plan.status.state).toBe('Restarting');
    });

    it('skips the drain of a pod that is not Ready and does not answer (nothing to drain)', () => {
      const c = heldAt();
      c.unreachable.add('demo-2');
      const obs = withPod(c.observation(), 'demo-2', { ready: false });
      const plan = planRollout(obs);
      expect(plan.action).toMatchObject({ kind: 'finishDrain', pod: 'demo-2', flush: false });
      expect(plan.status.message).toContain('nothing to drain');
    });

    it('does not drain a Ready pod whose admin API does not answer', () => {
      const c = heldAt();
      c.unreachable.add('demo-2');
      const plan = planRollout(c.observation());
      expect(plan.action).toBeUndefined();
      expect(plan.status.message).toContain('demo-2: admin API: connect ECONNREFUSED');
    });
  });

  describe('verification', () => {
    it('verifies the new pod (ready, healthy, minReady+stable seconds of uptime) before the next step', () => {
      const c = heldAt();
      c.run((x) => x.pods.get(2)?.revision === 'B', { maxPasses: 100 });
      const states: string[] = [];
      c.run(
        (x) => {
          states.push(`${x.previous?.state}:${x.previous?.pod}`);
          return x.previous?.state === 'Draining' && x.previous.pod === 'demo-1';
        },
        { maxPasses: 100 },
      );
      expect(states).toContain('Verifying:demo-2');
      const demo2 = c.pods.get(2);
      // demo-2 became Ready ~1.5 s after creation and had to stay so for 3 s before demo-1 was drained
      expect(c.now - (demo2?.createdMs ?? 0)).toBeGreaterThanOrEqual(4_000);
    });

    it('stalls (sticky) when the new pod fails verification; skip-health-gate or a new template releases it', () => {
      const c = heldAt('C');
      c.broken.add('C');
      c.run((x) => x.previous?.state === 'Failed', { maxPasses: 200 });
      const failed = c.previous;
      expect(failed).toMatchObject({
        state: 'Failed',
        reason: ROLLOUT_REASON.verifyTimeout,
        pod: 'demo-2',
        targetRevision: 'C',
      });
      expect(failed?.message).toContain(`${ANNOTATION.skipHealthGate}=demo-2`);
      const plan = planRollout(c.observation());
      expect(plan.stalled).toMatchObject({ reason: 'HealthGateFailed' });
      expect(plan.action).toBeUndefined();
      expect(plan.events).toEqual([]);
      // many passes later: still stalled, nothing else restarted
      c.run(() => false, { maxPasses: 40 });
      expect(c.revisions()).toBe('AAC');
      expect(c.previous?.state).toBe('Failed');
      // break-glass: skip demo-2 → the rollout goes on to demo-1
      c.controls = { pauseRollout: false, skipHealthGate: 'demo-2' };
      expect(planRollout(c.observation()).action).toMatchObject({ kind: 'drain', pod: 'demo-1' });
    });
  });

  describe('rollback', () => {
    it('deletes a broken pod below the partition when the update revision is the current one', () => {
      const c = heldAt('C');
      c.broken.add('C');
      c.run((x) => x.previous?.state === 'Failed', { maxPasses: 200 });
      c.setTemplate('A'); // revert
      let plan = c.pass();
      expect(plan).toMatchObject({
        partition: 3,
        status: { state: 'Planned', reason: ROLLOUT_REASON.templateChanged },
      });
      c.advance(500);
      plan = planRollout(c.observation());
      expect(plan.action).toMatchObject({ kind: 'deletePod', pod: 'demo-2' });
      expect(plan.events.map((e) => e.reason)).toEqual(['ForcedRollback']);
      expect(plan.partition).toBe(3); // not lowered: the other pods are never touched
    });
  });

  describe('scale-down', () => {
    it('drains the removed pods (highest first) before lowering replicas', () => {
      const c = new SimCluster({ replicas: 3, closeMs: 500 });
      c.specReplicas = 1;
      let plan = planRollout(c.observation());
      expect(plan.replicas).toBe(3);
      expect(plan.action).toMatchObject({ kind: 'drain', pod: 'demo-2' });
      expect(plan.upgrading).toBe(false);
      c.run((x) => x.stsReplicas === 1, { maxPasses: 100 });
      expect(c.violations).toEqual([]);
      expect([...c.pods.keys()]).toEqual([0]);
      plan = planRollout(c.observation());
      expect(plan).toMatchObject({ replicas: 1, status: { state: 'Idle' } });
    });

    it('scales up at once', () => {
      const c = new SimCluster({ replicas: 1 });
      c.specReplicas = 3;
      expect(planRollout(c.observation())).toMatchObject({ replicas: 3, partition: 0 });
    });
  });
});

describe('planRollout: whole rollouts in the simulation', () => {
  function upgradeAll(c: SimCluster, rev: string, lose?: (i: number) => boolean): number {
    c.setTemplate(rev);
    let maxUnavailable = 0;
    const passes = c.run(
      (x) => {
        maxUnavailable = Math.max(maxUnavailable, x.unavailable());
        return x.revisions() === rev.repeat(3) && x.currentRevision === rev && x.previous?.state === 'Idle';
      },
      { maxPasses: 400, ...(lose ? { lose } : {}) },
    );
    expect(maxUnavailable, 'at most one pod unavailable at any time').toBeLessThanOrEqual(1);
    return passes;
  }

  it('rolls 3 pods one at a time, highest ordinal first, each drained and verified', () => {
    const c = new SimCluster({ replicas: 3 });
    const events: string[] = [];
    c.setTemplate('B');
    for (let i = 0; i < 400; i++) {
      if (c.revisions() === 'BBB' && c.previous?.state === 'Idle') break;
      events.push(...c.pass().events.map((e) => e.reason));
      c.advance(500);
    }
    expect(c.revisions()).toBe('BBB');
    expect(c.violations).toEqual([]);
    expect(c.restarts).toEqual(['demo-2@A→B', 'demo-1@A→B', 'demo-0@A→B']);
    expect(events.filter((e) => e === 'PodDraining')).toHaveLength(3);
    expect(events.filter((e) => e === 'PodUpdated')).toHaveLength(3);
    expect(events[0]).toBe('RolloutStarted');
    expect(events.at(-1)).toBe('RolloutCompleted');
    expect(c.partition).toBe(0);
  });

  it('resumes after a crash at any pass: the status write of that pass is lost', () => {
    const reference = new SimCluster({ replicas: 3 });
    const total = upgradeAll(reference, 'B');
    expect(total).toBeLessThan(400);
    for (let k = 0; k < total; k++) {
      const c = new SimCluster({ replicas: 3 });
      const passes = upgradeAll(c, 'B', (i) => i === k);
      expect(passes, `crash at pass ${k}`).toBeLessThan(400);
      expect(c.violations, `crash at pass ${k}`).toEqual([]);
      expect(c.restarts, `crash at pass ${k}`).toEqual(['demo-2@A→B', 'demo-1@A→B', 'demo-0@A→B']);
    }
  });

  it('resumes from cluster state alone: the whole status lost at any pass', () => {
    const reference = new SimCluster({ replicas: 3 });
    const total = upgradeAll(reference, 'B');
    for (let k = 1; k < total; k++) {
      const c = new SimCluster({ replicas: 3 });
      c.setTemplate('B');
      c.run(() => false, { maxPasses: k });
      c.previous = undefined; // a new operator, and the status is gone too
      const passes = c.run(
        (x) => x.revisions() === 'BBB' && x.currentRevision === 'B' && x.previous?.state === 'Idle',
        {
          maxPasses: 400,
        },
      );
      expect(passes, `status lost at pass ${k}`).toBeLessThan(400);
      expect(c.violations, `status lost at pass ${k}`).toEqual([]);
      expect(c.restarts.length, `status lost at pass ${k}`).toBe(3);
    }
  });

  it('keeps every pod on the old revision while Supervised steps are not approved, then rolls each approved one', () => {
    const c = new SimCluster({ replicas: 3, upgrade: { strategy: 'Supervised' } });
    c.setTemplate('B');
    c.run(() => false, { maxPasses: 30 });
    expect(c.revisions()).toBe('AAA');
    expect(c.previous).toMatchObject({ state: 'WaitingForApproval', pod: 'demo-2' });
    for (const pod of ['demo-2', 'demo-1', 'demo-0']) {
      c.controls = { pauseRollout: false, approveStep: `B/${pod}` };
      c.run((x) => x.previous?.state === 'WaitingForApproval' && x.previous.pod !== pod, { maxPasses: 100 });
      if (pod !== 'demo-0') expect(c.previous?.state).toBe('WaitingForApproval');
    }
    c.run((x) => x.previous?.state === 'Idle', { maxPasses: 100 });
    expect(c.revisions()).toBe('BBB');
    expect(c.violations).toEqual([]);
  });

  it('stalls on a broken revision, touches no other pod, and rolls back when the spec is reverted', () => {
    const c = new SimCluster({ replicas: 3 });
    c.broken.add('C');
    c.setTemplate('C');
    c.run((x) => x.previous?.state === 'Failed', { maxPasses: 300 });
    expect(c.revisions()).toBe('AAC');
    c.run(() => false, { maxPasses: 50 });
    expect(c.revisions()).toBe('AAC');
    c.setTemplate('A');
    const passes = c.run((x) => x.revisions() === 'AAA' && x.previous?.state === 'Idle', { maxPasses: 300 });
    expect(passes).toBeLessThan(300);
    expect(c.restarts).toEqual(['demo-2@A→C', 'demo-2@C deleted']);
    expect(c.violations).toEqual([]);
    expect(c.partition).toBe(0);
  });

  it('replaces a pod a revert caught mid-drain (a drain is one-way)', () => {
    const c = new SimCluster({ replicas: 3, closeMs: 5_000 });
    c.setTemplate('B');
    c.run((x) => x.previous?.state === 'Draining' && x.previous.pod === 'demo-2', { maxPasses: 50 });
    c.setTemplate('A'); // revert while demo-2 drains
    const passes = c.run((x) => x.revisions() === 'AAA' && x.previous?.state === 'Idle' && x.unavailable() === 0, {
      maxPasses: 300,
    });
    expect(passes).toBeLessThan(300);
    expect(c.restarts).toEqual(['demo-2@A deleted']);
    expect(c.violations).toEqual([]);
  });

  it('rolls forward past a broken revision to a fixed one', () => {
    const c = new SimCluster({ replicas: 3 });
    c.broken.add('C');
    c.setTemplate('C');
    c.run((x) => x.previous?.state === 'Failed', { maxPasses: 300 });
    upgradeAll(c, 'D');
    expect(c.revisions()).toBe('DDD');
    expect(c.violations).toEqual([]);
  });

  it('lets a scale-down drain first, then finishes the rollout', () => {
    const c = new SimCluster({ replicas: 3 });
    c.setTemplate('B');
    c.run(() => false, { maxPasses: 4 });
    c.specReplicas = 2;
    const passes = c.run((x) => x.revisions() === 'BB' && x.previous?.state === 'Idle', { maxPasses: 400 });
    expect(passes).toBeLessThan(400);
    expect(c.violations).toEqual([]);
  });
});
