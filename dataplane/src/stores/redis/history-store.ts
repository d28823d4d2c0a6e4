// The Redis HistoryStore (history/store.ts): the same contract as the memory store, each method
// one Lua script (history-lua.ts) over the keys of one hash slot. Node keeps only what a node
// must remember itself — the epochs it saw (epochs.ts), which is what detects that Redis lost
// acknowledged data (decision 11) — and the pure parts (validation, cursors).
//
// Rows live in a HASH per channel (field = history serial), with a sorted set by publish time
// beside it; docs/redis.md explains the choice (and why not a Stream) and the memory per row.
// Listing (listNonHealthy) and stats fan out over the app's buckets — one script or HGETALL per
// bucket, never KEYS/SCAN — and, without an app, over the apps registry.
import { randomUUID } from 'node:crypto';
import { encodeCursor, openCursor } from '../../history/cursor.ts';
import type { HistoryStore } from '../../history/store.ts';
import {
  type AppendResult,
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
  type StreamState,
} from '../../history/types.ts';
import { utf8Bytes } from '../../messages/serials.ts';
import { isStoreUnavailable } from '../errors.ts';
import { assertScope, scopedKey } from '../keys.ts';
import type { BoundScript, RedisConnection } from './client.ts';
import { KnownEpochs } from './epochs.ts';
import * as lua from './history-lua.ts';
import { type HistoryChannelKeys, RedisKeys } from './keys.ts';

export interface RedisHistoryStoreOptions {
  readonly connection: RedisConnection;
  /** Key layout (default: the connection's prefix, default bucket counts). */
  readonly keys?: RedisKeys;
  /** Injected clock (ms since the epoch): every time, age and idle decision uses it. */
  readonly now?: () => number;
  /** Epoch id generator (default crypto.randomUUID). */
  readonly newStreamId?: () => string;
  /** Stamped on state transitions. */
  readonly nodeId?: string;
  /** A channel record untouched this long (or its age retention, if longer) is dropped
   * (default 7 days). */
  readonly idleTtlMs?: number;
  /** Slack for clock skew between nodes before an idle record is dropped (default 60 s). */
  readonly idleGraceMs?: number;
  /** Hard ceiling on rows per channel, whatever the policy (default 100 000). */
  readonly maxMessagesPerChannel?: number;
  /** Hard ceiling on retained bytes per channel (default 64 MiB). */
  readonly maxBytesPerChannel?: number;
  /** Largest stored message JSON (default 4 MiB); larger appends throw `row_too_large`. */
  readonly maxRowBytes?: number;
  /** Rows one call may evict (default 4096). */
  readonly maxEvictionsPerCall?: number;
  /** Epochs this node remembers for loss detection (default 200 000). */
  readonly maxKnownEpochs?: number;
}

const SOURCE = 'redis';
const NON_HEALTHY_MAX_LIMIT = 1000;
/** How often a node re-registers an app it serves in the apps registry (self-healing). */
const APP_REGISTRATION_REFRESH_MS = 60_000;
/** Idle records a stats scrape sweeps per bucket. */
const STATS_SWEEP_BUDGET = 32;
const STAT_FIELDS: Readonly<Record<string, keyof HistoryAppStats>> = {
  ch: 'channels',
  rm: 'retainedMessages',
  rb: 'retainedBytes',
  em: 'evictedMessages',
  eb: 'evictedBytes',
  pm: 'purgedMessages',
  pb: 'purgedBytes',
  dg: 'degradedChannels',
  rr: 'resetRequiredChannels',
  dl: 'dataLossDetected',
};

function positiveInt(label: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`${label} must be a positive integer`);
  return v;
}

/** The channel record as the scripts return it (history-lua.ts `info`). */
interface Info {
  readonly streamId: string;
  readonly nextSerial: number;
  readonly retainedMessages: number;
  readonly retainedBytes: number;
  readonly oldestSerial: number | null;
  readonly oldestT: number | null;
  readonly newestT: number | null;
  readonly state: DurableState;
  readonly reason: string | null;
  readonly lastTransitionAtMs: number;
  readonly nodeId: string | null;
  readonly lostStreamId: string | null;
  readonly retention: RetentionPolicy | null;
  readonly firstPublishedAtMs: number | null;
  readonly removedNewestPublishedAtMs: number | null;
  readonly windowMs: number;
  readonly created: boolean;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));
const num = (v: unknown): number => Number(v);
const optNum = (v: unknown): number | null => (v === '' || v === null || v === undefined ? null : Number(v));
const optStr = (v: unknown): string | null => (v === '' || v === null || v === undefined ? null : str(v));

function parseInfo(a: readonly unknown[]): Info {
  const ft = num(a[16]);
  const rt = num(a[17]);
  let retention: RetentionPolicy | null = null;
  if (num(a[12]) === 1) {
    const r: { maxMessages?: number; maxBytes?: number; maxAgeSeconds?: number } = {};
    if (num(a[13]) > 0) r.maxMessages = num(a[13]);
    if (num(a[14]) > 0) r.maxBytes = num(a[14]);
    if (num(a[15]) > 0) r.maxAgeSeconds = num(a[15]);
    retention = r;
  }
  return {
    streamId: str(a[0]),
    nextSerial: num(a[1]),
    retainedMessages: num(a[2]),
    retainedBytes: num(a[3]),
    oldestSerial: optNum(a[4]),
    oldestT: optNum(a[5]),
    newestT: optNum(a[6]),
    state: str(a[7]) as DurableState,
    reason: optStr(a[8]),
    lastTransitionAtMs: num(a[9]),
    nodeId: optStr(a[10]),
    lostStreamId: optStr(a[11]),
    retention,
    firstPublishedAtMs: ft < 0 ? null : ft,
    removedNewestPublishedAtMs: rt < 0 ? null : rt,
    windowMs: num(a[18]),
    created: num(a[19]) === 1,
  };
}

function stateOf(i: Info): StreamState {
  return {
    streamId: i.streamId,
    durableState: i.state,
    recoveryAllowed: recoveryAllowed(i.state),
    reason: i.reason,
    lastTransitionAtMs: i.lastTransitionAtMs,
    nodeId: i.nodeId,
    lostStreamId: i.lostStreamId,
    authoritativeSource: SOURCE,
    observedSource: 'store',
  };
}

function retainedOf(i: Info): RetainedInfo {
  const empty = i.retainedMessages === 0;
  return {
    streamId: i.streamId,
    oldestAvailableSerial: empty ? null : i.oldestSerial,
    newestAvailableSerial: empty ? null : i.nextSerial - 1,
    oldestAvailablePublishedAtMs: empty ? null : i.oldestT,
    newestAvailablePublishedAtMs: empty ? null : i.newestT,
    retainedMessages: i.retainedMessages,
    retainedBytes: i.retainedBytes,
  };
}

/** Whether rows matching `b` were removed (same rule as the memory store). */
function removedOverlaps(i: Info, b: HistoryBounds): boolean {
  const removedUpTo = (i.retainedMessages > 0 && i.oldestSerial !== null ? i.oldestSerial : i.nextSerial) - 1;
  if (removedUpTo < 1) return false;
  if ((b.startSerial ?? 1) > removedUpTo || (b.endSerial ?? 1) < 1) return false;
  const tFirst = i.firstPublishedAtMs;
  const tLast = i.removedNewestPublishedAtMs;
  if (tFirst === null || tLast === null) return true;
  if (b.startTimeMs !== undefined && b.startTimeMs > tLast) return false;
  if (b.endTimeMs !== undefined && b.endTimeMs < tFirst) return false;
  return true;
}

/** The stored form of a row: a header (JSON array, never a raw newline), a newline, the message
 * JSON. The script puts `<publish time>|` in front. */
function storedRow(row: HistoryAppend, json: string, bytes: number): string {
  const header = [
    row.messageId,
    row.eventName,
    row.operationKind ?? OPERATION_PUBLISH,
    row.messageSerial ?? null,
    bytes,
  ];
  return `${JSON.stringify(header)}\n${json}`;
}

/** `<publish time>|<header>\n<json>` at `serial` → a HistoryRow. */
function parseRow(streamId: string, serial: number, value: string): HistoryRow {
  const bar = value.indexOf('|');
  const nl = value.indexOf('\n', bar);
  const [messageId, eventName, operationKind, messageSerial, bytes] = JSON.parse(value.slice(bar + 1, nl)) as [
    string,
    string,
    string,
    string | null,
    number,
  ];
  const row: { -readonly [K in keyof HistoryRow]: HistoryRow[K] } = {
    streamId,
    historySerial: serial,
    publishedAtMs: Number(value.slice(0, bar)),
    messageId,
    eventName,
    operationKind,
    payloadSizeBytes: bytes,
    message: JSON.parse(value.slice(nl + 1)) as HistoryRow['message'],
  };
  if (messageSerial !== null) row.messageSerial = messageSerial;
  return row;
}

function checkAppend(row: HistoryAppend): void {
  if (typeof row !== 'object' || row === null) throw new TypeError('history row must be an object');
  if (typeof row.messageId !== 'string' || row.messageId.length === 0 || row.messageId.length > 256) {
    throw new TypeError('history row messageId must be a non-empty string of at most 256 chars');
  }
  if (typeof row.eventName !== 'string' || row.eventName.length > 1024) {
    throw new TypeError('history row eventName must be a string of at most 1024 chars');
  }
  if (row.operationKind !== undefined && (typeof row.operationKind !== 'string' || row.operationKind.length > 64)) {
    throw new TypeError('history row operationKind must be a string of at most 64 chars');
  }
  if (row.messageSerial !== undefined && (typeof row.messageSerial !== 'string' || row.messageSerial.length === 0)) {
    throw new TypeError('history row messageSerial must be a non-empty string');
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

type ChannelScript = 'append' | 'read' | 'state' | 'reset' | 'purge' | 'markDegraded' | 'clearDegraded';

interface ListCursor {
  readonly a: string;
  readonly b: number;
  readonly n: string;
}

function encodeListCursor(c: ListCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeListCursor(token: string): ListCursor {
  try {
    if (token.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('shape');
    const c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<ListCursor>;
    if (typeof c.a !== 'string' || !Number.isSafeInteger(c.b) || typeof c.n !== 'string') throw new Error('fields');
    return c as ListCursor;
  } catch {
    throw new HistoryError('invalid_cursor', 'invalid cursor');
  }
}

export class RedisHistoryStore implements HistoryStore {
  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #now: () => number;
  readonly #newStreamId: () => string;
  readonly #nodeId: string;
  readonly #idleMs: number;
  readonly #graceMs: number;
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #maxRowBytes: number;
  readonly #maxEvictions: number;
  readonly #known: KnownEpochs;
  /** App id → when this node last registered it in the apps registry (injected clock). */
  readonly #registered = new Map<string, number>();
  readonly #s: Record<ChannelScript | 'listBad' | 'bucketStats', BoundScript>;

  constructor(opts: RedisHistoryStoreOptions) {
    this.#conn = opts.connection;
    this.#keys = opts.keys ?? new RedisKeys({ prefix: opts.connection.keyPrefix });
    this.#now = opts.now ?? Date.now;
    this.#newStreamId = opts.newStreamId ?? randomUUID;
    this.#nodeId = opts.nodeId ?? '';
    this.#idleMs = positiveInt('idleTtlMs', opts.idleTtlMs, 7 * 86_400_000);
    this.#graceMs = opts.idleGraceMs ?? 60_000;
    if (!Number.isSafeInteger(this.#graceMs) || this.#graceMs < 0) {
      throw new TypeError('idleGraceMs must be a non-negative integer');
    }
    this.#maxMessages = positiveInt('maxMessagesPerChannel', opts.maxMessagesPerChannel, 100_000);
    this.#maxBytes = positiveInt('maxBytesPerChannel', opts.maxBytesPerChannel, 64 * 1024 * 1024);
    this.#maxRowBytes = positiveInt('maxRowBytes', opts.maxRowBytes, 4 * 1024 * 1024);
    this.#maxEvictions = positiveInt('maxEvictionsPerCall', opts.maxEvictionsPerCall, 4096);
    this.#known = new KnownEpochs(positiveInt('maxKnownEpochs', opts.maxKnownEpochs, 200_000));
    const c = this.#conn;
    this.#s = {
      append: c.script('ait_hist_append', lua.APPEND, 6),
      read: c.script('ait_hist_read', lua.READ, 6),
      state: c.script('ait_hist_state', lua.STATE, 6),
      reset: c.script('ait_hist_reset', lua.RESET, 6),
      purge: c.script('ait_hist_purge', lua.PURGE, 6),
      markDegraded: c.script('ait_hist_mark_degraded', lua.MARK_DEGRADED, 6),
      clearDegraded: c.script('ait_hist_clear_degraded', lua.CLEAR_DEGRADED, 6),
      listBad: c.script('ait_hist_list_bad', lua.LIST_BAD, 2),
      bucketStats: c.script('ait_hist_bucket_stats', lua.BUCKET_STATS, 4),
    };
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
    const r = await this.#run('append', appId, channel, [
      row.publishedAtMs === undefined ? '' : row.publishedAtMs,
      storedRow(row, json, bytes),
      bytes,
      retention.maxMessages ?? 0,
      retention.maxBytes ?? 0,
      retention.maxAgeSeconds ?? 0,
      this.#maxMessages,
      this.#maxBytes,
      this.#maxEvictions,
    ]);
    if (r[0] === 'ERR') throw new HistoryError('serial_exhausted', 'history serial space exhausted');
    const streamId = str(r[2]);
    await this.#after(appId, channel, streamId, num(r[8]), num(r[9]) === 1);
    return {
      historySerial: num(r[1]),
      streamId,
      publishedAtMs: num(r[3]),
      payloadSizeBytes: num(r[4]),
      evictedMessages: num(r[5]),
      evictedBytes: num(r[6]),
      durableState: str(r[7]) as DurableState,
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
    const opt = (v: number | undefined): string | number => (v === undefined ? '' : v);
    const r = await this.#run('read', query.appId, query.channel, [
      direction === 'oldest_first' ? 'o' : 'n',
      limit,
      opt(bounds.startSerial),
      opt(bounds.endSerial),
      opt(bounds.startTimeMs),
      opt(bounds.endTimeMs),
      cursor ? cursor.serial : '',
      cursor ? cursor.streamId : '',
      this.#maxMessages,
      this.#maxBytes,
      this.#maxEvictions,
    ]);
    const info = parseInfo(r[r[0] === 'ERR' ? 2 : 1] as unknown[]);
    await this.#after(query.appId, query.channel, info.streamId, info.windowMs, info.created);
    if (r[0] === 'ERR')
      throw new HistoryError('cursor_stream_reset', 'the stream was reset since this cursor was issued');
    const hasMore = num(r[3]) === 1;
    // The script returns the rows of a contiguous serial range, in page order.
    const first =
      direction === 'oldest_first' ? num(r[4]) - (r[2] as unknown[]).length : num(r[4]) + (r[2] as unknown[]).length;
    const step = direction === 'oldest_first' ? 1 : -1;
    const items: HistoryRow[] = [];
    (r[2] as (string | null)[]).forEach((v, i) => {
      if (v !== null) items.push(parseRow(info.streamId, first + i * step, v));
    });
    const nextCursor = hasMore
      ? encodeCursor({
          appId: query.appId,
          channel: query.channel,
          streamId: info.streamId,
          serial: num(r[4]),
          direction,
          bounds,
        })
      : null;
    const truncated = num(r[5]) === 1 || removedOverlaps(info, bounds);
    return {
      items,
      direction,
      limit,
      hasMore,
      nextCursor,
      bounds,
      continuity: { ...retainedOf(info), complete: !truncated, truncatedByRetention: truncated },
      streamState: stateOf(info),
    };
  }

  async state(appId: string, channel: string): Promise<HistoryStreamInfo> {
    assertScope(appId, channel);
    const r = await this.#run('state', appId, channel, [this.#maxMessages, this.#maxBytes, this.#maxEvictions]);
    return this.#streamInfo(appId, channel, await this.#infoAfter(appId, channel, r[1]));
  }

  async reset(appId: string, channel: string, req: ResetRequest): Promise<ResetResult> {
    assertScope(appId, channel);
    checkReason(req?.reason);
    const r = await this.#run('reset', appId, channel, [this.#newStreamId()]);
    const info = await this.#infoAfter(appId, channel, r[4]);
    return {
      previousStreamId: str(r[1]),
      newStreamId: info.streamId,
      purgedMessages: num(r[2]),
      purgedBytes: num(r[3]),
      stream: this.#streamInfo(appId, channel, info),
    };
  }

  async purge(appId: string, channel: string, req: PurgeRequest): Promise<PurgeResult> {
    assertScope(appId, channel);
    checkReason(req?.reason);
    let args: [string, string | number];
    switch (req.mode) {
      case 'all':
        args = ['all', ''];
        break;
      case 'before_serial':
        if (!isSerial(req.beforeSerial)) throw new HistoryError('invalid_request', 'before_serial must be a serial');
        args = ['serial', req.beforeSerial];
        break;
      case 'before_time_ms':
        if (!Number.isSafeInteger(req.beforeTimeMs)) {
          throw new HistoryError('invalid_request', 'before_time_ms must be an integer');
        }
        args = ['time', req.beforeTimeMs];
        break;
      default:
        throw new HistoryError('invalid_request', 'mode must be all, before_serial or before_time_ms');
    }
    const r = await this.#run('purge', appId, channel, args);
    const info = await this.#infoAfter(appId, channel, r[3]);
    return { purgedMessages: num(r[1]), purgedBytes: num(r[2]), stream: this.#streamInfo(appId, channel, info) };
  }

  async markDegraded(appId: string, channel: string, reason: string): Promise<StreamState> {
    assertScope(appId, channel);
    checkReason(reason);
    const r = await this.#run('markDegraded', appId, channel, [reason]);
    return stateOf(await this.#infoAfter(appId, channel, r[1]));
  }

  async clearDegraded(appId: string, channel: string): Promise<StreamState> {
    assertScope(appId, channel);
    const r = await this.#run('clearDegraded', appId, channel, []);
    return stateOf(await this.#infoAfter(appId, channel, r[1]));
  }

  async listNonHealthy(query: NonHealthyQuery = {}): Promise<NonHealthyPage> {
    if (query.appId !== undefined) assertScope(query.appId);
    const limit = normalizeLimit(query.limit, NON_HEALTHY_MAX_LIMIT);
    const cursor = query.cursor ? decodeListCursor(query.cursor) : undefined;
    if (cursor && query.appId !== undefined && cursor.a !== query.appId) {
      throw new HistoryError('invalid_cursor', 'cursor of another app');
    }
    const apps =
      query.appId !== undefined
        ? [query.appId]
        : (await this.#unavailableAsHistory(() => this.#conn.exec('h:apps', (c) => c.smembers(this.#keys.historyApps))))
            .filter((a) => cursor === undefined || a >= cursor.a)
            .sort();
    const now = this.#now();
    const B = this.#keys.historyBuckets;
    // Walk (app, bucket, channel) in order, collecting limit + 1 items to know if more exist.
    const found: { item: NonHealthyChannel; pos: ListCursor }[] = [];
    for (const appId of apps) {
      const need = limit + 1 - found.length;
      if (need <= 0) break;
      const startBucket = cursor && cursor.a === appId ? cursor.b : 0;
      const pages = await Promise.all(
        Array.from({ length: B - startBucket }, (_, i) => startBucket + i).map((b) =>
          this.#bucketBad(appId, b, cursor && cursor.a === appId && cursor.b === b ? cursor.n : '', need, now),
        ),
      );
      for (const page of pages) for (const f of page) if (found.length <= limit) found.push(f);
    }
    const more = found.length > limit;
    const items = found.slice(0, limit);
    const last = items[items.length - 1];
    return { items: items.map((f) => f.item), nextCursor: more && last ? encodeListCursor(last.pos) : null };
  }

  async stats(): Promise<HistoryStats> {
    const apps = await this.#unavailableAsHistory(() =>
      this.#conn.exec('h:apps', (c) => c.smembers(this.#keys.historyApps)),
    );
    const out: Record<string, HistoryAppStats> = {};
    const B = this.#keys.historyBuckets;
    const jobs: { appId: string; bucket: number }[] = [];
    for (const appId of apps) {
      out[appId] = {
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
      for (let b = 0; b < B; b++) jobs.push({ appId, bucket: b });
    }
    const now = this.#now();
    // Bounded concurrency: a scrape over many apps must not flood the pending-command cap.
    for (let i = 0; i < jobs.length; i += 256) {
      const chunk = jobs.slice(i, i + 256);
      const replies = await Promise.all(
        chunk.map((j) => {
          const k = this.#keys.historyBucket(j.appId, j.bucket);
          const args = ['', now, '', '', this.#nodeId, this.#idleMs, this.#graceMs, STATS_SWEEP_BUDGET];
          return this.#unavailableAsHistory(() => this.#s.bucketStats([k.meta, k.idle, k.bad, k.stats], args));
        }),
      );
      replies.forEach((reply, k) => {
        const s = out[(chunk[k] as { appId: string }).appId] as HistoryAppStats;
        const flat = reply as string[];
        for (let f = 0; f + 1 < flat.length; f += 2) {
          const name = STAT_FIELDS[flat[f] as string];
          if (name) s[name] += Number(flat[f + 1]);
        }
      });
    }
    return { apps: out };
  }

  // -------------------------------------------------------------------------------------------
  // internals

  #channelKeys(appId: string, channel: string): HistoryChannelKeys {
    return this.#keys.history(appId, channel);
  }

  async #run(
    name: ChannelScript,
    appId: string,
    channel: string,
    extra: readonly (string | number)[],
  ): Promise<unknown[]> {
    const k = this.#channelKeys(appId, channel);
    const now = this.#now();
    const known = this.#known.get(scopedKey(appId, channel), now) ?? '';
    const args = [channel, now, known, this.#newStreamId(), this.#nodeId, this.#idleMs, this.#graceMs, ...extra];
    const script = this.#s[name];
    const r = await this.#unavailableAsHistory(() => script([k.meta, k.idle, k.bad, k.stats, k.rows, k.idx], args));
    return r as unknown[];
  }

  /** Remembers the epoch and registers the app (awaited when the call created a record). */
  async #after(appId: string, channel: string, streamId: string, windowMs: number, created: boolean): Promise<void> {
    const now = this.#now();
    this.#known.set(scopedKey(appId, channel), streamId, now, windowMs);
    const last = this.#registered.get(appId);
    if (!created && last !== undefined && now - last < APP_REGISTRATION_REFRESH_MS) return;
    this.#registered.set(appId, now);
    if (this.#registered.size > 100_000) this.#registered.clear();
    const register = this.#conn
      .exec('h:apps', (c) => c.sadd(this.#keys.historyApps, appId))
      .catch(() => {
        // Best effort: the next call of this node retries.
        this.#registered.delete(appId);
      });
    if (created) await register;
  }

  async #infoAfter(appId: string, channel: string, raw: unknown): Promise<Info> {
    const info = parseInfo(raw as unknown[]);
    await this.#after(appId, channel, info.streamId, info.windowMs, info.created);
    return info;
  }

  #streamInfo(appId: string, channel: string, i: Info): HistoryStreamInfo {
    return {
      appId,
      channel,
      streamId: i.streamId,
      nextSerial: i.nextSerial,
      retained: retainedOf(i),
      state: stateOf(i),
      retention: i.retention,
    };
  }

  async #bucketBad(
    appId: string,
    bucket: number,
    after: string,
    need: number,
    now: number,
  ): Promise<{ item: NonHealthyChannel; pos: ListCursor }[]> {
    const k = this.#keys.historyBucket(appId, bucket);
    const out: { item: NonHealthyChannel; pos: ListCursor }[] = [];
    let from = after;
    // Skipped (idle) entries can make a page short: continue until `need` or the end, bounded.
    for (let rounds = 0; rounds < 64 && out.length < need; rounds++) {
      const r = (await this.#unavailableAsHistory(() => this.#s.listBad([k.meta, k.bad], [from, need, now]))) as [
        string,
        number,
        unknown[][],
      ];
      for (const e of r[2]) {
        const [channel, streamId, st, reason, tt, node, lost] = e.map(str);
        const durableState = st as DurableState;
        out.push({
          item: {
            appId,
            channel: channel as string,
            state: {
              streamId: streamId as string,
              durableState,
              recoveryAllowed: recoveryAllowed(durableState),
              reason: optStr(reason),
              lastTransitionAtMs: Number(tt),
              nodeId: optStr(node),
              lostStreamId: optStr(lost),
              authoritativeSource: SOURCE,
              observedSource: 'store',
            },
          },
          pos: { a: appId, b: bucket, n: channel as string },
        });
      }
      if (num(r[1]) < need) break;
      from = r[0];
    }
    return out.slice(0, need);
  }

  async #unavailableAsHistory<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isStoreUnavailable(err)) throw new HistoryError('store_unavailable', err.message, { cause: err });
      throw err;
    }
  }

  /** Test hook: forgets what this node remembers (a node restart), keeping Redis as it is. */
  forgetKnownEpochs(): void {
    this.#known.clear();
  }
}
