// History resets of one ChannelPolicy (OPERATOR.md 6.5), inside the policy reconcile: list the
// reset-required channels the policy governs (GET /admin/channels on a Ready pod; the store is
// shared, so one pod answers for the cluster), run the pure reset planner, and execute a run:
// each channel is reset with expectState=reset_required, so the data plane re-checks it right
// before resetting it and a channel that recovered meanwhile is skipped, never reset.
// Mutual exclusion with rollout steps: the cluster's operation lock, and the status on both sides.
import { ANNOTATION } from '../api/labels.ts';
import type { ChannelPolicy, ChannelPolicyStatus } from '../api/v1alpha1/channelpolicy.ts';
import type { AITransportCluster, ClusterStatus } from '../api/v1alpha1/cluster.ts';
import { type AdminApi, AdminApiError, type AdminChannel, type AdminTarget } from '../dataplane/admin-client.ts';
import { rfc3339 } from '../kube/clock.ts';
import { errorMessage } from '../kube/errors.ts';
import { governingPolicy } from '../rollout/channel-match.ts';
import type { PodView } from '../rollout/health.ts';
import {
  type LastReset,
  planReset,
  type ResetDecision,
  type ResetItem,
  type ResetPlan,
  summarizeRun,
} from '../rollout/reset-planner.ts';
import type { ReconcileDeps, ReconcileRequest } from './context.ts';
import { adminTarget, adminToken, dataPlanePods } from './dataplane.ts';
import { clusterLockKey, type ResetRecord } from './locks.ts';

/** Rollout states in which a step is in flight: resets wait (a rollout waiting at its gate does not block them). */
const STEP_IN_FLIGHT = new Set(['Draining', 'Restarting', 'Verifying']);
/** Listing bound: pages of GET /admin/channels per reconcile (1000 channels each). */
const MAX_PAGES = 10;
const LIST_CALL = { timeoutMs: 5_000, attempts: 3 } as const;
const RESET_CALL = { timeoutMs: 10_000, attempts: 3 } as const;

/** What the status computation needs from the reset step. */
export interface ResetOutcome {
  readonly resetRequired?: number;
  readonly resetting: boolean;
  /** Why nothing runs, or what the last run did (condition messages). */
  readonly message: string;
  readonly lastHandledResetToken?: string;
  readonly lastReset?: LastReset;
  /** Set when the last run had failures (Stalled=True ResetFailed). */
  readonly failed?: string;
  readonly requeueAfterMs?: number;
}

export interface ResetContext {
  readonly deps: ReconcileDeps;
  readonly req: ReconcileRequest;
  readonly policy: ChannelPolicy;
  readonly previous: ChannelPolicyStatus | undefined;
  readonly cluster: AITransportCluster;
  readonly clusterStatus: ClusterStatus | undefined;
  /** The accepted policies of the cluster (the first matching by name governs a channel). */
  readonly accepted: readonly ChannelPolicy[];
  /** Writes the status with Resetting=True before a run starts. */
  readonly markResetting: (o: ResetOutcome) => Promise<void>;
}

function whyBlocked(x: ResetContext): string | undefined {
  const s = x.clusterStatus;
  const key = clusterLockKey(x.cluster.metadata.namespace ?? '', x.cluster.metadata.name);
  if (x.deps.operations?.holder(key) === 'rollout') return 'a rollout step is running on the cluster';
  if (s?.rollout && STEP_IN_FLIGHT.has(s.rollout.state)) {
    return `a rollout step is in flight (${s.rollout.state}${s.rollout.pod ? ` ${s.rollout.pod}` : ''})`;
  }
  // Not "cluster Ready": a rollout waiting at its gate (Ready=False) must not block resets, the
  // gate may be waiting for exactly these channels (maxResetRequiredChannels). A Ready pod that
  // answers is required anyway (the listing is made on one).
  return undefined;
}

/** The Ready pods with an IP, lowest ordinal first: who answers for the (shared) store. */
function candidates(views: readonly PodView[]): PodView[] {
  return views.filter((v) => v.ready && !v.terminating && v.ip);
}

async function listGoverned(
  admin: AdminApi,
  targets: readonly AdminTarget[],
  x: ResetContext,
): Promise<{ ok: true; items: AdminChannel[]; target: AdminTarget } | { ok: false; error: string }> {
  let lastError = 'no Ready data-plane pod with an IP';
  for (const t of targets) {
    try {
      const items: AdminChannel[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const r = await admin.channels(
          t,
          { state: 'reset_required', appId: x.policy.spec.appId, limit: 1000, ...(cursor ? { cursor } : {}) },
          LIST_CALL,
        );
        items.push(...r.items.filter((c) => c.durableState === 'reset_required'));
        if (!r.nextCursor) break;
        cursor = r.nextCursor;
      }
      const mine = items.filter(
        (c) =>
          c.appId === x.policy.spec.appId &&
          governingPolicy(
            x.accepted.map((p) => ({ name: p.metadata.name, appId: p.spec.appId, channels: p.spec.channels })),
            c.appId,
            c.channel,
          ) === x.policy.metadata.name,
      );
      return { ok: true, items: mine, target: t };
    } catch (err) {
      lastError = errorMessage(err);
    }
  }
  return { ok: false, error: lastError };
}

async function resetOne(
  admin: AdminApi,
  t: AdminTarget,
  x: ResetContext,
  c: AdminChannel,
  d: Extract<ResetDecision, { kind: 'run' }>,
): Promise<ResetItem> {
  const ns = x.policy.metadata.namespace ?? '';
  const name = x.policy.metadata.name;
  if (d.dryRun) {
    return { channel: c.channel, previousStreamId: c.streamId, result: 'WouldReset', message: 'dry run' };
  }
  try {
    const r = await admin.reset(
      t,
      {
        appId: c.appId,
        channel: c.channel,
        reason: `ChannelPolicy ${ns}/${name} (${d.trigger}): ${d.reason}`.slice(0, 512),
        requestedBy: `aitransport-operator/${ns}/${name}`,
        expectState: 'reset_required',
      },
      RESET_CALL,
    );
    if (r.result === 'reset') {
      return {
        channel: c.channel,
        ...(r.previousStreamId ? { previousStreamId: r.previousStreamId } : {}),
        ...(r.newStreamId ? { newStreamId: r.newStreamId } : {}),
        result: 'Reset',
        ...(r.purgedMessages !== undefined ? { message: `${r.purgedMessages} messages purged` } : {}),
      };
    }
    return { channel: c.channel, result: 'Skipped', message: (r.reason ?? 'skipped').slice(0, 1024) };
  } catch (err) {
    // A 4xx (history disabled on the channel, bad input) will not get better by retrying.
    const permanent = err instanceof AdminApiError && !err.transient;
    return { channel: c.channel, result: permanent ? 'Skipped' : 'Failed', message: errorMessage(err).slice(0, 1024) };
  }
}

const RESULT_METRIC: Record<ResetItem['result'], string> = {
  Reset: 'reset',
  WouldReset: 'would_reset',
  Skipped: 'skipped',
  Failed: 'failed',
};

/** The reset step of the policy reconcile (leader only, like every reconcile). */
/**
 * The cached status, overridden by this process's own record of its last run. Only the leader
 * writes these fields and this process records every run it makes, so its record is never older
 * than what the cache holds (it is empty after a restart, when the cache is all there is).
 */
function newestRecord(
  cached: ChannelPolicyStatus | undefined,
  mine: ResetRecord | undefined,
): ChannelPolicyStatus | undefined {
  return mine ? ({ ...cached, ...mine } as ChannelPolicyStatus) : cached;
}

export async function runResets(x: ResetContext): Promise<ResetOutcome> {
  const { deps, policy } = x;
  const policyKey = `${policy.metadata.namespace ?? ''}/${policy.metadata.name}/${policy.metadata.uid ?? ''}`;
  const prev = newestRecord(x.previous, deps.operations?.recentReset(policyKey));
  const kept = {
    ...(prev?.lastHandledResetToken ? { lastHandledResetToken: prev.lastHandledResetToken } : {}),
    ...(prev?.lastReset ? { lastReset: prev.lastReset } : {}),
  };
  const failedBefore = (prev?.lastReset?.failed ?? 0) > 0 ? lastFailure(prev?.lastReset) : undefined;
  if (!deps.admin)
    return {
      ...kept,
      resetting: false,
      message: 'no admin API client',
      ...(failedBefore ? { failed: failedBefore } : {}),
    };
  const { views } = dataPlanePods(deps, x.cluster);
  const token = await adminToken(deps, x.cluster).catch(() => undefined);
  const targets = token
    ? candidates(views)
        .map((v) => adminTarget(v, token))
        .filter((t): t is AdminTarget => t !== undefined)
    : [];
  const listed = token ? await listGoverned(deps.admin, targets, x) : { ok: false as const, error: 'no admin token' };
  const blocked = whyBlocked(x);
  const plan: ResetPlan = planReset({
    now: deps.clock.now(),
    reset: policy.spec.reset,
    ...(policy.metadata.annotations?.[ANNOTATION.resetToken]
      ? { annotationToken: policy.metadata.annotations[ANNOTATION.resetToken] }
      : {}),
    ...(prev ? { previous: prev } : {}),
    ...(blocked ? { blocked } : {}),
    channels: listed.ok ? { ok: true, items: listed.items } : { ok: false, error: listed.error },
  });
  const d = plan.decision;
  const base = { ...kept, ...(plan.resetRequired !== undefined ? { resetRequired: plan.resetRequired } : {}) };
  if (d.kind !== 'run' || !listed.ok) {
    const message =
      d.kind === 'run'
        ? 'cannot list channels'
        : plan.pendingToken
          ? `request ${plan.pendingToken}: ${d.message}`
          : d.message;
    return {
      ...base,
      resetting: false,
      message,
      ...(failedBefore ? { failed: failedBefore } : {}),
      ...(d.kind !== 'run' && d.requeueAfterMs !== undefined ? { requeueAfterMs: d.requeueAfterMs } : {}),
    };
  }
  const key = clusterLockKey(x.cluster.metadata.namespace ?? '', x.cluster.metadata.name);
  const release = deps.operations?.tryAcquire(key, 'reset') ?? (() => {});
  if (!release)
    return { ...base, resetting: false, message: 'a rollout step is running on the cluster', requeueAfterMs: 5_000 };
  const ns = policy.metadata.namespace ?? '';
  const clusterName = x.cluster.metadata.name;
  const ref = {
    apiVersion: 'aitransport.io/v1alpha1',
    kind: 'ChannelPolicy',
    name: policy.metadata.name,
    namespace: ns,
    ...(policy.metadata.uid ? { uid: policy.metadata.uid } : {}),
  };
  const startedAt = rfc3339(deps.clock.now());
  const what = `${d.dryRun ? 'dry-run ' : ''}${d.trigger.toLowerCase()} reset${d.token ? ` ${d.token}` : ''} of ${d.channels.length} channels`;
  const items: ResetItem[] = [];
  try {
    await x.markResetting({ ...base, resetting: true, message: `${what} running` });
    x.req.log.info(
      { trigger: d.trigger, token: d.token, dryRun: d.dryRun, channels: d.channels.length },
      'reset run started',
    );
    for (const c of d.channels) {
      const item = await resetOne(deps.admin, listed.target, x, c, d);
      items.push(item);
      deps.metrics?.resetChannels(ns, clusterName, RESULT_METRIC[item.result], 1);
      x.req.log[item.result === 'Failed' ? 'warn' : 'info']({ ...item }, 'channel reset');
      if (item.result === 'Reset') {
        deps.recorder.normal(
          ref,
          'ChannelHistoryReset',
          'Reset',
          `${c.appId}/${c.channel}: stream ${item.previousStreamId ?? '?'} → ${item.newStreamId ?? '?'} (${d.trigger}${d.token ? ` ${d.token}` : ''})`,
        );
      }
    }
  } finally {
    release();
  }
  const lastReset = summarizeRun(d, items, startedAt, rfc3339(deps.clock.now()));
  const failed = lastReset.failed ?? 0;
  const summary = `${what}: ${lastReset.channelsReset} reset, ${lastReset.skipped} skipped, ${failed} failed${d.dryRun ? `, ${items.length} would be reset` : ''}${d.remaining ? `, ${d.remaining} left for a later run` : ''}`;
  if (failed) deps.recorder.warning(ref, 'ResetFailed', 'Reset', summary);
  else deps.recorder.normal(ref, d.dryRun ? 'ResetDryRun' : 'ResetCompleted', 'Reset', summary);
  x.req.log.info({ summary }, 'reset run finished');
  const handled = d.trigger === 'Manual' && d.token && failed === 0 ? d.token : prev?.lastHandledResetToken;
  deps.operations?.noteReset(policyKey, { ...(handled ? { lastHandledResetToken: handled } : {}), lastReset });
  return {
    ...base,
    // the channels that were reset are no longer reset-required
    ...(plan.resetRequired !== undefined
      ? { resetRequired: Math.max(0, plan.resetRequired - (lastReset.channelsReset ?? 0)) }
      : {}),
    resetting: false,
    message: summary,
    ...(handled ? { lastHandledResetToken: handled } : {}),
    lastReset,
    ...(failed ? { failed: summary, requeueAfterMs: 30_000 } : {}),
    ...(d.remaining && d.trigger === 'Automatic'
      ? { requeueAfterMs: policy.spec.reset.minIntervalSeconds * 1000 }
      : {}),
  };
}

function lastFailure(r: LastReset | undefined): string {
  const f = r?.items?.find((i) => i.result === 'Failed');
  return `the last reset run failed for ${r?.failed ?? 0} channels${f ? ` (${f.channel}: ${f.message ?? ''})` : ''}`;
}
