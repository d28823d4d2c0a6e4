// The reset planner of a ChannelPolicy (OPERATOR.md 6.5): (policy, observed channels, cluster
// state, previous status, now) → run a reset now (which channels, dry run or not), or why not,
// and the ResetRequired/Resetting/Stalled conditions. Pure; policy-reset.ts runs it.
//
//   Manual:    a request token (spec.reset.request.token, else the aitransport.io/reset-token
//              annotation) that differs from status.lastHandledResetToken starts one run. The
//              token is recorded as handled only when the run had no failure, so a run cut short
//              by an operator restart runs again — idempotent, because every reset re-checks the
//              channel (expectState=reset_required) right before it happens.
//   Automatic: channels reset_required for longer than graceSeconds, at most one run every
//              minIntervalSeconds.
//   Both:      at most maxChannelsPerRun channels per run (the oldest first), never while a rollout
//              step is in flight or the cluster is not Ready, dryRun only reports.
import type { ChannelPolicySpec, ChannelPolicyStatus } from '../api/v1alpha1/channelpolicy.ts';
import type { AdminChannel } from '../dataplane/admin-client.ts';

export type LastReset = NonNullable<ChannelPolicyStatus['lastReset']>;
export type ResetItem = NonNullable<LastReset['items']>[number];

/** At most this many items are kept in status.lastReset.items. */
export const MAX_RESET_ITEMS = 20;
/** A run with failures is tried again after this long (with the queue's backoff on top). */
export const FAILED_RUN_RETRY_MS = 30_000;

export interface ResetObservation {
  readonly now: number;
  readonly reset: ChannelPolicySpec['reset'];
  /** The aitransport.io/reset-token annotation of the policy. */
  readonly annotationToken?: string;
  readonly previous?: Pick<ChannelPolicyStatus, 'lastHandledResetToken' | 'lastReset'>;
  /** Why resets cannot run now (cluster not Ready, a rollout step in flight, …), if so. */
  readonly blocked?: string;
  /** The reset-required channels this policy governs, or why they could not be listed. */
  readonly channels:
    | { readonly ok: true; readonly items: readonly AdminChannel[] }
    | { readonly ok: false; readonly error: string };
}

export type ResetDecision =
  | { readonly kind: 'idle'; readonly requeueAfterMs?: number; readonly message: string }
  | { readonly kind: 'blocked'; readonly message: string; readonly requeueAfterMs: number }
  | {
      readonly kind: 'run';
      readonly trigger: 'Manual' | 'Automatic';
      readonly token?: string;
      readonly reason: string;
      readonly dryRun: boolean;
      readonly channels: readonly AdminChannel[];
      /** Eligible channels left for a later run. */
      readonly remaining: number;
    };

export interface ResetPlan {
  readonly decision: ResetDecision;
  /** status.resetRequiredChannels (undefined when the channels could not be listed). */
  readonly resetRequired?: number;
  /** The manual token waiting to be handled, if any. */
  readonly pendingToken?: string;
}

const parse = (t: string | undefined) => (t ? Date.parse(t) : undefined);

/** The request token in force: the spec's, else the annotation's. */
export function requestToken(o: Pick<ResetObservation, 'reset' | 'annotationToken'>): string | undefined {
  return o.reset.request?.token ?? (o.annotationToken || undefined);
}

export function planReset(o: ResetObservation): ResetPlan {
  const token = requestToken(o);
  const pendingToken = token !== undefined && token !== o.previous?.lastHandledResetToken ? token : undefined;
  if (!o.channels.ok) {
    return {
      decision: {
        kind: 'blocked',
        message: `cannot list reset-required channels: ${o.channels.error}`,
        requeueAfterMs: 15_000,
      },
      ...(pendingToken ? { pendingToken } : {}),
    };
  }
  const all = [...o.channels.items].sort(
    (a, b) => a.lastTransitionAtMs - b.lastTransitionAtMs || (a.channel < b.channel ? -1 : 1),
  );
  const base = { resetRequired: all.length, ...(pendingToken ? { pendingToken } : {}) };
  const r = o.reset;
  const last = o.previous?.lastReset;
  const lastStart = parse(last?.startedAt);
  const retryAfterFailure =
    last && (last.failed ?? 0) > 0 && lastStart !== undefined ? lastStart + FAILED_RUN_RETRY_MS : undefined;

  let trigger: 'Manual' | 'Automatic' | undefined;
  let eligible: AdminChannel[] = [];
  let idleMessage = all.length ? `${all.length} reset-required channels` : 'no reset-required channels';
  let requeueAfterMs: number | undefined;
  if (pendingToken !== undefined) {
    trigger = 'Manual';
    eligible = all;
    if (retryAfterFailure !== undefined && last?.token === pendingToken && o.now < retryAfterFailure) {
      return {
        ...base,
        decision: {
          kind: 'idle',
          message: `retrying the failed reset of ${pendingToken} after ${new Date(retryAfterFailure).toISOString()}`,
          requeueAfterMs: retryAfterFailure - o.now,
        },
      };
    }
  } else if (r.policy === 'Automatic') {
    const graceMs = r.graceSeconds * 1000;
    eligible = all.filter((c) => o.now - c.lastTransitionAtMs >= graceMs);
    const waiting = all.filter((c) => o.now - c.lastTransitionAtMs < graceMs);
    if (waiting.length) {
      const first = Math.min(...waiting.map((c) => c.lastTransitionAtMs + graceMs));
      requeueAfterMs = Math.max(first - o.now, 1_000);
    }
    if (eligible.length) {
      const lastAuto = last?.trigger === 'Automatic' ? lastStart : undefined;
      const next = Math.max(
        lastAuto !== undefined ? lastAuto + r.minIntervalSeconds * 1000 : 0,
        retryAfterFailure ?? 0,
      );
      if (o.now < next) {
        return {
          ...base,
          decision: {
            kind: 'idle',
            message: `${eligible.length} channels past graceSeconds; next automatic run after ${new Date(next).toISOString()} (minIntervalSeconds)`,
            requeueAfterMs: next - o.now,
          },
        };
      }
      trigger = 'Automatic';
    } else if (all.length) {
      idleMessage = `${all.length} reset-required channels, within graceSeconds (${r.graceSeconds}s)`;
    }
  } else if (all.length) {
    idleMessage = `${all.length} reset-required channels: policy Manual, set spec.reset.request.token (or the reset-token annotation) to reset them`;
  }
  if (!trigger)
    return {
      ...base,
      decision: { kind: 'idle', message: idleMessage, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) },
    };
  if (o.blocked) return { ...base, decision: { kind: 'blocked', message: o.blocked, requeueAfterMs: 10_000 } };
  const channels = eligible.slice(0, r.maxChannelsPerRun);
  const reason =
    trigger === 'Manual'
      ? `${pendingToken}${r.request?.reason ? `: ${r.request.reason}` : ''}`
      : `automatic: reset_required for more than ${r.graceSeconds}s`;
  return {
    ...base,
    decision: {
      kind: 'run',
      trigger,
      ...(trigger === 'Manual' && pendingToken ? { token: pendingToken } : {}),
      reason,
      dryRun: r.dryRun,
      channels,
      remaining: eligible.length - channels.length,
    },
  };
}

/** status.lastReset after a run; the items are this run's, at most MAX_RESET_ITEMS. */
export function summarizeRun(
  d: Extract<ResetDecision, { kind: 'run' }>,
  items: readonly ResetItem[],
  startedAt: string,
  completedAt: string,
): LastReset {
  const count = (r: ResetItem['result']) => items.filter((i) => i.result === r).length;
  return {
    trigger: d.trigger,
    ...(d.token ? { token: d.token } : {}),
    dryRun: d.dryRun,
    startedAt,
    completedAt,
    channelsReset: count('Reset'),
    skipped: count('Skipped'),
    failed: count('Failed'),
    remaining: d.remaining,
    items: items.slice(0, MAX_RESET_ITEMS),
  };
}
