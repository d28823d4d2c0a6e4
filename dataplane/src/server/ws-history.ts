// History over the WebSocket (V2 only): the attach of a subscribe on a history channel
// (attach_serial, recovery checkpoint, rewind with `sockudo:rewind_complete`), the
// `sockudo:channel_history` request (with `until_attach`), and `sockudo:resume` connection
// recovery (hot tier, then cold) — PROTOCOL.md 2.2, 6.3-6.5. Live frames of a channel being
// attached wait in its attach buffer (attach.ts) so the client sees snapshot, then live, with
// nothing missing and nothing twice.
import { can } from '../auth/index.ts';
import type { ChannelSettings } from '../channels/settings.ts';
import {
  type ColdSource,
  type RecoveryFailure,
  type RecoveryOutcome,
  type ResumePosition,
  resolveResume,
  resumeFailedData,
} from '../history/recovery.ts';
import { type HistoryBounds, type HistoryRow, MAX_PAGE_LIMIT, normalizeDirection } from '../history/types.ts';
import { historyPageToWire } from '../history/wire.ts';
import { buildLiveFrame, stripInternal } from '../messages/frames.ts';
import { coalesceAppendRuns, fullModeData } from '../messages/replay.ts';
import { historyErrorToAitError } from '../pipeline/reads.ts';
import { aitError, withChannel } from '../protocol/errors.ts';
import { dataObject, type RewindRequest } from '../protocol/frames.ts';
import type { PresenceSnapshot, RewindSummary } from '../protocol/sender.ts';
import { withTimeout } from '../stores/timeout.ts';
import type { AttachCovered, BufferedFrame } from './attach.ts';
import type { Connection } from './connection.ts';
import { windowOf } from './delivery.ts';
import type { EngineCore } from './ws-context.ts';

/** At most this many `channel_history` requests in flight per socket (PROTOCOL.md 6.3). */
export const MAX_HISTORY_REQUESTS = 2;
/** Channels one `sockudo:resume` may name. */
export const MAX_RESUME_CHANNELS = 100;

function storeTimeout(core: EngineCore): number {
  return core.config.history.writeTimeoutMs;
}

/** A history row as a frame: the substituted latest version, or the stored event with its serial. */
function rowFrame(channel: string, row: HistoryRow, message: unknown): string {
  if (row.messageSerial !== undefined && message !== row.message) return JSON.stringify(message);
  const m = message as Record<string, unknown>;
  return JSON.stringify({ ...m, channel, serial: row.historySerial, stream_id: row.streamId });
}

// --- attach on subscribe ---------------------------------------------------------------------

/**
 * Finishes the subscribe of a V2 socket to a history channel: reads the history head (the
 * attach serial) and the recovery checkpoint, sends subscription_succeeded, runs the rewind if
 * one was asked for, then releases the live frames held since the subscribe.
 */
export async function attachChannel(
  core: EngineCore,
  conn: Connection,
  channel: string,
  settings: ChannelSettings,
  presence: PresenceSnapshot | undefined,
  rewind: RewindRequest | undefined,
): Promise<void> {
  const { reads } = core.streams;
  let attachSerial: number | undefined;
  let checkpoint: { streamId: string; serial: number } | undefined;
  try {
    const [hist, ver] = await Promise.all([
      reads.historyState(conn.appId, channel),
      settings.versioned ? reads.versionState(conn.appId, channel) : undefined,
    ]);
    attachSerial = hist.nextSerial - 1;
    checkpoint = ver
      ? { streamId: ver.streamId, serial: ver.nextDeliverySerial - 1 }
      : { streamId: hist.streamId, serial: attachSerial };
    // In a cluster, order this channel from here: what was committed before this read and has
    // not reached this node yet is then a gap the bus repairs, not a message lost to this socket.
    core.attachPoint({
      appId: conn.appId,
      channel,
      kind: ver ? 'version' : 'event',
      streamId: checkpoint.streamId,
      next: checkpoint.serial + 1,
    });
  } catch (err) {
    // Live delivery does not need the store: subscribe anyway, without an attach serial.
    conn.log.warn({ err, channel }, 'history state unavailable at subscribe');
  }
  if (!stillSubscribed(conn, channel)) {
    core.delivery.abortAttach(conn, channel);
    return;
  }
  if (attachSerial !== undefined) conn.attachSerials.set(channel, attachSerial);
  core.send(
    conn,
    conn.wire.subscriptionSucceeded(channel, presence, {
      attachSerial,
      ...(settings.recovery.enabled && checkpoint ? checkpoint : {}),
    }),
  );
  const covered: { historySerial?: number; messageIds?: Set<string> } =
    attachSerial === undefined ? {} : { historySerial: attachSerial };
  let summary: Omit<RewindSummary, 'live_count'> | undefined;
  if (rewind && attachSerial !== undefined) {
    try {
      summary = await sendRewind(core, conn, channel, settings, rewind, attachSerial, covered);
    } catch (err) {
      core.fail(conn, withChannel(historyErrorToAitError(err), channel));
    }
    if (!stillSubscribed(conn, channel)) {
      core.delivery.abortAttach(conn, channel);
      return;
    }
  }
  // Live delivery here may still be behind the store the attach point and rewind were read from.
  const wait = {
    ...(attachSerial !== undefined && { historySerial: attachSerial }),
    ...(checkpoint && { serial: checkpoint.serial }),
  };
  core.delivery.endAttach(
    conn,
    channel,
    covered,
    (released) => {
      const frames = released ?? [];
      if (rewind) {
        core.send(
          conn,
          conn.wire.rewindComplete(channel, {
            ...(summary ?? {
              historical_count: 0,
              complete: false,
              truncated_by_retention: false,
              truncated_by_limit: false,
            }),
            live_count: frames.length,
          }),
        );
      }
      for (const f of frames) core.fanout.queueShared(conn, f.frame);
    },
    wait,
  );
}

function stillSubscribed(conn: Connection, channel: string): boolean {
  return conn.state === 'open' && conn.channels.has(channel);
}

async function sendRewind(
  core: EngineCore,
  conn: Connection,
  channel: string,
  settings: ChannelSettings,
  rewind: RewindRequest,
  attachSerial: number,
  covered: { messageIds?: Set<string> },
): Promise<Omit<RewindSummary, 'live_count'>> {
  const limit = Math.min(settings.maxPageSize, MAX_PAGE_LIMIT);
  const bySeconds = 'seconds' in rewind;
  const wanted = bySeconds ? limit : rewind.count;
  if (wanted === 0 || attachSerial === 0) {
    return { historical_count: 0, complete: true, truncated_by_retention: false, truncated_by_limit: false };
  }
  const bounds: HistoryBounds = bySeconds
    ? { endSerial: attachSerial, startTimeMs: Math.max(0, core.now() - rewind.seconds * 1000) }
    : { endSerial: attachSerial };
  const { page, messages } = await core.streams.reads.historyPage({
    appId: conn.appId,
    channel,
    direction: bySeconds ? 'oldest_first' : 'newest_first',
    limit: Math.min(wanted, limit),
    bounds,
  });
  const rows = bySeconds ? page.items : [...page.items].reverse();
  const ids = new Set<string>();
  for (const row of rows) {
    core.send(conn, rowFrame(channel, row, messages.get(row)));
    ids.add(row.messageId);
  }
  covered.messageIds = ids;
  return {
    historical_count: rows.length,
    complete: !page.hasMore && !page.continuity.truncatedByRetention,
    truncated_by_retention: page.continuity.truncatedByRetention,
    truncated_by_limit: page.hasMore || (!bySeconds && rewind.count > limit),
  };
}

// --- sockudo:channel_history ---------------------------------------------------------------

function num(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw aitError('AIT_ERR_INVALID_FRAME', { reason: `${name} must be a non-negative integer` });
  }
  return n;
}

export async function handleChannelHistory(core: EngineCore, conn: Connection, frameData: unknown): Promise<void> {
  if (conn.version !== 2) return;
  const d = dataObject(frameData);
  if (!d.ok) {
    core.fail(conn, aitError('AIT_ERR_INVALID_FRAME', { reason: d.reason }));
    return;
  }
  const params =
    typeof d.data.params === 'object' && d.data.params !== null ? (d.data.params as Record<string, unknown>) : {};
  const field = (k: string): unknown => d.data[k] ?? params[k];
  const channel = field('channel');
  if (typeof channel !== 'string' || channel === '') {
    core.fail(conn, aitError('AIT_ERR_INVALID_FRAME', { reason: 'channel is required' }));
    return;
  }
  try {
    const page = await channelHistory(core, conn, channel, field);
    if (conn.state === 'open') core.send(conn, conn.wire.channelHistory(channel, page));
  } catch (err) {
    if (conn.state === 'open') core.fail(conn, withChannel(historyErrorToAitError(err), channel));
  }
}

async function channelHistory(
  core: EngineCore,
  conn: Connection,
  channel: string,
  field: (k: string) => unknown,
): Promise<Record<string, unknown>> {
  if (!conn.channels.has(channel)) {
    throw aitError('AIT_ERR_HISTORY_UNAVAILABLE', { reason: 'subscribe to the channel first' });
  }
  if (!can(conn.capabilities, 'history', channel)) {
    throw aitError('AIT_ERR_NOT_PERMITTED', { reason: 'history not granted for this channel' });
  }
  const settings = core.streams.settings.get(conn.appId, channel);
  if (!settings.history) throw aitError('AIT_ERR_HISTORY_UNAVAILABLE', { reason: 'history is not enabled' });
  const rawLimit = num(field('limit'), 'limit');
  if (rawLimit === 0) throw aitError('AIT_ERR_INVALID_FRAME', { reason: 'limit must be at least 1' });
  const limit = Math.min(rawLimit ?? 100, settings.maxPageSize, MAX_PAGE_LIMIT);
  const dirRaw = field('direction');
  const direction = dirRaw === undefined || dirRaw === null ? 'newest_first' : normalizeDirection(dirRaw);
  if (direction === undefined) throw aitError('AIT_ERR_INVALID_FRAME', { reason: 'unknown direction' });
  // Here `start`/`end` alias the SERIAL bounds (unlike HTTP, where they are times).
  const bounds: { startSerial?: number; endSerial?: number; startTimeMs?: number; endTimeMs?: number } = {};
  const startSerial = num(field('start_serial') ?? field('start'), 'start_serial');
  let endSerial = num(field('end_serial') ?? field('end'), 'end_serial');
  const startTimeMs = num(field('start_time_ms'), 'start_time_ms');
  const endTimeMs = num(field('end_time_ms'), 'end_time_ms');
  const untilAttach = field('until_attach') === true || field('untilAttach') === true;
  const attachSerial = conn.attachSerials.get(channel);
  if (untilAttach) {
    if (attachSerial === undefined) {
      throw aitError('AIT_ERR_HISTORY_UNAVAILABLE', { reason: 'no attach serial was recorded for this channel' });
    }
    endSerial = endSerial === undefined ? attachSerial : Math.min(endSerial, attachSerial);
  }
  if (startSerial !== undefined) bounds.startSerial = startSerial;
  if (endSerial !== undefined) bounds.endSerial = endSerial;
  if (startTimeMs !== undefined) bounds.startTimeMs = startTimeMs;
  if (endTimeMs !== undefined) bounds.endTimeMs = endTimeMs;
  const cursor = field('cursor');
  const { page, messages } = await core.streams.reads.historyPage({
    appId: conn.appId,
    channel,
    direction,
    limit,
    ...(typeof cursor === 'string' && cursor !== '' && { cursor }),
    bounds,
  });
  return historyPageToWire(page, {
    substitute: (row) => messages.get(row),
    untilAttach: { untilAttach, attachSerial: attachSerial ?? null },
  });
}

// --- sockudo:resume ------------------------------------------------------------------------

interface ParsedPositions {
  positions: Map<string, ResumePosition>;
}

function parsePositions(data: Record<string, unknown>): ParsedPositions | { error: string } {
  const positions = new Map<string, ResumePosition>();
  const cp = data.channel_positions;
  const legacy = data.channel_serials;
  const source = cp ?? legacy;
  if (typeof source !== 'object' || source === null || Array.isArray(source)) return { positions };
  const entries = Object.entries(source as Record<string, unknown>);
  if (entries.length > MAX_RESUME_CHANNELS) return { error: `at most ${MAX_RESUME_CHANNELS} channels per resume` };
  for (const [channel, raw] of entries) {
    if (cp !== undefined) {
      if (typeof raw !== 'object' || raw === null)
        return { error: `channel_positions.${channel.slice(0, 40)} must be an object` };
      const p = raw as Record<string, unknown>;
      const serial = typeof p.serial === 'string' && /^\d{1,16}$/.test(p.serial) ? Number(p.serial) : p.serial;
      if (typeof serial !== 'number' || !Number.isSafeInteger(serial) || serial < 0) {
        return { error: 'serial must be a non-negative integer' };
      }
      positions.set(channel, {
        serial,
        ...(typeof p.stream_id === 'string' && { streamId: p.stream_id }),
        ...(typeof p.last_message_id === 'string' && { lastMessageId: p.last_message_id }),
      });
    } else {
      if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0)
        return { error: 'serial must be a non-negative integer' };
      positions.set(channel, { serial: raw });
    }
  }
  return { positions };
}

function coldSource(core: EngineCore, appId: string, channel: string, settings: ChannelSettings): ColdSource {
  const { stores } = core.streams;
  const t = storeTimeout(core);
  if (!settings.history) return { kind: 'disabled' };
  if (settings.versioned) {
    return {
      kind: 'versioned',
      state: () => withTimeout(stores.versions.streamState(appId, channel), t, 'version state'),
      replayAfter: (after, limit) =>
        withTimeout(stores.versions.replayAfter(appId, channel, after, limit), t, 'replay'),
    };
  }
  return {
    kind: 'history',
    state: () => withTimeout(stores.history.state(appId, channel), t, 'history state'),
    rowsBetween: async (after, newest, limit) =>
      (
        await withTimeout(
          stores.history.read({
            appId,
            channel,
            direction: 'oldest_first',
            limit,
            bounds: { startSerial: after + 1, endSerial: newest },
          }),
          t,
          'history read',
        )
      ).items,
  };
}

/** The frames a recovered channel replays, rebuilt live-style (cold) or as buffered (hot). */
function replayFrames(
  conn: Connection,
  channel: string,
  outcome: Extract<RecoveryOutcome, { kind: 'recovered' }>,
  window: number,
): string[] {
  if (outcome.source === 'hot') return outcome.entries.map((e) => e.frame);
  if (outcome.rows) return outcome.rows.map((r) => rowFrame(channel, r, r.message));
  const ctx = { channel, stream_id: outcome.position.streamId };
  const mode = conn.params.appendMode;
  const versions = outcome.versions ?? [];
  // Live-style for this socket (messages/replay.ts): its window's rollup, full-mode aggregates per version.
  const keep = window > 0 ? coalesceAppendRuns(versions) : undefined;
  const data =
    mode === 'full'
      ? fullModeData(versions, new Map((outcome.latest ?? []).map((a) => [a.latest.message_serial, a])))
      : undefined;
  const frames: string[] = [];
  versions.forEach((record, i) => {
    if (keep && !keep[i]) return;
    const r = data && record.action === 'append' ? { ...record, data: data[i] } : record;
    frames.push(JSON.stringify(stripInternal(buildLiveFrame(ctx, r, mode))));
  });
  return frames;
}

/**
 * Called when a `sockudo:resume` frame ARRIVES (before it waits its turn behind a subscribe's
 * attach): holds the live frames of every named channel the socket is subscribed to, so nothing
 * slips out between the subscription ack and the replay. Returns the held channels.
 */
export function holdForResume(core: EngineCore, conn: Connection, frameData: unknown): string[] {
  const d = dataObject(frameData);
  if (!d.ok) return [];
  const parsed = parsePositions(d.data);
  if ('error' in parsed) return [];
  const held = [...parsed.positions.keys()].filter((ch) => conn.channels.has(ch));
  for (const ch of held) core.delivery.beginAttach(conn, ch);
  return held;
}

export async function handleResume(
  core: EngineCore,
  conn: Connection,
  frameData: unknown,
  held: readonly string[],
): Promise<void> {
  if (conn.version !== 2) return;
  try {
    await resume(core, conn, frameData, held);
  } finally {
    // Whatever happened, let go of the held channels (no-op for those already released).
    for (const ch of held) {
      if (!conn.attaching.has(ch)) continue;
      core.delivery.endAttach(conn, ch, {}, (frames) => queueAll(core, conn, frames));
    }
  }
}

async function resume(core: EngineCore, conn: Connection, frameData: unknown, held: readonly string[]): Promise<void> {
  if (!core.config.recovery.enabled) {
    core.fail(conn, aitError('AIT_ERR_RECOVERY_DISABLED'));
    return;
  }
  const d = dataObject(frameData);
  if (!d.ok) {
    core.fail(conn, aitError('AIT_ERR_INVALID_FRAME', { reason: d.reason }));
    return;
  }
  const parsed = parsePositions(d.data);
  if ('error' in parsed) {
    core.fail(conn, aitError('AIT_ERR_INVALID_FRAME', { reason: parsed.error }));
    return;
  }
  if (parsed.positions.size === 0) {
    core.fail(conn, aitError('AIT_ERR_RECOVERY_NO_POSITIONS'));
    return;
  }
  const m = core.metrics;
  const labels = { app_id: conn.appId };
  const recovered: unknown[] = [];
  const failed: unknown[] = [];
  const results: Array<{ channel: string; outcome: RecoveryOutcome | RecoveryFailure }> = [];
  // Live frames of every named channel are held (holdForResume) until resume_success is queued (6.5).
  for (const [channel, pos] of parsed.positions) {
    const settings = core.streams.settings.get(conn.appId, channel);
    let outcome: RecoveryOutcome;
    if (!conn.channels.has(channel) || !settings.recovery.enabled) {
      outcome = {
        kind: 'failed',
        code: 'position_expired',
        reason: conn.channels.has(channel) ? 'recovery_disabled_for_channel' : 'not_subscribed',
        expectedStreamId: pos.streamId ?? null,
        currentStreamId: null,
        oldestAvailableSerial: null,
        newestAvailableSerial: null,
      };
    } else {
      const hot = core.streams.stores.hot;
      try {
        outcome = await resolveResume(pos, {
          maxReplay: settings.recovery.maxReplay,
          // The hot tier holds delta frames: full-mode sockets recover from the cold tier.
          ...(conn.params.appendMode === 'delta' && {
            hot: (after: number, max: number) => hot.after(conn.appId, channel, after, max),
          }),
          cold: coldSource(core, conn.appId, channel, settings),
        });
      } catch (err) {
        conn.log.warn({ err, channel }, 'resume failed');
        outcome = {
          kind: 'failed',
          code: 'persistence_unavailable',
          reason: 'durable_store_unavailable',
          expectedStreamId: pos.streamId ?? null,
          currentStreamId: null,
          oldestAvailableSerial: null,
          newestAvailableSerial: null,
        };
      }
    }
    results.push({ channel, outcome });
  }
  if (conn.state !== 'open') return;
  const covered = new Map<string, AttachCovered>();
  for (const { channel, outcome } of results) {
    if (outcome.kind === 'failed') {
      m.historyRecoveryFailuresTotal.inc({ ...labels, code: outcome.code });
      const data = resumeFailedData(outcome);
      core.send(conn, conn.wire.resumeFailed(channel, data));
      failed.push({ channel, ...data });
      continue;
    }
    m.historyRecoverySuccessTotal.inc({ ...labels, source: outcome.source });
    const window = windowOf(conn, core.streams.settings.get(conn.appId, channel));
    const frames = replayFrames(conn, channel, outcome, window);
    for (const f of frames) core.send(conn, f);
    covered.set(channel, { serial: outcome.position.serial });
    recovered.push({
      channel,
      source: outcome.source,
      replayed: frames.length,
      position: {
        stream_id: outcome.position.streamId,
        serial: outcome.position.serial,
        last_message_id: outcome.position.lastMessageId,
      },
    });
  }
  core.send(conn, conn.wire.resumeSuccess({ recovered, failed }));
  for (const ch of held) {
    const c = covered.get(ch) ?? {};
    // The replay came from a store: join once live delivery here has got as far.
    core.delivery.endAttach(
      conn,
      ch,
      c,
      (frames) => queueAll(core, conn, frames),
      c.serial !== undefined ? { serial: c.serial } : {},
    );
  }
}

function queueAll(core: EngineCore, conn: Connection, frames: readonly BufferedFrame[] | undefined): void {
  for (const f of frames ?? []) core.fanout.queueShared(conn, f.frame);
}
