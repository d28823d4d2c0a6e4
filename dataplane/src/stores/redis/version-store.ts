// The Redis VersionStore (history/version-store.ts): the same contract as the memory store,
// each method one Lua script (version-lua.ts) over the keys of one channel, which share a hash
// tag. The mutation rules stay pure in Node (messages/mutations.ts); the scripts do the
// compare-and-swap, assign the delivery serial, store the version, the op_id receipt and the
// latest aggregate, and enforce the open-streaming cap and the bounds, in one step.
import { randomUUID } from 'node:crypto';
import { type DurableState, HistoryError, normalizeLimit } from '../../history/types.ts';
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
} from '../../history/version-store.ts';
import {
  type Aggregate,
  dataBytes,
  type MutationAction,
  type OpReceipt,
  type VersionRecord,
} from '../../messages/model.ts';
import { isCounter, utf8Bytes } from '../../messages/serials.ts';
import { isStoreUnavailable } from '../errors.ts';
import { assertScope, scopedKey } from '../keys.ts';
import type { BoundScript, RedisConnection } from './client.ts';
import { KnownEpochs } from './epochs.ts';
import { RedisKeys } from './keys.ts';
import * as lua from './version-lua.ts';

export interface RedisVersionStoreOptions {
  readonly connection: RedisConnection;
  readonly keys?: RedisKeys;
  readonly now?: () => number;
  readonly newStreamId?: () => string;
  /** A channel untouched this long is dropped (default 7 days). */
  readonly idleTtlMs?: number;
  /** Clock-skew slack before an idle channel is dropped (default 60 s). */
  readonly idleGraceMs?: number;
  /** Messages kept per channel, oldest created dropped first (default 10 000). */
  readonly maxMessagesPerChannel?: number;
  /** Versions kept per message (default 8192). */
  readonly maxVersionsPerMessage?: number;
  /** Delivery-log entries kept per channel for cold replay (default 10 000). */
  readonly maxDeliveryLog?: number;
  /** Approximate bytes kept per channel (default 64 MiB). */
  readonly maxBytesPerChannel?: number;
  /** Epochs this node remembers for loss detection (default 200 000). */
  readonly maxKnownEpochs?: number;
}

/** Fixed per-version overhead counted by the byte bound (as the memory store counts it). */
const VERSION_OVERHEAD = 256;

type ScriptName =
  | 'snapshot'
  | 'commitCreate'
  | 'commitMutation'
  | 'latest'
  | 'versions'
  | 'replayAfter'
  | 'streamState'
  | 'reset';

function positiveInt(label: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`${label} must be a positive integer`);
  return v;
}

function checkKeyPart(label: string, v: unknown, max = 1024): string {
  // NUL separates parts of the sorted-set members: it may not appear inside one.
  if (typeof v !== 'string' || v.length === 0 || v.length > max || v.includes('\u0000')) {
    throw new TypeError(`${label} must be a non-empty string of at most ${max} chars without NUL`);
  }
  return v;
}

function checkNext(next: Aggregate, label: string): VersionRecord {
  if (typeof next !== 'object' || next === null || typeof next.latest !== 'object' || next.latest === null) {
    throw new TypeError(`${label}: next must be an Aggregate`);
  }
  const r = next.latest;
  checkKeyPart(`${label}: message_serial`, r.message_serial);
  checkKeyPart(`${label}: version_serial`, r.version_serial);
  if (r.op_id !== undefined) {
    checkKeyPart(`${label}: op_id`, r.op_id, 256);
    if (typeof r.op_fingerprint !== 'string')
      throw new TypeError(`${label}: a version with op_id needs op_fingerprint`);
  }
  return r;
}

function checkMax(v: number | undefined): string | number {
  if (v === undefined) return '';
  if (!Number.isSafeInteger(v) || v < 0) throw new TypeError('maxOpenStreaming must be a non-negative integer');
  return v;
}

/** JSON of an object without one key, so the script can put its own value first. */
function bodyWithout<T extends object>(obj: T, key: keyof T): string {
  const { [key]: _drop, ...rest } = obj;
  return JSON.stringify(rest);
}

/** What the record costs and how it is stored (the memory store's `slim`). */
function slimOf(rec: VersionRecord): { slim: string; bytes: number } {
  if (rec.action === 'append') {
    const { data: _aggregate, delivery_serial: _d, ...rest } = rec;
    return { slim: JSON.stringify(rest), bytes: utf8Bytes(rec.fragment ?? '') + VERSION_OVERHEAD };
  }
  return { slim: '', bytes: dataBytes(rec.data) + VERSION_OVERHEAD };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));
const num = (v: unknown): number => Number(v);
const optStr = (v: unknown): string | null => (v === '' || v === null || v === undefined ? null : str(v));
const optNum = (v: unknown): number | null => (v === '' || v === null || v === undefined ? null : Number(v));

function parseInfo(a: readonly unknown[]): VersionStreamInfo {
  return {
    streamId: str(a[0]),
    durableState: str(a[1]) as DurableState,
    reason: optStr(a[2]),
    lostStreamId: optStr(a[3]),
    lastTransitionAtMs: num(a[4]),
    nextDeliverySerial: num(a[5]),
    oldestDeliverySerial: optNum(a[6]),
    newestDeliverySerial: optNum(a[7]),
    openStreaming: num(a[8]),
    messageCount: num(a[9]),
  };
}

export class RedisVersionStore implements VersionStore {
  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #now: () => number;
  readonly #newStreamId: () => string;
  readonly #idleMs: number;
  readonly #graceMs: number;
  readonly #bounds: readonly [number, number, number, number];
  readonly #known: KnownEpochs;
  readonly #s: Record<ScriptName, BoundScript>;

  constructor(opts: RedisVersionStoreOptions) {
    this.#conn = opts.connection;
    this.#keys = opts.keys ?? new RedisKeys({ prefix: opts.connection.keyPrefix });
    this.#now = opts.now ?? Date.now;
    this.#newStreamId = opts.newStreamId ?? randomUUID;
    this.#idleMs = positiveInt('idleTtlMs', opts.idleTtlMs, 7 * 86_400_000);
    this.#graceMs = opts.idleGraceMs ?? 60_000;
    if (!Number.isSafeInteger(this.#graceMs) || this.#graceMs < 0) {
      throw new TypeError('idleGraceMs must be a non-negative integer');
    }
    this.#bounds = [
      positiveInt('maxMessagesPerChannel', opts.maxMessagesPerChannel, 10_000),
      positiveInt('maxVersionsPerMessage', opts.maxVersionsPerMessage, 8192),
      positiveInt('maxDeliveryLog', opts.maxDeliveryLog, 10_000),
      positiveInt('maxBytesPerChannel', opts.maxBytesPerChannel, 64 * 1024 * 1024),
    ];
    this.#known = new KnownEpochs(positiveInt('maxKnownEpochs', opts.maxKnownEpochs, 200_000));
    const c = this.#conn;
    this.#s = {
      snapshot: c.script('ait_ver_snapshot', lua.SNAPSHOT, 7),
      commitCreate: c.script('ait_ver_commit_create', lua.COMMIT_CREATE, 7),
      commitMutation: c.script('ait_ver_commit_mutation', lua.COMMIT_MUTATION, 7),
      latest: c.script('ait_ver_latest', lua.LATEST, 7),
      versions: c.script('ait_ver_versions', lua.VERSIONS, 7),
      replayAfter: c.script('ait_ver_replay_after', lua.REPLAY_AFTER, 7),
      streamState: c.script('ait_ver_stream_state', lua.STREAM_STATE, 7),
      reset: c.script('ait_ver_reset', lua.RESET, 7),
    };
  }

  async snapshot(
    appId: string,
    channel: string,
    messageSerial: string,
    op?: { readonly action: MutationAction; readonly opId: string },
  ): Promise<VersionSnapshot> {
    assertScope(appId, channel);
    checkKeyPart('messageSerial', messageSerial);
    if (op !== undefined) checkKeyPart('opId', op.opId, 256);
    const r = await this.#run('snapshot', appId, channel, [messageSerial, op?.action ?? '', op?.opId ?? '']);
    return {
      streamId: str(r[1]),
      durableState: str(r[2]) as DurableState,
      latest: r[5] === '' ? undefined : (JSON.parse(str(r[5])) as Aggregate),
      priorOp: r[6] === '' ? undefined : (JSON.parse(str(r[6])) as OpReceipt),
      nextDeliverySerial: num(r[3]),
      openStreaming: num(r[4]),
    };
  }

  async commitCreate(appId: string, channel: string, input: CommitCreateInput): Promise<CommitOutcome> {
    assertScope(appId, channel);
    const rec = checkNext(input.next, 'commitCreate');
    if (rec.action !== 'create' || rec.message_serial !== rec.version_serial) {
      throw new TypeError('commitCreate: latest must be a create whose message_serial equals its version_serial');
    }
    const { slim, bytes } = slimOf(rec);
    const r = await this.#run('commitCreate', appId, channel, [
      rec.message_serial,
      input.streaming ? 1 : 0,
      checkMax(input.maxOpenStreaming),
      bodyWithout(rec, 'delivery_serial'),
      slim,
      bytes,
      bodyWithout(input.next, 'latest'),
      input.next.data_bytes,
    ]);
    return this.#outcome(r, input.next, rec);
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
    if (typeof input.expectedLatestVersionSerial !== 'string') {
      throw new TypeError('commitMutation: expectedLatestVersionSerial must be a string');
    }
    const action = rec.action as MutationAction;
    const { slim, bytes } = slimOf(rec);
    const receipt =
      rec.op_id === undefined
        ? ''
        : JSON.stringify({
            fingerprint: rec.op_fingerprint,
            action,
            message_serial: messageSerial,
            version_serial: rec.version_serial,
            history_serial: rec.history_serial,
          });
    const r = await this.#run('commitMutation', appId, channel, [
      messageSerial,
      action,
      rec.op_id ?? '',
      input.expectedLatestVersionSerial,
      // JS string order, as the memory store compares: the script applies it only after the CAS.
      rec.version_serial > input.expectedLatestVersionSerial ? 0 : 1,
      input.streaming ? 1 : 0,
      checkMax(input.maxOpenStreaming),
      bodyWithout(rec, 'delivery_serial'),
      slim,
      bytes,
      bodyWithout(input.next, 'latest'),
      input.next.data_bytes,
      receipt,
      rec.version_serial,
    ]);
    return this.#outcome(r, input.next, rec);
  }

  async latest(appId: string, channel: string, messageSerial: string): Promise<Aggregate | undefined> {
    assertScope(appId, channel);
    checkKeyPart('messageSerial', messageSerial);
    const r = await this.#run('latest', appId, channel, [messageSerial]);
    return r[2] === '' ? undefined : (JSON.parse(str(r[2])) as Aggregate);
  }

  async versions(
    appId: string,
    channel: string,
    messageSerial: string,
    query: VersionPageQuery = {},
  ): Promise<VersionPage> {
    assertScope(appId, channel);
    checkKeyPart('messageSerial', messageSerial);
    const direction = query.direction ?? 'newest_first';
    if (direction !== 'newest_first' && direction !== 'oldest_first') {
      throw new HistoryError('invalid_query', 'direction must be newest_first or oldest_first');
    }
    const limit = normalizeLimit(query.limit);
    const cursor = query.cursor ?? undefined;
    if (
      cursor !== undefined &&
      (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 128 || cursor.includes('\u0000'))
    ) {
      throw new HistoryError('invalid_cursor', 'invalid cursor');
    }
    const r = await this.#run('versions', appId, channel, [
      messageSerial,
      direction === 'oldest_first' ? 'o' : 'n',
      limit,
      cursor ?? '',
    ]);
    const items = (r[2] as string[]).map((j) => JSON.parse(j) as VersionRecord);
    const hasMore = num(r[3]) === 1;
    const last = items[items.length - 1];
    return { items, hasMore, nextCursor: hasMore && last ? last.version_serial : null };
  }

  async replayAfter(appId: string, channel: string, afterDeliverySerial: number, limit: number): Promise<ReplayPage> {
    assertScope(appId, channel);
    if (!isCounter(afterDeliverySerial)) throw new HistoryError('invalid_query', 'serial must be a u64 counter');
    const max = normalizeLimit(limit);
    const r = await this.#run('replayAfter', appId, channel, [afterDeliverySerial, max]);
    return {
      stream: parseInfo(r[1] as unknown[]),
      items: (r[2] as string[]).map((j) => JSON.parse(j) as VersionRecord),
      latest: (r[3] as string[]).map((j) => JSON.parse(j) as Aggregate),
      hasMore: num(r[4]) === 1,
    };
  }

  async streamState(appId: string, channel: string): Promise<VersionStreamInfo> {
    assertScope(appId, channel);
    const r = await this.#run('streamState', appId, channel, []);
    return parseInfo(r[1] as unknown[]);
  }

  async openStreamingCount(appId: string, channel: string): Promise<number> {
    return (await this.streamState(appId, channel)).openStreaming;
  }

  async reset(appId: string, channel: string, reason: string): Promise<VersionResetResult> {
    assertScope(appId, channel);
    if (typeof reason !== 'string' || reason.trim().length === 0) {
      throw new HistoryError('invalid_request', 'reason must be a non-empty string');
    }
    const r = await this.#run('reset', appId, channel, [this.#newStreamId()]);
    const info = parseInfo(r[3] as unknown[]);
    return { previousStreamId: str(r[1]), newStreamId: info.streamId, purgedMessages: num(r[2]) };
  }

  /** Test hook: forgets what this node remembers (a node restart), keeping Redis as it is. */
  forgetKnownEpochs(): void {
    this.#known.clear();
  }

  // -------------------------------------------------------------------------------------------

  #outcome(r: unknown[], next: Aggregate, rec: VersionRecord): CommitOutcome {
    switch (r[0]) {
      case 'committed': {
        const record: VersionRecord = { ...rec, delivery_serial: num(r[2]) };
        return {
          status: 'committed',
          streamId: str(r[1]),
          record,
          aggregate: { ...next, latest: record },
          openStreaming: num(r[3]),
        };
      }
      case 'exists':
        return { status: 'exists', latest: JSON.parse(str(r[1])) as Aggregate };
      case 'not_found':
        return { status: 'not_found' };
      case 'prior': {
        const receipt = JSON.parse(str(r[2])) as OpReceipt;
        return receipt.fingerprint === rec.op_fingerprint
          ? { status: 'duplicate', streamId: str(r[1]), receipt }
          : { status: 'op_conflict', receipt };
      }
      case 'conflict':
        return {
          status: 'conflict',
          snapshot: {
            streamId: str(r[1]),
            durableState: str(r[2]) as DurableState,
            latest: JSON.parse(str(r[5])) as Aggregate,
            // No receipt: the script found none for this op_id before comparing versions.
            priorOp: undefined,
            nextDeliverySerial: num(r[3]),
            openStreaming: num(r[4]),
          },
        };
      case 'stale':
        return { status: 'stale_version_serial', latest: JSON.parse(str(r[1])) as Aggregate };
      case 'limit':
        return { status: 'limit_exceeded', limit: 'open_streaming_messages', max: num(r[1]), current: num(r[2]) };
      case 'ERR':
        throw new HistoryError('serial_exhausted', 'delivery serial space exhausted');
      default:
        throw new Error(`redis version store: unexpected script reply ${str(r[0])}`);
    }
  }

  async #run(
    name: ScriptName,
    appId: string,
    channel: string,
    extra: readonly (string | number)[],
  ): Promise<unknown[]> {
    const k = this.#keys.version(appId, channel);
    const now = this.#now();
    const memo = scopedKey(appId, channel);
    const known = this.#known.get(memo, now) ?? '';
    const args = [now, known, this.#newStreamId(), this.#idleMs, this.#graceMs, ...this.#bounds, ...extra];
    let r: unknown[];
    try {
      r = (await this.#s[name]([k.meta, k.msgs, k.order, k.vidx, k.vrec, k.ops, k.log], args)) as unknown[];
    } catch (err) {
      if (isStoreUnavailable(err)) throw new HistoryError('store_unavailable', err.message, { cause: err });
      throw err;
    }
    // Every reply starts with the epoch: remember it, hand back the rest.
    this.#known.set(memo, str(r[0]), now, this.#idleMs);
    return r.slice(1);
  }
}
