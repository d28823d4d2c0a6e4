// The connection-recovery decision ladder of `sockudo:resume` (PROTOCOL.md 6.5), as pure
// functions over what the stores return, plus `resolveResume`, which runs the ladder for one
// channel against injected fetchers. The socket layer turns the typed outcome into
// `sockudo:resume_failed` / replayed frames / `sockudo:resume_success`.
//
// Serial domain: the position's `serial` is the wire serial the client last applied — the
// delivery serial on a versioned channel, the history serial otherwise.
import type { Aggregate, VersionRecord } from '../messages/model.ts';
import type { HotEntry, HotSnapshot } from './hot-buffer.ts';
import { type HistoryRow, type HistoryStreamInfo, isHistoryError, MAX_PAGE_LIMIT, type Serial } from './types.ts';
import type { ReplayPage, VersionStreamInfo } from './version-store.ts';

export const RECOVERY_CODES = [
  'stream_reset',
  'position_expired',
  'continuity_unverifiable',
  'persistence_unavailable',
] as const;
export type RecoveryCode = (typeof RECOVERY_CODES)[number];

/** `reason` strings of a failure. The last two are fixed by PROTOCOL.md 6.5; the others are ours. */
export const RECOVERY_REASONS = {
  streamIdMismatch: 'stream_id_mismatch',
  windowExceeded: 'recovery_window_exceeded',
  belowRetention: 'position_below_retention_floor',
  ahead: 'position_ahead_of_stream',
  gap: 'replay_not_contiguous',
  legacyPosition: 'legacy_position_unverifiable',
  historyDisabled: 'history_disabled',
  storeUnavailable: 'durable_store_unavailable',
  resetRequired: 'durable_stream_reset_required',
  degraded: 'history_stream_degraded',
} as const;

/** A client's position on one channel (`channel_positions`; the legacy form has no streamId). */
export interface ResumePosition {
  readonly serial: Serial;
  readonly streamId?: string;
  readonly lastMessageId?: string;
}

/** One failed channel: the data of `sockudo:resume_failed`. */
export interface RecoveryFailure {
  readonly kind: 'failed';
  readonly code: RecoveryCode;
  readonly reason: string;
  /** The stream id the client resumed from (null for a legacy position). */
  readonly expectedStreamId: string | null;
  /** The server's stream id now (null when unknown). */
  readonly currentStreamId: string | null;
  readonly oldestAvailableSerial: Serial | null;
  readonly newestAvailableSerial: Serial | null;
}

/** The hot tier cannot decide: go to the cold tier. */
export interface HotFallThrough {
  readonly kind: 'fallthrough';
  readonly why: 'empty' | 'expired' | 'ahead' | 'gapped';
}

export interface ColdFetch {
  readonly kind: 'fetch';
  /** Replay serials afterSerial+1 … newestSerial (inclusive). */
  readonly afterSerial: Serial;
  readonly newestSerial: Serial;
  readonly streamId: string;
  /** newestSerial - afterSerial (0: nothing to replay). */
  readonly count: number;
}

/** Where the client stands after a successful recovery (`position` of resume_success). */
export interface RecoveredPosition {
  readonly streamId: string;
  readonly serial: Serial;
  readonly lastMessageId: string | null;
}

export type RecoveryOutcome =
  | RecoveryFailure
  | {
      readonly kind: 'recovered';
      readonly source: 'hot';
      readonly entries: readonly HotEntry[];
      readonly position: RecoveredPosition;
    }
  | {
      readonly kind: 'recovered';
      readonly source: 'cold';
      /** Versioned channels: the versions to rebuild live-style, and the latest aggregates. */
      readonly versions?: readonly VersionRecord[];
      readonly latest?: readonly Aggregate[];
      /** Plain channels: the history rows to replay. */
      readonly rows?: readonly HistoryRow[];
      readonly replayed: number;
      readonly position: RecoveredPosition;
    };

export interface RecoveryLimits {
  /** `max_buffer_size`: the most messages one channel may replay (hot and cold). */
  readonly maxReplay: number;
}

function fail(
  code: RecoveryCode,
  reason: string,
  pos: ResumePosition,
  current: string | null,
  oldest: Serial | null,
  newest: Serial | null,
): RecoveryFailure {
  return {
    kind: 'failed',
    code,
    reason,
    expectedStreamId: pos.streamId ?? null,
    currentStreamId: current,
    oldestAvailableSerial: oldest,
    newestAvailableSerial: newest,
  };
}

function checkPosition(pos: ResumePosition, limits: RecoveryLimits): void {
  if (!Number.isSafeInteger(pos.serial) || pos.serial < 0) throw new TypeError('position serial must be a u64 counter');
  if (!Number.isSafeInteger(limits.maxReplay) || limits.maxReplay < 0) throw new TypeError('maxReplay must be >= 0');
}

// ---------------------------------------------------------------------------------------------
// Hot tier

/**
 * The hot-tier rung. `snap` must come from `HotReplayBuffer.after(position.serial, maxReplay)`.
 * Stream id mismatch → stream_reset; more than maxReplay to replay → position_expired
 * (recovery_window_exceeded); nothing buffered, expired, ahead or gapped → fall through.
 */
export function decideHot(
  pos: ResumePosition,
  snap: HotSnapshot,
  limits: RecoveryLimits,
): RecoveryOutcome | HotFallThrough {
  checkPosition(pos, limits);
  if (snap.streamId === null || snap.newestSerial === null || snap.oldestSerial === null) {
    return { kind: 'fallthrough', why: 'empty' };
  }
  if (pos.streamId !== undefined && pos.streamId !== snap.streamId) {
    return fail(
      'stream_reset',
      RECOVERY_REASONS.streamIdMismatch,
      pos,
      snap.streamId,
      snap.oldestSerial,
      snap.newestSerial,
    );
  }
  if (pos.serial > snap.newestSerial) return { kind: 'fallthrough', why: 'ahead' };
  const count = snap.newestSerial - pos.serial;
  if (count > limits.maxReplay) {
    return fail(
      'position_expired',
      RECOVERY_REASONS.windowExceeded,
      pos,
      snap.streamId,
      snap.oldestSerial,
      snap.newestSerial,
    );
  }
  if (count > 0 && pos.serial + 1 < snap.oldestSerial) return { kind: 'fallthrough', why: 'expired' };
  if (!contiguous(snap.entries, pos.serial, count, (e) => e.serial)) return { kind: 'fallthrough', why: 'gapped' };
  const last = snap.entries[snap.entries.length - 1];
  return {
    kind: 'recovered',
    source: 'hot',
    entries: snap.entries,
    position: {
      streamId: snap.streamId,
      serial: snap.newestSerial,
      lastMessageId: last?.messageId ?? pos.lastMessageId ?? null,
    },
  };
}

function contiguous<T>(items: readonly T[], after: Serial, count: number, serialOf: (t: T) => Serial): boolean {
  if (items.length !== count) return false;
  for (let i = 0; i < items.length; i++) if (serialOf(items[i] as T) !== after + 1 + i) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Cold tier, versioned channels (VersionStore)

/**
 * The pre-fetch rungs of the versioned cold tier: legacy position → continuity_unverifiable;
 * reset_required → stream_reset (durable_stream_reset_required); stream id mismatch →
 * stream_reset; ahead → continuity_unverifiable; below the replay floor → position_expired;
 * beyond the window → position_expired (recovery_window_exceeded). Otherwise: what to fetch.
 */
export function planColdVersioned(
  pos: ResumePosition,
  stream: VersionStreamInfo,
  limits: RecoveryLimits,
): RecoveryFailure | ColdFetch {
  checkPosition(pos, limits);
  const newest = stream.nextDeliverySerial - 1;
  const oldest = stream.oldestDeliverySerial;
  const f = (code: RecoveryCode, reason: string) =>
    fail(code, reason, pos, stream.streamId, oldest, stream.newestDeliverySerial);
  if (pos.streamId === undefined) return f('continuity_unverifiable', RECOVERY_REASONS.legacyPosition);
  if (stream.durableState === 'reset_required') return f('stream_reset', RECOVERY_REASONS.resetRequired);
  if (pos.streamId !== stream.streamId) return f('stream_reset', RECOVERY_REASONS.streamIdMismatch);
  return planRange(pos, stream.streamId, oldest ?? stream.nextDeliverySerial, newest, limits, f);
}

function planRange(
  pos: ResumePosition,
  streamId: string,
  oldest: Serial,
  newest: Serial,
  limits: RecoveryLimits,
  f: (code: RecoveryCode, reason: string) => RecoveryFailure,
): RecoveryFailure | ColdFetch {
  if (pos.serial > newest) return f('continuity_unverifiable', RECOVERY_REASONS.ahead);
  const count = newest - pos.serial;
  if (count > 0 && pos.serial + 1 < oldest) return f('position_expired', RECOVERY_REASONS.belowRetention);
  if (count > Math.min(limits.maxReplay, MAX_PAGE_LIMIT)) return f('position_expired', RECOVERY_REASONS.windowExceeded);
  return { kind: 'fetch', afterSerial: pos.serial, newestSerial: newest, streamId, count };
}

/** The last rung: the fetched versions must be exactly afterSerial+1 … newestSerial. */
export function verifyColdVersioned(pos: ResumePosition, plan: ColdFetch, page: ReplayPage): RecoveryOutcome {
  const items = page.items.filter((r) => r.delivery_serial <= plan.newestSerial);
  if (
    page.stream.streamId !== plan.streamId ||
    !contiguous(items, plan.afterSerial, plan.count, (r) => r.delivery_serial)
  ) {
    return fail(
      'continuity_unverifiable',
      RECOVERY_REASONS.gap,
      pos,
      page.stream.streamId,
      page.stream.oldestDeliverySerial,
      page.stream.newestDeliverySerial,
    );
  }
  const last = items[items.length - 1];
  return {
    kind: 'recovered',
    source: 'cold',
    versions: items,
    latest: page.latest,
    replayed: items.length,
    position: {
      streamId: plan.streamId,
      serial: plan.newestSerial,
      lastMessageId: last?.message_id ?? pos.lastMessageId ?? null,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Cold tier, plain channels (HistoryStore)

/**
 * The pre-fetch rungs of the history cold tier: history disabled → position_expired; legacy →
 * continuity_unverifiable; reset_required → stream_reset (durable_stream_reset_required);
 * degraded → persistence_unavailable (history_stream_degraded); stream id mismatch →
 * stream_reset; then ahead / floor / window as for versioned channels.
 */
export function planColdHistory(
  pos: ResumePosition,
  info: HistoryStreamInfo | null,
  limits: RecoveryLimits,
): RecoveryFailure | ColdFetch {
  checkPosition(pos, limits);
  if (info === null) return fail('position_expired', RECOVERY_REASONS.historyDisabled, pos, null, null, null);
  const { oldestAvailableSerial: oldest, newestAvailableSerial: newestRetained } = info.retained;
  const f = (code: RecoveryCode, reason: string) => fail(code, reason, pos, info.streamId, oldest, newestRetained);
  if (pos.streamId === undefined) return f('continuity_unverifiable', RECOVERY_REASONS.legacyPosition);
  if (info.state.durableState === 'reset_required') return f('stream_reset', RECOVERY_REASONS.resetRequired);
  if (info.state.durableState === 'degraded') return f('persistence_unavailable', RECOVERY_REASONS.degraded);
  if (pos.streamId !== info.streamId) return f('stream_reset', RECOVERY_REASONS.streamIdMismatch);
  return planRange(pos, info.streamId, oldest ?? info.nextSerial, info.nextSerial - 1, limits, f);
}

/** The last rung: the fetched rows must be exactly afterSerial+1 … newestSerial of the stream. */
export function verifyColdHistory(pos: ResumePosition, plan: ColdFetch, rows: readonly HistoryRow[]): RecoveryOutcome {
  const items = rows.filter((r) => r.historySerial <= plan.newestSerial);
  const sameStream = items.every((r) => r.streamId === plan.streamId);
  if (!sameStream || !contiguous(items, plan.afterSerial, plan.count, (r) => r.historySerial)) {
    return fail('continuity_unverifiable', RECOVERY_REASONS.gap, pos, plan.streamId, null, null);
  }
  const last = items[items.length - 1];
  return {
    kind: 'recovered',
    source: 'cold',
    rows: items,
    replayed: items.length,
    position: {
      streamId: plan.streamId,
      serial: plan.newestSerial,
      lastMessageId: last?.messageId ?? pos.lastMessageId ?? null,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The whole ladder for one channel

export type ColdSource =
  | {
      readonly kind: 'versioned';
      readonly state: () => Promise<VersionStreamInfo>;
      readonly replayAfter: (afterSerial: Serial, limit: number) => Promise<ReplayPage>;
    }
  | {
      readonly kind: 'history';
      readonly state: () => Promise<HistoryStreamInfo>;
      /** Rows afterSerial+1 … newestSerial, oldest first (a bounded `read`). */
      readonly rowsBetween: (
        afterSerial: Serial,
        newestSerial: Serial,
        limit: number,
      ) => Promise<readonly HistoryRow[]>;
    }
  /** History not enabled for the channel. */
  | { readonly kind: 'disabled' };

export interface RecoverySources extends RecoveryLimits {
  /** The hot tier (`HotReplayBuffer.after` bound to the channel); absent: cold only. */
  readonly hot?: (afterSerial: Serial, max: number) => Promise<HotSnapshot>;
  readonly cold: ColdSource;
}

/**
 * Runs the ladder for one channel: hot tier first (legacy positions too), then the cold tier.
 * A store that is unreachable (HistoryError `store_unavailable`) gives persistence_unavailable.
 */
export async function resolveResume(pos: ResumePosition, src: RecoverySources): Promise<RecoveryOutcome> {
  checkPosition(pos, src);
  if (src.hot) {
    const hot = decideHot(pos, await src.hot(pos.serial, src.maxReplay), src);
    if (hot.kind !== 'fallthrough') return hot;
  }
  const cold = src.cold;
  try {
    if (cold.kind === 'disabled') return planColdHistory(pos, null, src) as RecoveryFailure;
    if (cold.kind === 'versioned') {
      const plan = planColdVersioned(pos, await cold.state(), src);
      if (plan.kind === 'failed') return plan;
      return verifyColdVersioned(pos, plan, await cold.replayAfter(plan.afterSerial, Math.max(1, plan.count)));
    }
    const plan = planColdHistory(pos, await cold.state(), src);
    if (plan.kind === 'failed') return plan;
    const rows = plan.count === 0 ? [] : await cold.rowsBetween(plan.afterSerial, plan.newestSerial, plan.count);
    return verifyColdHistory(pos, plan, rows);
  } catch (err) {
    if (isHistoryError(err, 'store_unavailable')) {
      return fail('persistence_unavailable', RECOVERY_REASONS.storeUnavailable, pos, null, null, null);
    }
    throw err;
  }
}

/** The `data` object of `sockudo:resume_failed` (stringified by the socket layer). */
export function resumeFailedData(f: RecoveryFailure): Record<string, unknown> {
  return {
    code: f.code,
    reason: f.reason,
    expected_stream_id: f.expectedStreamId,
    current_stream_id: f.currentStreamId,
    oldest_available_serial: f.oldestAvailableSerial,
    newest_available_serial: f.newestAvailableSerial,
  };
}
