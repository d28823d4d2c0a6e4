// The embedded (in-process) HistoryStore. Every method does all of its work synchronously
// before it resolves, so on one event loop each call is atomic (STANDARDS C1) exactly as one
// Lua script would be in Redis.
//
// Memory is bounded: rows per channel by the retention policy under hard ceilings, channels by
// `maxChannels` (least recently used first), known epochs by `maxKnownEpochs`. Per-call work is
// O(log n) for lookups plus the rows it returns or evicts (evictions capped per call).
//
// Data-loss detection (decision 11): `#channels` stands for what the backend stores, `#known`
// for what this node remembers of each channel's epoch. When a channel record is missing but
// its epoch is known (the backend lost it, or the LRU cap dropped a channel that still held
// rows or a non-healthy state) the next call starts a new epoch in state reset_required.
import { randomUUID } from 'node:crypto';
import { utf8Bytes } from '../messages/serials.ts';
import { assertScope, scopedKey } from '../stores/keys.ts';
import { Ring } from '../stores/ring.ts';
import { encodeCursor, openCursor } from './cursor.ts';
import type { DataLossSimulator, HistoryStore } from './store.ts';
import {
  type AppendResult,
  type Continuity,
  checkRetention,
  type DurableState,
  type HistoryAppend,
  type HistoryAppStats,
  type HistoryBounds,
  type HistoryDirection,
  HistoryError,
  type HistoryPage,
  type HistoryQuery,
  type HistoryRow,
  type HistoryStats,
  type HistoryStreamInfo,
  isSerial,
  type NonHealthyChannel,
  type NonHealthyPage,
  type NonHealthyQuery,
  normalizeBounds,
  normalizeLimit,
  OPERATION_PUBLISH,
  type PurgeRequest,
  type PurgeResult,
  type ResetRequest,
  type ResetResult,
  type RetainedInfo,
  type RetentionPolicy,
  recoveryAllowed,
  STATE_REASONS,
  type StreamState,
} from './types.ts';

export interface MemoryHistoryStoreOptions {
  /** Injected clock (ms since the epoch). */
  readonly now?: () => number;
  /** Epoch id generator (default crypto.randomUUID). */
  readonly newStreamId?: () => string;
  /** Stamped on state transitions. */
  readonly nodeId?: string;
  /** Channels kept; the least recently used is dropped past it (default 100 000). */
  readonly maxChannels?: number;
  /** Hard ceiling on rows per channel, whatever the policy (default 100 000). */
  readonly maxMessagesPerChannel?: number;
  /** Hard ceiling on retained bytes per channel (default 64 MiB). */
  readonly maxBytesPerChannel?: number;
  /** Largest stored message JSON (default 4 MiB); larger appends throw `row_too_large`. */
  readonly maxRowBytes?: number;
  /** Rows one call may evict (default 4096); the rest go on later calls, hidden from reads. */
  readonly maxEvictionsPerCall?: number;
  /** Epochs this node remembers for loss detection (default 2 × maxChannels). */
  readonly maxKnownEpochs?: number;
}

interface Row {
  readonly serial: number;
  readonly publishedAtMs: number;
  readonly messageId: string;
  readonly eventName: string;
  readonly operationKind: string;
  readonly messageSerial: string | undefined;
  readonly json: string;
  readonly bytes: number;
}

interface Chan {
  readonly appId: string;
  readonly channel: string;
  readonly key: string;
  streamId: string;
  nextSerial: number;
  rows: Ring<Row>;
  bytes: number;
  retention: RetentionPolicy | null;
  /** Publish times never decrease within an epoch (so time bounds can binary-search). */
  lastPublishedAtMs: number;
  /** Publish time of serial 1 of this epoch, and the newest publish time of any removed row. */
  firstPublishedAtMs: number | null;
  removedNewestPublishedAtMs: number | null;
  state: DurableState;
  reason: string | null;
  lastTransitionAtMs: number;
  transitionNode: string | null;
  lostStreamId: string | null;
}

const SOURCE = 'memory';
const NON_HEALTHY_MAX_LIMIT = 1000;

function emptyStats(): HistoryAppStats {
  return {
    channels: 0,
    retainedMessages: 0,
    retainedBytes: 0,
    evictedMessages: 0,
    evictedBytes: 0,
    purgedMessages: 0,
    purgedBytes: 0,
    degradedChannels: 0,
    resetRequiredChannels: 0,
    dataLossDetected: 0,
  };
}

function positiveInt(label: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`${label} must be a positive integer`);
  return v;
}

export class MemoryHistoryStore implements HistoryStore, DataLossSimulator {
  readonly #now: () => number;
  readonly #newStreamId: () => string;
  readonly #nodeId: string | null;
  readonly #maxChannels: number;
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #maxRowBytes: number;
  readonly #maxEvictions: number;
  readonly #maxKnown: number;

  /** What the backend holds, in least-recently-used order. */
  readonly #channels = new Map<string, Chan>();
  /** What this node remembers: channel key → the last epoch it saw (LRU order). */
  readonly #known = new Map<string, string>();
  /** Index of degraded / reset_required channels. */
  readonly #nonHealthy = new Map<string, Chan>();
  readonly #apps = new Map<string, HistoryAppStats>();

  constructor(opts: MemoryHistoryStoreOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#newStreamId = opts.newStreamId ?? randomUUID;
    this.#nodeId = opts.nodeId ?? null;
    this.#maxChannels = positiveInt('maxChannels', opts.maxChannels, 100_000);
    this.#maxMessages = positiveInt('maxMessagesPerChannel', opts.maxMessagesPerChannel, 100_000);
    this.#maxBytes = positiveInt('maxBytesPerChannel', opts.maxBytesPerChannel, 64 * 1024 * 1024);
    this.#maxRowBytes = positiveInt('maxRowBytes', opts.maxRowBytes, 4 * 1024 * 1024);
    this.#maxEvictions = positiveInt('maxEvictionsPerCall', opts.maxEvictionsPerCall, 4096);
    this.#maxKnown = positiveInt('maxKnownEpochs', opts.maxKnownEpochs, 2 * this.#maxChannels);
  }

  // -------------------------------------------------------------------------------------------
  // HistoryStore

  async append(appId: string, channel: string, row: HistoryAppend, retention: RetentionPolicy): Promise<AppendResult> {
    assertScope(appId, channel);
    checkRetention(retention);
    checkAppend(row);
    const json = JSON.stringify(row.message);
    const bytes = utf8Bytes(json);
    if (bytes > this.#maxRowBytes) {
      throw new HistoryError('row_too_large', `stored message is ${bytes} bytes; the limit is ${this.#maxRowBytes}`);
    }
    const now = this.#now();
    const ch = this.#chan(appId, channel, now);
    const serial = ch.nextSerial;
    if (!isSerial(serial + 1)) throw new HistoryError('serial_exhausted', 'history serial space exhausted');
    const publishedAtMs = Math.max(row.publishedAtMs ?? now, ch.lastPublishedAtMs);
    ch.rows.push({
      serial,
      publishedAtMs,
      messageId: row.messageId,
      eventName: row.eventName,
      operationKind: row.operationKind ?? OPERATION_PUBLISH,
      messageSerial: row.messageSerial,
      json,
      bytes,
    });
    ch.nextSerial = serial + 1;
    ch.bytes += bytes;
    ch.lastPublishedAtMs = publishedAtMs;
    if (ch.firstPublishedAtMs === null) ch.firstPublishedAtMs = publishedAtMs;
    ch.retention = { ...retention };
    const app = this.#app(appId);
    app.retainedMessages++;
    app.retainedBytes += bytes;
    const evicted = this.#evict(ch, now, true);
    return {
      historySerial: serial,
      streamId: ch.streamId,
      publishedAtMs,
      payloadSizeBytes: bytes,
      evictedMessages: evicted.messages,
      evictedBytes: evicted.bytes,
      durableState: ch.state,
    };
  }

  async read(query: HistoryQuery): Promise<HistoryPage> {
    assertScope(query.appId, query.channel);
    const direction: HistoryDirection = query.direction ?? 'newest_first';
    if (direction !== 'newest_first' && direction !== 'oldest_first') {
      throw new HistoryError('invalid_query', 'direction must be newest_first or oldest_first');
    }
    const limit = normalizeLimit(query.limit);
    const bounds = normalizeBounds(query.bounds);
    const cursor =
      query.cursor === undefined || query.cursor === null
        ? undefined
        : openCursor(query.cursor, { appId: query.appId, channel: query.channel, direction, bounds });
    const now = this.#now();
    const ch = this.#chan(query.appId, query.channel, now);
    this.#evict(ch, now, false);
    if (cursor && cursor.streamId !== ch.streamId) {
      throw new HistoryError('cursor_stream_reset', 'the stream was reset since this cursor was issued');
    }

    const rows = ch.rows;
    const n = rows.length;
    const oldest = rows.first()?.serial ?? ch.nextSerial;
    let lo = 0;
    let hi = n;
    const cutoff = ageCutoff(ch.retention, now);
    if (cutoff !== undefined)
      lo = Math.max(
        lo,
        rows.lowerBound((r) => r.publishedAtMs >= cutoff),
      );
    if (bounds.startSerial !== undefined) lo = Math.max(lo, clampIndex(bounds.startSerial - oldest, n));
    if (bounds.endSerial !== undefined) hi = Math.min(hi, clampIndex(bounds.endSerial - oldest + 1, n));
    const { startTimeMs, endTimeMs } = bounds;
    if (startTimeMs !== undefined)
      lo = Math.max(
        lo,
        rows.lowerBound((r) => r.publishedAtMs >= startTimeMs),
      );
    if (endTimeMs !== undefined)
      hi = Math.min(
        hi,
        rows.lowerBound((r) => r.publishedAtMs > endTimeMs),
      );
    let skippedByCursor = false;
    if (cursor) {
      if (cursor.serial < oldest) skippedByCursor = true;
      if (direction === 'oldest_first') lo = Math.max(lo, clampIndex(cursor.serial - oldest, n));
      else hi = Math.min(hi, clampIndex(cursor.serial - oldest + 1, n));
    }

    const items: HistoryRow[] = [];
    let hasMore = false;
    let nextSerial = 0;
    if (lo < hi) {
      if (direction === 'oldest_first') {
        const end = Math.min(hi, lo + limit);
        for (let i = lo; i < end; i++) items.push(toRow(ch.streamId, rows.at(i) as Row));
        hasMore = end < hi;
        nextSerial = (rows.at(end - 1) as Row).serial + 1;
      } else {
        const end = Math.max(lo, hi - limit);
        for (let i = hi - 1; i >= end; i--) items.push(toRow(ch.streamId, rows.at(i) as Row));
        hasMore = end > lo;
        nextSerial = (rows.at(end) as Row).serial - 1;
      }
    }
    const nextCursor = hasMore
      ? encodeCursor({
          appId: query.appId,
          channel: query.channel,
          streamId: ch.streamId,
          serial: nextSerial,
          direction,
          bounds,
        })
      : null;
    const truncated = skippedByCursor || removedOverlaps(ch, bounds);
    const continuity: Continuity = { ...retained(ch), complete: !truncated, truncatedByRetention: truncated };
    return {
      items,
      direction,
      limit,
      hasMore,
      nextCursor,
      bounds,
      continuity,
      streamState: this.#stateOf(ch),
    };
  }

  async state(appId: string, channel: string): Promise<HistoryStreamInfo> {
    assertScope(appId, channel);
    const now = this.#now();
    const ch = this.#chan(appId, channel, now);
    this.#evict(ch, now, false);
    return this.#info(ch);
  }

  async reset(appId: string, channel: string, req: ResetRequest): Promise<ResetResult> {
    assertScope(appId, channel);
    checkReason(req.reason);
    const now = this.#now();
    const ch = this.#chan(appId, channel, now);
    const previousStreamId = ch.streamId;
    const purgedMessages = ch.rows.length;
    const purgedBytes = ch.bytes;
    const app = this.#app(appId);
    app.retainedMessages -= purgedMessages;
    app.retainedBytes -= purgedBytes;
    app.purgedMessages += purgedMessages;
    app.purgedBytes += purgedBytes;
    ch.streamId = this.#newStreamId();
    ch.nextSerial = 1;
    ch.rows = new Ring<Row>();
    ch.bytes = 0;
    ch.lastPublishedAtMs = 0;
    ch.firstPublishedAtMs = null;
    ch.removedNewestPublishedAtMs = null;
    ch.lostStreamId = null;
    this.#setState(ch, 'healthy', null, now);
    ch.lastTransitionAtMs = now;
    this.#remember(ch.key, ch.streamId);
    return { previousStreamId, newStreamId: ch.streamId, purgedMessages, purgedBytes, stream: this.#info(ch) };
  }

  async purge(appId: string, channel: string, req: PurgeRequest): Promise<PurgeResult> {
    assertScope(appId, channel);
    checkReason(req.reason);
    let keep: (r: Row) => boolean;
    switch (req.mode) {
      case 'all':
        keep = () => false;
        break;
      case 'before_serial': {
        const before = req.beforeSerial;
        if (!isSerial(before)) throw new HistoryError('invalid_request', 'before_serial must be a serial');
        keep = (r) => r.serial >= before;
        break;
      }
      case 'before_time_ms': {
        const before = req.beforeTimeMs;
        if (!Number.isSafeInteger(before))
          throw new HistoryError('invalid_request', 'before_time_ms must be an integer');
        keep = (r) => r.publishedAtMs >= before;
        break;
      }
      default:
        throw new HistoryError('invalid_request', 'mode must be all, before_serial or before_time_ms');
    }
    const now = this.#now();
    const ch = this.#chan(appId, channel, now);
    let purgedMessages = 0;
    let purgedBytes = 0;
    if (req.mode === 'all') {
      purgedMessages = ch.rows.length;
      purgedBytes = ch.bytes;
      const last = ch.rows.last();
      if (last) this.#noteRemoved(ch, last);
      ch.rows = new Ring<Row>();
      ch.bytes = 0;
    } else {
      // Rows are ordered by serial and by publish time, so the purged ones are a prefix.
      // Work is bounded by the per-channel row ceiling.
      for (let r = ch.rows.first(); r !== undefined && !keep(r); r = ch.rows.first()) {
        ch.rows.shift();
        ch.bytes -= r.bytes;
        this.#noteRemoved(ch, r);
        purgedMessages++;
        purgedBytes += r.bytes;
      }
    }
    const app = this.#app(appId);
    app.retainedMessages -= purgedMessages;
    app.retainedBytes -= purgedBytes;
    app.purgedMessages += purgedMessages;
    app.purgedBytes += purgedBytes;
    return { purgedMessages, purgedBytes, stream: this.#info(ch) };
  }

  async markDegraded(appId: string, channel: string, reason: string): Promise<StreamState> {
    assertScope(appId, channel);
    checkReason(reason);
    const now = this.#now();
    const ch = this.#chan(appId, channel, now);
    if (ch.state === 'healthy') this.#setState(ch, 'degraded', reason, now);
    else if (ch.state === 'degraded') ch.reason = reason;
    return this.#stateOf(ch);
  }

  async clearDegraded(appId: string, channel: string): Promise<StreamState> {
    assertScope(appId, channel);
    const now = this.#now();
    const ch = this.#chan(appId, channel, now);
    if (ch.state === 'degraded') this.#setState(ch, 'healthy', null, now);
    return this.#stateOf(ch);
  }

  async listNonHealthy(query: NonHealthyQuery = {}): Promise<NonHealthyPage> {
    if (query.appId !== undefined) assertScope(query.appId);
    const limit = normalizeLimit(query.limit, NON_HEALTHY_MAX_LIMIT);
    const offset = query.cursor ? parseOffset(query.cursor) : 0;
    // An offset cursor over the index (admin path): like Redis SCAN, a page may repeat or miss
    // a channel whose state changed between pages. Work is bounded by the index size.
    const items: NonHealthyChannel[] = [];
    let seen = 0;
    let more = false;
    for (const ch of this.#nonHealthy.values()) {
      if (query.appId !== undefined && ch.appId !== query.appId) continue;
      if (seen++ < offset) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push({ appId: ch.appId, channel: ch.channel, state: this.#stateOf(ch) });
    }
    return { items, nextCursor: more ? String(offset + limit) : null };
  }

  async stats(): Promise<HistoryStats> {
    const apps: Record<string, HistoryAppStats> = {};
    for (const [id, s] of this.#apps) apps[id] = { ...s };
    return { apps };
  }

  // -------------------------------------------------------------------------------------------
  // DataLossSimulator

  simulateDataLoss(): void {
    this.#channels.clear();
    this.#nonHealthy.clear();
    for (const s of this.#apps.values()) {
      s.channels = 0;
      s.retainedMessages = 0;
      s.retainedBytes = 0;
      s.degradedChannels = 0;
      s.resetRequiredChannels = 0;
    }
  }

  // -------------------------------------------------------------------------------------------
  // internals

  #app(appId: string): HistoryAppStats {
    let s = this.#apps.get(appId);
    if (!s) {
      s = emptyStats();
      this.#apps.set(appId, s);
    }
    return s;
  }

  #remember(key: string, streamId: string): void {
    this.#known.delete(key);
    this.#known.set(key, streamId);
    if (this.#known.size > this.#maxKnown) this.#known.delete(this.#known.keys().next().value as string);
  }

  /** Gets the channel record (touching LRU order), creating it — and detecting loss — if absent. */
  #chan(appId: string, channel: string, now: number): Chan {
    const key = scopedKey(appId, channel);
    const existing = this.#channels.get(key);
    if (existing) {
      this.#channels.delete(key);
      this.#channels.set(key, existing);
      this.#remember(key, existing.streamId);
      return existing;
    }
    const lost = this.#known.get(key);
    const ch: Chan = {
      appId,
      channel,
      key,
      streamId: this.#newStreamId(),
      nextSerial: 1,
      rows: new Ring<Row>(),
      bytes: 0,
      retention: null,
      lastPublishedAtMs: 0,
      firstPublishedAtMs: null,
      removedNewestPublishedAtMs: null,
      state: 'healthy',
      reason: null,
      lastTransitionAtMs: now,
      transitionNode: this.#nodeId,
      lostStreamId: null,
    };
    if (this.#channels.size >= this.#maxChannels) this.#dropLeastRecent();
    this.#channels.set(key, ch);
    this.#app(appId).channels++;
    if (lost !== undefined) {
      ch.lostStreamId = lost;
      this.#setState(ch, 'reset_required', STATE_REASONS.streamLost, now);
      this.#app(appId).dataLossDetected++;
    }
    this.#remember(key, ch.streamId);
    return ch;
  }

  /** Drops the least recently used channel. Its epoch is forgotten only when nothing of value
   * goes with it (no rows, healthy); otherwise the next call on it reports reset_required. */
  #dropLeastRecent(): void {
    const first = this.#channels.values().next();
    if (first.done) return;
    const ch = first.value;
    this.#channels.delete(ch.key);
    const app = this.#app(ch.appId);
    app.channels--;
    app.retainedMessages -= ch.rows.length;
    app.retainedBytes -= ch.bytes;
    if (ch.state === 'degraded') app.degradedChannels--;
    if (ch.state === 'reset_required') app.resetRequiredChannels--;
    this.#nonHealthy.delete(ch.key);
    if (ch.rows.length === 0 && ch.state === 'healthy') this.#known.delete(ch.key);
  }

  #setState(ch: Chan, state: DurableState, reason: string | null, now: number): void {
    const app = this.#app(ch.appId);
    if (ch.state === 'degraded') app.degradedChannels--;
    if (ch.state === 'reset_required') app.resetRequiredChannels--;
    if (state === 'degraded') app.degradedChannels++;
    if (state === 'reset_required') app.resetRequiredChannels++;
    if (state === 'healthy') this.#nonHealthy.delete(ch.key);
    else this.#nonHealthy.set(ch.key, ch);
    if (ch.state !== state) ch.lastTransitionAtMs = now;
    ch.state = state;
    ch.reason = reason;
    ch.transitionNode = this.#nodeId;
  }

  #noteRemoved(ch: Chan, r: Row): void {
    if (ch.removedNewestPublishedAtMs === null || r.publishedAtMs > ch.removedNewestPublishedAtMs) {
      ch.removedNewestPublishedAtMs = r.publishedAtMs;
    }
  }

  /** Enforces retention from the old end. The newest row is never evicted by count or bytes
   * (whatever its size); by age only outside an append. */
  #evict(ch: Chan, now: number, keepNewest: boolean): { messages: number; bytes: number } {
    const policy = ch.retention;
    const maxMessages = Math.min(policy?.maxMessages ?? Number.POSITIVE_INFINITY, this.#maxMessages);
    const maxBytes = Math.min(policy?.maxBytes ?? Number.POSITIVE_INFINITY, this.#maxBytes);
    const cutoff = ageCutoff(policy, now);
    let messages = 0;
    let bytes = 0;
    while (messages < this.#maxEvictions) {
      const first = ch.rows.first();
      if (first === undefined) break;
      const minRows = keepNewest ? 1 : 0;
      const over =
        ch.rows.length > maxMessages ||
        (ch.bytes > maxBytes && ch.rows.length > 1) ||
        (cutoff !== undefined && first.publishedAtMs < cutoff && ch.rows.length > minRows);
      if (!over) break;
      ch.rows.shift();
      ch.bytes -= first.bytes;
      this.#noteRemoved(ch, first);
      messages++;
      bytes += first.bytes;
    }
    if (messages > 0) {
      const app = this.#app(ch.appId);
      app.retainedMessages -= messages;
      app.retainedBytes -= bytes;
      app.evictedMessages += messages;
      app.evictedBytes += bytes;
    }
    return { messages, bytes };
  }

  #stateOf(ch: Chan): StreamState {
    return {
      streamId: ch.streamId,
      durableState: ch.state,
      recoveryAllowed: recoveryAllowed(ch.state),
      reason: ch.reason,
      lastTransitionAtMs: ch.lastTransitionAtMs,
      nodeId: ch.transitionNode,
      lostStreamId: ch.lostStreamId,
      authoritativeSource: SOURCE,
      observedSource: 'store',
    };
  }

  #info(ch: Chan): HistoryStreamInfo {
    return {
      appId: ch.appId,
      channel: ch.channel,
      streamId: ch.streamId,
      nextSerial: ch.nextSerial,
      retained: retained(ch),
      state: this.#stateOf(ch),
      retention: ch.retention ? { ...ch.retention } : null,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// helpers

function checkAppend(row: HistoryAppend): void {
  if (typeof row !== 'object' || row === null) throw new TypeError('history row must be an object');
  if (typeof row.messageId !== 'string' || row.messageId.length === 0 || row.messageId.length > 256) {
    throw new TypeError('history row messageId must be a non-empty string of at most 256 chars');
  }
  if (typeof row.eventName !== 'string' || row.eventName.length > 1024) {
    throw new TypeError('history row eventName must be a string of at most 1024 chars');
  }
  if (row.publishedAtMs !== undefined && (!Number.isSafeInteger(row.publishedAtMs) || row.publishedAtMs < 0)) {
    throw new TypeError('history row publishedAtMs must be a non-negative integer');
  }
  if (typeof row.message !== 'object' || row.message === null || Array.isArray(row.message)) {
    throw new TypeError('history row message must be an object');
  }
}

function checkReason(reason: unknown): void {
  if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > 1024) {
    throw new HistoryError('invalid_request', 'reason must be a non-empty string of at most 1024 chars');
  }
}

function parseOffset(cursor: string): number {
  const n = /^\d{1,9}$/.test(cursor) ? Number(cursor) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new HistoryError('invalid_cursor', 'invalid cursor');
  return n;
}

function ageCutoff(policy: RetentionPolicy | null, now: number): number | undefined {
  const age = policy?.maxAgeSeconds;
  return age === undefined ? undefined : now - age * 1000;
}

function clampIndex(i: number, n: number): number {
  return Math.max(0, Math.min(i, n));
}

function toRow(streamId: string, r: Row): HistoryRow {
  const row: {
    -readonly [K in keyof HistoryRow]: HistoryRow[K];
  } = {
    streamId,
    historySerial: r.serial,
    publishedAtMs: r.publishedAtMs,
    messageId: r.messageId,
    eventName: r.eventName,
    operationKind: r.operationKind,
    payloadSizeBytes: r.bytes,
    message: JSON.parse(r.json) as HistoryRow['message'],
  };
  if (r.messageSerial !== undefined) row.messageSerial = r.messageSerial;
  return row;
}

function retained(ch: Chan): RetainedInfo {
  const first = ch.rows.first();
  const last = ch.rows.last();
  return {
    streamId: ch.streamId,
    oldestAvailableSerial: first?.serial ?? null,
    newestAvailableSerial: last?.serial ?? null,
    oldestAvailablePublishedAtMs: first?.publishedAtMs ?? null,
    newestAvailablePublishedAtMs: last?.publishedAtMs ?? null,
    retainedMessages: ch.rows.length,
    retainedBytes: ch.bytes,
  };
}

/** Whether rows matching `b` were removed: removed rows are serials 1..oldest-1 of the epoch,
 * published between `firstPublishedAtMs` and `removedNewestPublishedAtMs`. */
function removedOverlaps(ch: Chan, b: HistoryBounds): boolean {
  const removedUpTo = (ch.rows.first()?.serial ?? ch.nextSerial) - 1;
  if (removedUpTo < 1) return false;
  if ((b.startSerial ?? 1) > removedUpTo || (b.endSerial ?? 1) < 1) return false;
  const tFirst = ch.firstPublishedAtMs;
  const tLast = ch.removedNewestPublishedAtMs;
  if (tFirst === null || tLast === null) return true;
  if (b.startTimeMs !== undefined && b.startTimeMs > tLast) return false;
  if (b.endTimeMs !== undefined && b.endTimeMs < tFirst) return false;
  return true;
}
