// The embedded (in-process) VersionStore. Each call does all of its work synchronously, so it is
// atomic on one event loop, as one Lua script would be in Redis (STANDARDS C1).
//
// Memory is bounded: messages per channel (oldest created dropped first), versions per message
// (oldest dropped first, with their op_id receipts), the delivery log per channel (the replay
// floor moves up), approximate bytes per channel, and channels (least recently used first).
// Append versions are stored with their fragment only; the aggregate lives in the latest.
import { randomUUID } from 'node:crypto';
import {
  type Aggregate,
  dataBytes,
  type MutationAction,
  type OpReceipt,
  opKey,
  type VersionRecord,
} from '../messages/model.ts';
import { isCounter, utf8Bytes } from '../messages/serials.ts';
import { assertScope, scopedKey } from '../stores/keys.ts';
import { Ring } from '../stores/ring.ts';
import type { DataLossSimulator } from './store.ts';
import { type DurableState, HistoryError, normalizeLimit, STATE_REASONS } from './types.ts';
import type {
  CommitCreateInput,
  CommitMutationInput,
  CommitOutcome,
  ReplayPage,
  VersionPage,
  VersionPageQuery,
  VersionResetResult,
  VersionSnapshot,
  VersionStore,
  VersionStreamInfo,
} from './version-store.ts';

export interface MemoryVersionStoreOptions {
  readonly now?: () => number;
  readonly newStreamId?: () => string;
  /** Channels kept, least recently used dropped first (default 100 000). */
  readonly maxChannels?: number;
  /** Messages kept per channel, oldest created dropped first (default 10 000). */
  readonly maxMessagesPerChannel?: number;
  /** Versions kept per message (default 8192: 4096 appends plus headroom). */
  readonly maxVersionsPerMessage?: number;
  /** Delivery-log entries kept per channel for cold replay (default 10 000). */
  readonly maxDeliveryLog?: number;
  /** Approximate bytes kept per channel (default 64 MiB). */
  readonly maxBytesPerChannel?: number;
  /** Epochs this node remembers for loss detection (default 2 × maxChannels). */
  readonly maxKnownEpochs?: number;
}

interface Stored {
  readonly record: VersionRecord;
  readonly bytes: number;
}

interface VMsg {
  aggregate: Aggregate;
  streaming: boolean;
  readonly versions: Ring<Stored>;
  readonly ops: Map<string, OpReceipt>;
  bytes: number;
}

interface VChan {
  readonly appId: string;
  readonly channel: string;
  readonly key: string;
  streamId: string;
  nextDelivery: number;
  state: DurableState;
  reason: string | null;
  lostStreamId: string | null;
  lastTransitionAtMs: number;
  messages: Map<string, VMsg>;
  log: Ring<Stored>;
  logBytes: number;
  msgBytes: number;
  openStreaming: number;
}

/** Fixed per-version overhead counted by the byte bound (serials, headers, object). */
const VERSION_OVERHEAD = 256;

function positiveInt(label: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`${label} must be a positive integer`);
  return v;
}

/** What is kept of a version in the version list and the delivery log. */
function slim(record: VersionRecord): Stored {
  if (record.action === 'append') {
    const { data: _aggregate, ...rest } = record;
    return { record: rest, bytes: utf8Bytes(record.fragment ?? '') + VERSION_OVERHEAD };
  }
  return { record, bytes: dataBytes(record.data) + VERSION_OVERHEAD };
}

function checkNext(next: Aggregate, label: string): VersionRecord {
  if (typeof next !== 'object' || next === null || typeof next.latest !== 'object' || next.latest === null) {
    throw new TypeError(`${label}: next must be an Aggregate`);
  }
  const r = next.latest;
  if (typeof r.message_serial !== 'string' || typeof r.version_serial !== 'string') {
    throw new TypeError(`${label}: message_serial and version_serial must be strings`);
  }
  if (r.op_id !== undefined && typeof r.op_fingerprint !== 'string') {
    throw new TypeError(`${label}: a version with op_id needs op_fingerprint`);
  }
  return r;
}

export class MemoryVersionStore implements VersionStore, DataLossSimulator {
  readonly #now: () => number;
  readonly #newStreamId: () => string;
  readonly #maxChannels: number;
  readonly #maxMessages: number;
  readonly #maxVersions: number;
  readonly #maxLog: number;
  readonly #maxBytes: number;
  readonly #maxKnown: number;
  readonly #channels = new Map<string, VChan>();
  readonly #known = new Map<string, string>();

  constructor(opts: MemoryVersionStoreOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#newStreamId = opts.newStreamId ?? randomUUID;
    this.#maxChannels = positiveInt('maxChannels', opts.maxChannels, 100_000);
    this.#maxMessages = positiveInt('maxMessagesPerChannel', opts.maxMessagesPerChannel, 10_000);
    this.#maxVersions = positiveInt('maxVersionsPerMessage', opts.maxVersionsPerMessage, 8192);
    this.#maxLog = positiveInt('maxDeliveryLog', opts.maxDeliveryLog, 10_000);
    this.#maxBytes = positiveInt('maxBytesPerChannel', opts.maxBytesPerChannel, 64 * 1024 * 1024);
    this.#maxKnown = positiveInt('maxKnownEpochs', opts.maxKnownEpochs, 2 * this.#maxChannels);
  }

  async snapshot(
    appId: string,
    channel: string,
    messageSerial: string,
    op?: { readonly action: MutationAction; readonly opId: string },
  ): Promise<VersionSnapshot> {
    assertScope(appId, channel);
    return this.#snapshot(this.#chan(appId, channel), messageSerial, op);
  }

  async commitCreate(appId: string, channel: string, input: CommitCreateInput): Promise<CommitOutcome> {
    assertScope(appId, channel);
    const rec = checkNext(input.next, 'commitCreate');
    if (rec.action !== 'create' || rec.message_serial !== rec.version_serial) {
      throw new TypeError('commitCreate: latest must be a create whose message_serial equals its version_serial');
    }
    const ch = this.#chan(appId, channel);
    const existing = ch.messages.get(rec.message_serial);
    if (existing) return { status: 'exists', latest: existing.aggregate };
    const limited = this.#checkOpen(ch, input.streaming, input.maxOpenStreaming);
    if (limited) return limited;
    const record = this.#assign(ch, rec);
    const aggregate: Aggregate = { ...input.next, latest: record };
    const msg: VMsg = { aggregate, streaming: input.streaming, versions: new Ring(), ops: new Map(), bytes: 0 };
    ch.messages.set(rec.message_serial, msg);
    if (input.streaming) ch.openStreaming++;
    this.#store(ch, rec.message_serial, msg, record);
    return { status: 'committed', streamId: ch.streamId, record, aggregate, openStreaming: ch.openStreaming };
  }

  async commitMutation(
    appId: string,
    channel: string,
    messageSerial: string,
    input: CommitMutationInput,
  ): Promise<CommitOutcome> {
    assertScope(appId, channel);
    const rec = checkNext(input.next, 'commitMutation');
    if (rec.action === 'create' || rec.message_serial !== messageSerial) {
      throw new TypeError('commitMutation: latest must be a mutation of messageSerial');
    }
    const ch = this.#chan(appId, channel);
    const msg = ch.messages.get(messageSerial);
    if (!msg) return { status: 'not_found' };
    const action = rec.action as MutationAction;
    if (rec.op_id !== undefined) {
      const prior = msg.ops.get(opKey(messageSerial, action, rec.op_id));
      if (prior) {
        return prior.fingerprint === rec.op_fingerprint
          ? { status: 'duplicate', streamId: ch.streamId, receipt: prior }
          : { status: 'op_conflict', receipt: prior };
      }
    }
    const latest = msg.aggregate.latest;
    if (latest.version_serial !== input.expectedLatestVersionSerial) {
      const op = rec.op_id === undefined ? undefined : { action, opId: rec.op_id };
      return { status: 'conflict', snapshot: this.#snapshot(ch, messageSerial, op) };
    }
    if (!(rec.version_serial > latest.version_serial)) return { status: 'stale_version_serial', latest: msg.aggregate };
    const opening = input.streaming && !msg.streaming;
    const limited = opening ? this.#checkOpen(ch, true, input.maxOpenStreaming) : undefined;
    if (limited) return limited;
    const record = this.#assign(ch, rec);
    const aggregate: Aggregate = { ...input.next, latest: record };
    if (msg.streaming !== input.streaming) ch.openStreaming += input.streaming ? 1 : -1;
    msg.streaming = input.streaming;
    ch.msgBytes += aggregate.data_bytes - msg.aggregate.data_bytes;
    msg.bytes += aggregate.data_bytes - msg.aggregate.data_bytes;
    msg.aggregate = aggregate;
    if (rec.op_id !== undefined) {
      msg.ops.set(opKey(messageSerial, action, rec.op_id), {
        fingerprint: rec.op_fingerprint as string,
        action,
        message_serial: messageSerial,
        version_serial: record.version_serial,
        history_serial: record.history_serial,
        delivery_serial: record.delivery_serial,
      });
    }
    this.#store(ch, messageSerial, msg, record);
    return { status: 'committed', streamId: ch.streamId, record, aggregate, openStreaming: ch.openStreaming };
  }

  async latest(appId: string, channel: string, messageSerial: string): Promise<Aggregate | undefined> {
    assertScope(appId, channel);
    return this.#chan(appId, channel).messages.get(messageSerial)?.aggregate;
  }

  async versions(
    appId: string,
    channel: string,
    messageSerial: string,
    query: VersionPageQuery = {},
  ): Promise<VersionPage> {
    assertScope(appId, channel);
    const direction = query.direction ?? 'newest_first';
    if (direction !== 'newest_first' && direction !== 'oldest_first') {
      throw new HistoryError('invalid_query', 'direction must be newest_first or oldest_first');
    }
    const limit = normalizeLimit(query.limit);
    const cursor = query.cursor ?? undefined;
    if (cursor !== undefined && (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 128)) {
      throw new HistoryError('invalid_cursor', 'invalid cursor');
    }
    const msg = this.#chan(appId, channel).messages.get(messageSerial);
    if (!msg) return { items: [], hasMore: false, nextCursor: null };
    const v = msg.versions;
    const items: VersionRecord[] = [];
    let hasMore: boolean;
    if (direction === 'oldest_first') {
      const start = cursor === undefined ? 0 : v.lowerBound((s) => s.record.version_serial > cursor);
      const end = Math.min(v.length, start + limit);
      for (let i = start; i < end; i++) items.push((v.at(i) as Stored).record);
      hasMore = end < v.length;
    } else {
      const end = cursor === undefined ? v.length : v.lowerBound((s) => s.record.version_serial >= cursor);
      const start = Math.max(0, end - limit);
      for (let i = end - 1; i >= start; i--) items.push((v.at(i) as Stored).record);
      hasMore = start > 0;
    }
    const last = items[items.length - 1];
    return { items, hasMore, nextCursor: hasMore && last ? last.version_serial : null };
  }

  async replayAfter(appId: string, channel: string, afterDeliverySerial: number, limit: number): Promise<ReplayPage> {
    assertScope(appId, channel);
    if (!isCounter(afterDeliverySerial)) throw new HistoryError('invalid_query', 'serial must be a u64 counter');
    const max = normalizeLimit(limit);
    const ch = this.#chan(appId, channel);
    const log = ch.log;
    const oldest = log.first()?.record.delivery_serial ?? ch.nextDelivery;
    const start = Math.max(0, afterDeliverySerial + 1 - oldest);
    const end = Math.min(log.length, start + max);
    const items: VersionRecord[] = [];
    const latest = new Map<string, Aggregate>();
    for (let i = start; i < end; i++) {
      const r = (log.at(i) as Stored).record;
      items.push(r);
      if (!latest.has(r.message_serial)) {
        const m = ch.messages.get(r.message_serial);
        if (m) latest.set(r.message_serial, m.aggregate);
      }
    }
    return { stream: this.#info(ch), items, latest: [...latest.values()], hasMore: end < log.length };
  }

  async streamState(appId: string, channel: string): Promise<VersionStreamInfo> {
    assertScope(appId, channel);
    return this.#info(this.#chan(appId, channel));
  }

  async openStreamingCount(appId: string, channel: string): Promise<number> {
    assertScope(appId, channel);
    return this.#chan(appId, channel).openStreaming;
  }

  async reset(appId: string, channel: string, reason: string): Promise<VersionResetResult> {
    assertScope(appId, channel);
    if (typeof reason !== 'string' || reason.trim().length === 0) {
      throw new HistoryError('invalid_request', 'reason must be a non-empty string');
    }
    const ch = this.#chan(appId, channel);
    const previousStreamId = ch.streamId;
    const purgedMessages = ch.messages.size;
    ch.streamId = this.#newStreamId();
    ch.nextDelivery = 1;
    ch.messages = new Map();
    ch.log = new Ring();
    ch.logBytes = 0;
    ch.msgBytes = 0;
    ch.openStreaming = 0;
    ch.state = 'healthy';
    ch.reason = null;
    ch.lostStreamId = null;
    ch.lastTransitionAtMs = this.#now();
    this.#remember(ch.key, ch.streamId);
    return { previousStreamId, newStreamId: ch.streamId, purgedMessages };
  }

  simulateDataLoss(): void {
    this.#channels.clear();
  }

  // -------------------------------------------------------------------------------------------

  #snapshot(
    ch: VChan,
    messageSerial: string,
    op: { readonly action: MutationAction; readonly opId: string } | undefined,
  ): VersionSnapshot {
    const msg = ch.messages.get(messageSerial);
    return {
      streamId: ch.streamId,
      durableState: ch.state,
      latest: msg?.aggregate,
      priorOp: msg && op ? msg.ops.get(opKey(messageSerial, op.action, op.opId)) : undefined,
      nextDeliverySerial: ch.nextDelivery,
      openStreaming: ch.openStreaming,
    };
  }

  #checkOpen(ch: VChan, streaming: boolean, max: number | undefined): CommitOutcome | undefined {
    if (!streaming || max === undefined || ch.openStreaming < max) return undefined;
    return { status: 'limit_exceeded', limit: 'open_streaming_messages', max, current: ch.openStreaming };
  }

  #assign(ch: VChan, rec: VersionRecord): VersionRecord {
    const serial = ch.nextDelivery;
    if (!isCounter(serial + 1)) throw new HistoryError('serial_exhausted', 'delivery serial space exhausted');
    ch.nextDelivery = serial + 1;
    return { ...rec, delivery_serial: serial };
  }

  /** Records a committed version in the message's list and the delivery log, then enforces bounds. */
  #store(ch: VChan, messageSerial: string, msg: VMsg, record: VersionRecord): void {
    const stored = slim(record);
    msg.versions.push(stored);
    msg.bytes += stored.bytes;
    ch.msgBytes += stored.bytes;
    if (record.action === 'create') {
      msg.bytes += msg.aggregate.data_bytes;
      ch.msgBytes += msg.aggregate.data_bytes;
    }
    ch.log.push(stored);
    ch.logBytes += stored.bytes;
    // Bounds: versions of this message, the delivery log, messages of the channel, bytes.
    while (msg.versions.length > this.#maxVersions) {
      const old = msg.versions.shift() as Stored;
      msg.bytes -= old.bytes;
      ch.msgBytes -= old.bytes;
      const r = old.record;
      if (r.op_id !== undefined && r.action !== 'create') msg.ops.delete(opKey(r.message_serial, r.action, r.op_id));
    }
    while (ch.log.length > this.#maxLog || (ch.logBytes > this.#maxBytes && ch.log.length > 1)) {
      ch.logBytes -= (ch.log.shift() as Stored).bytes;
    }
    while (ch.messages.size > this.#maxMessages || (ch.msgBytes > this.#maxBytes && ch.messages.size > 1)) {
      const [oldestSerial, oldest] = ch.messages.entries().next().value as [string, VMsg];
      if (oldestSerial === messageSerial) break;
      ch.messages.delete(oldestSerial);
      ch.msgBytes -= oldest.bytes;
      if (oldest.streaming) ch.openStreaming--;
    }
  }

  #remember(key: string, streamId: string): void {
    this.#known.delete(key);
    this.#known.set(key, streamId);
    if (this.#known.size > this.#maxKnown) this.#known.delete(this.#known.keys().next().value as string);
  }

  #chan(appId: string, channel: string): VChan {
    const key = scopedKey(appId, channel);
    const existing = this.#channels.get(key);
    if (existing) {
      this.#channels.delete(key);
      this.#channels.set(key, existing);
      this.#remember(key, existing.streamId);
      return existing;
    }
    const lost = this.#known.get(key);
    const now = this.#now();
    const ch: VChan = {
      appId,
      channel,
      key,
      streamId: this.#newStreamId(),
      nextDelivery: 1,
      state: lost === undefined ? 'healthy' : 'reset_required',
      reason: lost === undefined ? null : STATE_REASONS.streamLost,
      lostStreamId: lost ?? null,
      lastTransitionAtMs: now,
      messages: new Map(),
      log: new Ring(),
      logBytes: 0,
      msgBytes: 0,
      openStreaming: 0,
    };
    if (this.#channels.size >= this.#maxChannels) {
      const lru = this.#channels.values().next().value as VChan;
      this.#channels.delete(lru.key);
      if (lru.messages.size === 0 && lru.state === 'healthy') this.#known.delete(lru.key);
    }
    this.#channels.set(key, ch);
    this.#remember(key, ch.streamId);
    return ch;
  }

  #info(ch: VChan): VersionStreamInfo {
    return {
      streamId: ch.streamId,
      durableState: ch.state,
      reason: ch.reason,
      lostStreamId: ch.lostStreamId,
      lastTransitionAtMs: ch.lastTransitionAtMs,
      nextDeliverySerial: ch.nextDelivery,
      oldestDeliverySerial: ch.log.first()?.record.delivery_serial ?? null,
      newestDeliverySerial: ch.log.last()?.record.delivery_serial ?? null,
      openStreaming: ch.openStreaming,
      messageCount: ch.messages.size,
    };
  }
}
