// The drain-aware rollout end to end: the operator process against a real kube-apiserver +
// controller-manager + kwok, where every pod address reaches a real data-plane process started
// by the pod runner (test/helpers/pod-runner.ts), so drains, flushes and health checks hit real
// nodes. Scenarios on one 3-pod cluster (on a real redis-server), in order: a full upgrade; a
// ChannelPolicy change that must not roll anything; a pod stuck on a crashing image (stall, then
// rollback by reverting the spec); a Supervised upgrade released step by step; an operator
// killed mid-rollout and replaced; a scale-down that drains the pods it removes.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { ANNOTATION } from '../../operator/src/api/labels.ts';
import { RESOURCE } from '../../operator/src/kube/resources.ts';
import {
  clusterCr,
  conditionOf,
  eventsFor,
  mergePatch,
  NS,
  type Obj,
  podsOf,
  type RolloutEnv,
  settled,
  startRolloutEnv,
  stsOf,
  until,
} from '../helpers/rollout-env.ts';
import { TestWsClient } from '../helpers/ws-client.ts';
import { APP, signed } from '../integration/rest-helpers.ts';

const START_TIMEOUT = Number(process.env.AIT_K8S_BUILD_TIMEOUT_MS ?? 45 * 60_000) + 180_000;
const NAME = 'demo';

let env: RolloutEnv | undefined;
const failed = { value: false };

function debugOnFailure() {
  onTestFailed(() => {
    failed.value = true;
    if (env) process.stderr.write(`${env.debug()}\n`);
  });
}

beforeAll(async () => {
  env = await startRolloutEnv({ startTimeoutMs: START_TIMEOUT });
}, START_TIMEOUT);

afterAll(async () => {
  await env?.stop(failed.value);
}, 60_000);

const E = () => env as RolloutEnv;
const cluster = () => E().api.get<Obj>(RESOURCE.cluster, NS, NAME);
const rollout = (c: Obj | undefined) => c?.status?.rollout as Record<string, string> | undefined;

/** Samples the number of Ready data-plane pods until stopped: the least seen. */
function availabilitySampler() {
  let min = Number.POSITIVE_INFINITY;
  let running = true;
  const loop = (async () => {
    while (running) {
      const pods = await podsOf(E().api, NAME).catch(() => undefined);
      if (pods) min = Math.min(min, pods.filter((p) => p.ready).length);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return min;
    },
  };
}

/** One V2 socket on every pod (so each drain has connections to close). */
async function socketsOnEveryPod(): Promise<Array<{ pod: string; client: TestWsClient }>> {
  const out: Array<{ pod: string; client: TestWsClient }> = [];
  for (const p of await podsOf(E().api, NAME)) {
    const client = await TestWsClient.established(`ws://${p.ip}:6001/app/${APP.key}?protocol=2`);
    out.push({ pod: p.name, client });
  }
  return out;
}

async function upgradeTo(version: string, spec: Record<string, unknown> = {}): Promise<void> {
  await mergePatch(E().transport, RESOURCE.cluster, NAME, { spec: { version, ...spec } });
}

describe('rollout against real data-plane processes', () => {
  it('creates the cluster: every pod runs a data plane that answers at its pod IP', async () => {
    debugOnFailure();
    await E().api.create(clusterCr(NAME, E().redis.port));
    const cr = await until('cluster settled', () => settled(E().api, NAME, 3), 120_000);
    expect(cr.status?.phase).toBe('Running');
    const dp = await until('status.dataPlane from the admin API', async () => {
      const c = await cluster();
      const d = c?.status?.dataPlane as Record<string, unknown> | undefined;
      return d?.reachablePods === 3 ? d : undefined;
    });
    expect(dp).toMatchObject({ connections: 0, resetRequiredChannels: 0, degradedChannels: 0, reachablePods: 3 });
    expect(conditionOf(await cluster(), 'Degraded')?.status).toBe('False');
    const pods = await podsOf(E().api, NAME);
    expect(pods.map((p) => p.ip).every((ip) => ip.startsWith('127.'))).toBe(true);
    expect(E().runner.running()).toHaveLength(3);
  }, 180_000);

  it('a full upgrade drains, restarts and verifies one pod at a time, highest ordinal first', async () => {
    debugOnFailure();
    const before = await podsOf(E().api, NAME);
    const revBefore = (await stsOf(E().api, NAME)).status?.updateRevision;
    const sockets = await socketsOnEveryPod();
    const terminationsBefore = E().runner.terminations.length;
    const sampler = availabilitySampler();
    const t0 = Date.now();
    await upgradeTo('0.1.1');
    const cr = await until(
      'upgrade to 0.1.1 settled',
      async () => {
        const c = await settled(E().api, NAME, 3);
        return c && (await stsOf(E().api, NAME)).status?.updateRevision !== revBefore ? c : undefined;
      },
      150_000,
    );
    const minReady = await sampler.stop();
    const seconds = (Date.now() - t0) / 1000;
    process.stderr.write(`full upgrade of 3 pods took ${seconds.toFixed(1)}s\n`);
    expect(cr.status).toMatchObject({ currentVersion: '0.1.1', targetVersion: '0.1.1', phase: 'Running' });
    // every old pod went away exactly once, drained first (the data plane said so) and marked
    const gone = E().runner.terminations.slice(terminationsBefore);
    expect(gone.map((t) => t.pod)).toEqual(['demo-2', 'demo-1', 'demo-0']);
    for (const t of gone) {
      expect(t.drainedAt, `${t.pod} drained-at`).toBeDefined();
      expect(t.wasDraining, `${t.pod} was draining when stopped`).toBe(true);
      expect(t.connectionsLeft, `${t.pod} connections left`).toBe(0);
      expect(t.exit).toBe(0);
    }
    expect(new Set(gone.map((t) => t.uid))).toEqual(new Set(before.map((p) => p.uid)));
    expect(minReady, 'never more than one pod down').toBeGreaterThanOrEqual(2);
    // the sockets were told to reconnect elsewhere
    for (const s of sockets) expect((await s.client.closed).code, s.pod).toBe(4200);
    const events = (await eventsFor(E().api, NAME)).map((e) => e.reason);
    expect(events).toContain('RolloutStarted');
    expect(events.filter((e) => e === 'PodDraining').length).toBeGreaterThanOrEqual(3);
    expect(events).toContain('RolloutCompleted');
    const metrics = await E().operator.metrics();
    expect(metrics).toMatch(/aitransport_operator_rollout_actions_total\{[^}]*action="drain"\} 3/);
    expect(metrics).toMatch(/aitransport_operator_rollout_step\{cluster_namespace="apps",cluster="demo"\} 0/);
    expect(metrics).toMatch(/aitransport_operator_rollout_stalled\{cluster_namespace="apps",cluster="demo"\} 0/);
  }, 180_000);

  it('does not roll any pod for a ChannelPolicy change (hot-reloaded)', async () => {
    debugOnFailure();
    const sts = await stsOf(E().api, NAME);
    const terminations = E().runner.terminations.length;
    await E().api.create({
      apiVersion: 'aitransport.io/v1alpha1',
      kind: 'ChannelPolicy',
      metadata: { name: 'ai', namespace: NS },
      spec: { clusterRef: { name: NAME }, appId: APP.id, channels: { prefixes: ['private-ai-'] } },
    } as Obj);
    await until('policy Applied', async () => {
      const p = await E().api.get<Obj>(RESOURCE.channelPolicy, NS, 'ai');
      return conditionOf(p, 'Applied')?.status === 'True' ? p : undefined;
    });
    // the reset side of the policy sees the data plane too
    const p = await until('policy ResetRequired=False from the admin API', async () => {
      const x = await E().api.get<Obj>(RESOURCE.channelPolicy, NS, 'ai');
      return conditionOf(x, 'ResetRequired')?.status === 'False' ? x : undefined;
    });
    expect(p.status?.resetRequiredChannels).toBe(0);
    await new Promise((r) => setTimeout(r, 3_000));
    const after = await stsOf(E().api, NAME);
    expect(after.metadata?.generation).toBe(sts.metadata?.generation);
    expect(E().runner.terminations.length).toBe(terminations);
    expect(rollout(await cluster())?.state).toBe('Idle');
  }, 60_000);

  it('stalls on a pod stuck on a crashing image, then rolls it back when the spec is reverted', async () => {
    debugOnFailure();
    const before = await podsOf(E().api, NAME);
    const goodRevision = (await stsOf(E().api, NAME)).status?.updateRevision;
    await mergePatch(E().transport, RESOURCE.cluster, NAME, { spec: { image: { tag: '0.1.2-crash' } } });
    const stalled = await until(
      'Stalled=True HealthGateFailed',
      async () => {
        const c = await cluster();
        return conditionOf(c, 'Stalled')?.reason === 'HealthGateFailed' ? c : undefined;
      },
      90_000,
    );
    expect(conditionOf(stalled, 'Stalled')?.status).toBe('True');
    expect(rollout(stalled)).toMatchObject({ state: 'Failed', reason: 'VerifyTimeout', pod: 'demo-2' });
    expect(stalled.status?.phase).toBe('Failed');
    expect((await eventsFor(E().api, NAME)).some((e) => e.reason === 'RolloutStalled' && e.type === 'Warning')).toBe(
      true,
    );
    expect(await E().operator.metrics()).toMatch(
      /aitransport_operator_rollout_stalled\{cluster_namespace="apps",cluster="demo"\} 1/,
    );
    // only demo-2 was touched; the others keep serving on the good revision
    const during = await podsOf(E().api, NAME);
    for (const name of ['demo-0', 'demo-1']) {
      expect(during.find((p) => p.name === name)?.uid).toBe(before.find((p) => p.name === name)?.uid);
      expect(during.find((p) => p.name === name)?.ready).toBe(true);
    }
    expect(during.find((p) => p.name === 'demo-2')?.ready).toBe(false);
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await podsOf(E().api, NAME)).find((p) => p.name === 'demo-1')?.uid).toBe(
      before.find((p) => p.name === 'demo-1')?.uid,
    );

    // revert: the operator deletes the stuck pod (a StatefulSet never replaces it on its own)
    await mergePatch(E().transport, RESOURCE.cluster, NAME, { spec: { image: { tag: null } } });
    const cr = await until('rolled back and settled', () => settled(E().api, NAME, 3), 120_000);
    expect((await stsOf(E().api, NAME)).status?.updateRevision).toBe(goodRevision);
    expect(conditionOf(cr, 'Stalled')?.status).toBe('False');
    const events = await eventsFor(E().api, NAME);
    expect(events.some((e) => e.reason === 'ForcedRollback')).toBe(true);
    const after = await podsOf(E().api, NAME);
    for (const name of ['demo-0', 'demo-1']) {
      expect(after.find((p) => p.name === name)?.uid).toBe(before.find((p) => p.name === name)?.uid);
    }
    expect(await E().operator.metrics()).toMatch(
      /aitransport_operator_rollout_stalled\{cluster_namespace="apps",cluster="demo"\} 0/,
    );
  }, 240_000);

  it('Supervised: waits before each pod until approve-step names it', async () => {
    debugOnFailure();
    const terminations = E().runner.terminations.length;
    await upgradeTo('0.1.3', { upgrade: { strategy: 'Supervised' } });
    for (const pod of ['demo-2', 'demo-1', 'demo-0']) {
      const waiting = await until(
        `waiting for approval of ${pod}`,
        async () => {
          const c = await cluster();
          const r = rollout(c);
          return r?.state === 'WaitingForApproval' && r.pod === pod ? c : undefined;
        },
        60_000,
      );
      const rev = rollout(waiting)?.targetRevision;
      expect(rollout(waiting)?.message).toContain(`${ANNOTATION.approveStep}=${rev}/${pod}`);
      // nothing moves without the approval
      const done = E().runner.terminations.length;
      await new Promise((r) => setTimeout(r, 2_000));
      expect(E().runner.terminations.length).toBe(done);
      await mergePatch(E().transport, RESOURCE.cluster, NAME, {
        metadata: { annotations: { [ANNOTATION.approveStep]: `${rev}/${pod}` } },
      });
    }
    await until('supervised upgrade settled', () => settled(E().api, NAME, 3), 90_000);
    const gone = E().runner.terminations.slice(terminations);
    expect(gone.map((t) => t.pod)).toEqual(['demo-2', 'demo-1', 'demo-0']);
    for (const t of gone) expect(t.wasDraining).toBe(true);
    expect((await eventsFor(E().api, NAME)).some((e) => e.reason === 'RolloutWaitingForApproval')).toBe(true);
    await mergePatch(E().transport, RESOURCE.cluster, NAME, {
      metadata: { annotations: { [ANNOTATION.approveStep]: null } },
      spec: { upgrade: { strategy: 'Drain' } },
    });
  }, 240_000);

  it('resumes after the operator is killed mid-rollout: no pod skipped, none drained twice', async () => {
    debugOnFailure();
    const terminations = E().runner.terminations.length;
    await upgradeTo('0.1.4');
    // kill it once the second pod's step is under way
    await until(
      'rollout at demo-1',
      async () => {
        const r = rollout(await cluster());
        return r?.pod === 'demo-1' && ['Draining', 'Restarting'].includes(r.state ?? '');
      },
      90_000,
    );
    await E().operator.stop(0);
    await E().startOperator('operator-1');
    await until('upgrade settled under the new operator', () => settled(E().api, NAME, 3), 120_000);
    const gone = E().runner.terminations.slice(terminations);
    expect(gone.map((t) => t.pod)).toEqual(['demo-2', 'demo-1', 'demo-0']);
    for (const t of gone) {
      expect(t.drainedAt, t.pod).toBeDefined();
      expect(t.wasDraining, t.pod).toBe(true);
    }
  }, 240_000);

  it('pauses between steps with the pause-rollout annotation, and goes on without it', async () => {
    debugOnFailure();
    const terminations = E().runner.terminations.length;
    await mergePatch(E().transport, RESOURCE.cluster, NAME, {
      metadata: { annotations: { [ANNOTATION.pauseRollout]: 'true' } },
      spec: { version: '0.1.5' },
    });
    const paused = await until('rollout Paused', async () => {
      const c = await cluster();
      return rollout(c)?.state === 'Paused' ? c : undefined;
    });
    expect(rollout(paused)?.pod).toBe('demo-2');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(E().runner.terminations.length).toBe(terminations);
    await mergePatch(E().transport, RESOURCE.cluster, NAME, {
      metadata: { annotations: { [ANNOTATION.pauseRollout]: null } },
    });
    await until('settled after the pause', () => settled(E().api, NAME, 3), 120_000);
    expect(E().runner.terminations.length - terminations).toBe(3);
  }, 180_000);

  it('scale-down drains the pods it removes before they go', async () => {
    debugOnFailure();
    const terminations = E().runner.terminations.length;
    const sockets = (await socketsOnEveryPod()).filter((s) => s.pod === 'demo-2');
    await mergePatch(E().transport, RESOURCE.cluster, NAME, { spec: { replicas: 2 } });
    await until('scaled to 2', () => settled(E().api, NAME, 2), 90_000);
    const gone = E().runner.terminations.slice(terminations);
    expect(gone.map((t) => t.pod)).toEqual(['demo-2']);
    expect(gone[0]?.wasDraining).toBe(true);
    expect(gone[0]?.drainedAt).toBeDefined();
    for (const s of sockets) expect((await s.client.closed).code).toBe(4200);
  }, 120_000);

  describe('ChannelPolicy resets against the real store', () => {
    const publish = async (channel: string, data: string) => {
      const pod = (await podsOf(E().api, NAME))[0];
      const r = await signed(
        6001,
        'POST',
        `/apps/${APP.id}/events`,
        { name: 'ai-output', channel, data },
        {
          host: pod?.ip ?? '',
        },
      );
      expect(r.status, r.text).toBe(200);
    };
    /** Makes the store lose a channel's rows (as an eviction would): its next write finds it reset_required. */
    const loseHistory = async (channel: string) => {
      await publish(channel, 'm1');
      await publish(channel, 'm2');
      const keys = (await E().redis.command(['KEYS', `ait-${NAME}:h:*:idx:${channel}`])) as string[];
      expect(keys).toHaveLength(1);
      await E().redis.command(['DEL', ...keys]);
      await publish(channel, 'm3');
    };
    const policy = (name = 'ai') => E().api.get<Obj>(RESOURCE.channelPolicy, NS, name);
    const nudge = (name = 'ai') =>
      mergePatch(E().transport, RESOURCE.channelPolicy, name, { metadata: { labels: { nudge: String(Date.now()) } } });
    const lastReset = (p: Obj | undefined) => p?.status?.lastReset as Record<string, unknown> | undefined;
    const state = async (channel: string) => {
      const pod = (await podsOf(E().api, NAME))[0];
      const r = await signed(6001, 'GET', `/apps/${APP.id}/channels/${channel}/history/state`, undefined, {
        host: pod?.ip ?? '',
      });
      return (r.json().stream as { state: { durable_state: string; stream_id: string } }).state;
    };

    it('reports reset-required channels (policy and cluster), dry-runs, then resets on a manual token', async () => {
      debugOnFailure();
      const channel = 'private-ai-lossy';
      await loseHistory(channel);
      expect((await state(channel)).durable_state).toBe('reset_required');
      await nudge();
      const p = await until('ResetRequired=True', async () => {
        const x = await policy();
        return conditionOf(x, 'ResetRequired')?.status === 'True' ? x : undefined;
      });
      expect(p.status?.resetRequiredChannels).toBe(1);
      expect(conditionOf(p, 'ResetRequired')?.message).toContain('set spec.reset.request.token');
      // the cluster sees it through /admin/status (refreshed when the numbers change)
      await mergePatch(E().transport, RESOURCE.cluster, NAME, { metadata: { labels: { nudge: String(Date.now()) } } });
      const c = await until('cluster Degraded=True ChannelsResetRequired', async () => {
        const x = await cluster();
        return conditionOf(x, 'Degraded')?.reason === 'ChannelsResetRequired' ? x : undefined;
      });
      expect((c.status?.dataPlane as Record<string, number> | undefined)?.resetRequiredChannels).toBe(1);

      // dry run: reported, nothing reset, the token handled
      await mergePatch(E().transport, RESOURCE.channelPolicy, 'ai', {
        spec: { reset: { dryRun: true, request: { token: 'dry-1', reason: 'check' } } },
      });
      const dry = await until('dry run recorded', async () => {
        const x = await policy();
        return x?.status?.lastHandledResetToken === 'dry-1' ? x : undefined;
      });
      expect(lastReset(dry)).toMatchObject({ trigger: 'Manual', token: 'dry-1', dryRun: true, channelsReset: 0 });
      expect((lastReset(dry)?.items as Array<Record<string, string>> | undefined)?.[0]).toMatchObject({
        channel,
        result: 'WouldReset',
      });
      expect((await state(channel)).durable_state).toBe('reset_required');

      // the real thing, requested with the annotation (the spec request removed)
      const before = await state(channel);
      await mergePatch(E().transport, RESOURCE.channelPolicy, 'ai', {
        metadata: { annotations: { [ANNOTATION.resetToken]: 'incident-42' } },
        spec: { reset: { dryRun: false, request: null } },
      });
      const done = await until('reset incident-42 handled', async () => {
        const x = await policy();
        return x?.status?.lastHandledResetToken === 'incident-42' ? x : undefined;
      });
      const item = (lastReset(done)?.items as Array<Record<string, string>> | undefined)?.[0];
      expect(lastReset(done)).toMatchObject({ trigger: 'Manual', token: 'incident-42', channelsReset: 1, failed: 0 });
      expect(item).toMatchObject({ channel, result: 'Reset', previousStreamId: before.stream_id });
      expect(item?.newStreamId).not.toBe(before.stream_id);
      const after = await state(channel);
      expect(after).toMatchObject({ durable_state: 'healthy', stream_id: item?.newStreamId });
      expect(conditionOf(done, 'ResetRequired')?.status).toBe('False');
      expect(conditionOf(done, 'Resetting')?.status).toBe('False');
      const events = await eventsFor(E().api, 'ai');
      expect(events.some((e) => e.reason === 'ChannelHistoryReset' && e.note?.includes(channel))).toBe(true);
      expect(events.some((e) => e.reason === 'ResetCompleted')).toBe(true);
      expect(await E().operator.metrics()).toMatch(
        /aitransport_operator_reset_channels_total\{cluster_namespace="apps",cluster="demo",result="reset"\} 1/,
      );
      await until('cluster no longer Degraded', async () => {
        await mergePatch(E().transport, RESOURCE.cluster, NAME, {
          metadata: { labels: { nudge: String(Date.now()) } },
        });
        return conditionOf(await cluster(), 'Degraded')?.status === 'False';
      });

      // idempotent across operator restarts: a new operator does not run the handled token again
      const startedAt = lastReset(done)?.startedAt;
      await E().operator.stop(0);
      await E().startOperator('operator-2');
      await nudge();
      await new Promise((r) => setTimeout(r, 4_000));
      expect(lastReset(await policy())?.startedAt).toBe(startedAt);
      expect((await state(channel)).stream_id).toBe(after.stream_id);
    }, 150_000);

    it('resets automatically after graceSeconds, and never while a rollout step is in flight', async () => {
      debugOnFailure();
      await E().api.create({
        apiVersion: 'aitransport.io/v1alpha1',
        kind: 'ChannelPolicy',
        // sorts before `ai`, so it governs its channels although `ai` matches them too
        metadata: { name: 'a-auto', namespace: NS },
        spec: {
          clusterRef: { name: NAME },
          appId: APP.id,
          channels: { prefixes: ['private-ai-auto-'] },
          reset: { policy: 'Automatic', graceSeconds: 2, minIntervalSeconds: 0 },
        },
      } as Obj);
      const channel = 'private-ai-auto-1';
      await loseHistory(channel);
      await nudge('a-auto');
      const p = await until(
        'automatic reset',
        async () => {
          const x = await policy('a-auto');
          return (lastReset(x)?.channelsReset as number | undefined) === 1 ? x : undefined;
        },
        60_000,
      );
      expect(lastReset(p)).toMatchObject({ trigger: 'Automatic', failed: 0 });
      expect((await state(channel)).durable_state).toBe('healthy');

      // A reset-required channel while a rollout step is in flight: the reset waits. A pod stuck
      // on a crashing image keeps the step (Verifying) in flight long enough to look at it.
      await mergePatch(E().transport, RESOURCE.channelPolicy, 'a-auto', { spec: { reset: { graceSeconds: 0 } } });
      const busy = 'private-ai-auto-2';
      await mergePatch(E().transport, RESOURCE.cluster, NAME, { spec: { image: { tag: '0.1.6-crash' } } });
      await until(
        'the step of demo-1 in flight',
        async () => {
          const r = rollout(await cluster());
          return r?.state === 'Verifying' && r.pod === 'demo-1';
        },
        60_000,
      );
      const before = lastReset(await policy('a-auto'))?.startedAt;
      await loseHistory(busy);
      await nudge('a-auto');
      const waiting = await until('the reset waits for the rollout step', async () => {
        const x = await policy('a-auto');
        return conditionOf(x, 'Resetting')?.message.includes('rollout step is in flight (Verifying demo-1)')
          ? x
          : undefined;
      });
      expect(lastReset(waiting)?.startedAt).toBe(before);
      expect((await state(busy)).durable_state).toBe('reset_required');
      // the step stalls (not in flight any more): the reset goes ahead
      await until('rollout stalled', async () => rollout(await cluster())?.state === 'Failed', 60_000);
      await until(
        'busy channel reset after the stall',
        async () => {
          await nudge('a-auto');
          return (await state(busy)).durable_state === 'healthy';
        },
        60_000,
      );
      expect(lastReset(await policy('a-auto'))).toMatchObject({ trigger: 'Automatic', channelsReset: 1 });
      await mergePatch(E().transport, RESOURCE.cluster, NAME, { spec: { image: { tag: null } } });
      await until('rolled back', () => settled(E().api, NAME, 2), 120_000);
    }, 240_000);
  });
});
