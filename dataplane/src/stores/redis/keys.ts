// The Redis key layout of every store (docs/redis.md has the table). Pure: no I/O.
//
// Rules the builders enforce:
// - every key starts with the configured prefix (default `ait:`), which may not contain a
//   brace, so the first `{…}` of a key is always ours;
// - every key names its app (STANDARDS I1) — in the key itself, or for the cluster-wide
//   active-stream index in each member — with parts encoded so `a:b`+`c` and `a`+`b:c` never meet;
// - every key that one Lua script touches carries the same Redis Cluster hash tag, so a script
//   only ever touches one slot:
//     history      `{<app>:<bucket>}`  (channels of an app spread over N buckets; the per-app
//                                      indexes of non-healthy channels and the stats live in
//                                      the same bucket, so the scripts maintain them atomically)
//     versions     `{<app>:<channel>}`
//     publish claims `{<app>:<channel>}`
//     active streams `{as:<bucket>}`   (the janitor's listing spans apps: bucketed by app+channel)
//     claims       `{<app>:<name>}`, revocations `{<app>}`, idempotency `{<cache key>}`.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const DEFAULT_KEY_PREFIX = 'ait:';
/** Letters, digits and `_ . : -`, at most 64: never a brace (that would become the hash tag). */
export const KEY_PREFIX_RE = /^[A-Za-z0-9_.:-]{0,64}$/;
export const DEFAULT_HISTORY_BUCKETS = 16;
export const DEFAULT_ACTIVE_STREAM_BUCKETS = 16;
export const MAX_BUCKETS = 1024;

/** Escapes `%`, `{`, `}` and `:` so an encoded part has no brace and no separator. */
export function encodePart(s: string): string {
  return s.replace(/[%{}:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** A Redis Cluster hash tag over encoded parts: `{a:b}`. */
export function hashTag(...parts: readonly string[]): string {
  return `{${parts.map(encodePart).join(':')}}`;
}

/** A stable bucket in 0..buckets-1 for a tuple of parts (CRC-32, parts NUL-separated). */
export function bucketOf(buckets: number, ...parts: readonly string[]): number {
  return crc32(parts.join('\u0000')) % buckets;
}

/** The hash slot Redis Cluster gives a key (CRC16/XMODEM of the hash tag, mod 16384). */
export function clusterSlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  let start = bytes.indexOf(0x7b); // {
  let end = bytes.length;
  if (start >= 0) {
    const close = bytes.indexOf(0x7d, start + 1); // }
    if (close > start + 1) {
      end = close;
      start += 1;
    } else {
      start = 0;
    }
  } else {
    start = 0;
  }
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= (bytes[i] as number) << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function checkKeyPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !KEY_PREFIX_RE.test(prefix)) {
    throw new TypeError('redis keyPrefix must be at most 64 characters of A-Z a-z 0-9 _ . : - (no braces)');
  }
  return prefix;
}

function checkBuckets(label: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_BUCKETS) {
    throw new TypeError(`${label} must be an integer in 1..${MAX_BUCKETS}`);
  }
  return n;
}

/** Keys of one history bucket: the per-app structures shared by its channels. */
export interface HistoryBucketKeys {
  /** HASH channel → packed stream record (epoch, counters, state, retention). */
  readonly meta: string;
  /** ZSET channel → idle deadline (ms, injected clock): the sweep's queue. */
  readonly idle: string;
  /** ZSET (score 0, lex order) of degraded / reset_required channels. */
  readonly bad: string;
  /** HASH of the bucket's share of the app's stats. */
  readonly stats: string;
}

/** Keys of one channel's history: its bucket's keys plus its rows. */
export interface HistoryChannelKeys extends HistoryBucketKeys {
  readonly bucket: number;
  /** HASH history serial → stored row (publish time, header, message JSON). */
  readonly rows: string;
  /** ZSET score publish time, member `<serial, 16 digits>:<bytes>`: time → serial, eviction sizes. */
  readonly idx: string;
}

export interface VersionChannelKeys {
  /** STRING: packed channel record (epoch, delivery counter, state, bounds). */
  readonly meta: string;
  /** HASH message_serial → packed {latest aggregate JSON, streaming, bytes}. */
  readonly msgs: string;
  /** ZSET message_serial by its create's delivery serial (oldest dropped first). */
  readonly order: string;
  /** ZSET (score 0) `<message_serial>\0<version_serial>`: versions of a message in order. */
  readonly vidx: string;
  /** HASH `<message_serial>\0<version_serial>` → packed {record JSON, bytes, op prefix}. */
  readonly vrec: string;
  /** ZSET (score 0) `<message_serial>\0<action>\0<op_id>\0<receipt JSON>`: op_id receipts. */
  readonly ops: string;
  /** HASH delivery serial → log entry (cold replay), contiguous from the channel's floor. */
  readonly log: string;
}

export interface ActiveBucketKeys {
  /** HASH entry id → packed entry with its expiry. */
  readonly entries: string;
  /** ZSET entry id → lastSeenMs (the janitor's order). */
  readonly seen: string;
  /** ZSET entry id → expiresAtMs (the sweep's order). */
  readonly exp: string;
}

export interface ActiveChannelKeys extends ActiveBucketKeys {
  readonly bucket: number;
  /** Entry id prefix of the channel: `<app>:<channel>:` (encoded). */
  readonly idPrefix: string;
  /** ZSET message_serial → expiresAtMs: the channel's count. */
  readonly count: string;
}

export interface RedisKeysOptions {
  readonly prefix?: string;
  readonly historyBuckets?: number;
  readonly activeStreamBuckets?: number;
}

export class RedisKeys {
  readonly prefix: string;
  readonly historyBuckets: number;
  readonly activeStreamBuckets: number;

  constructor(opts: RedisKeysOptions = {}) {
    this.prefix = checkKeyPrefix(opts.prefix ?? DEFAULT_KEY_PREFIX);
    this.historyBuckets = checkBuckets('historyBuckets', opts.historyBuckets ?? DEFAULT_HISTORY_BUCKETS);
    this.activeStreamBuckets = checkBuckets(
      'activeStreamBuckets',
      opts.activeStreamBuckets ?? DEFAULT_ACTIVE_STREAM_BUCKETS,
    );
  }

  /** The layout marker (see `ensureLayout`). */
  get layout(): string {
    return `${this.prefix}layout`;
  }

  /** SET of app ids that have history: what `stats()` and the all-apps listing walk. */
  get historyApps(): string {
    return `${this.prefix}h:apps`;
  }

  historyBucketOf(appId: string, channel: string): number {
    return bucketOf(this.historyBuckets, appId, channel);
  }

  historyBucket(appId: string, bucket: number): HistoryBucketKeys {
    const base = `${this.prefix}h:${hashTag(appId, String(bucket))}`;
    return { meta: `${base}:meta`, idle: `${base}:idle`, bad: `${base}:bad`, stats: `${base}:stats` };
  }

  history(appId: string, channel: string): HistoryChannelKeys {
    const bucket = this.historyBucketOf(appId, channel);
    const b = this.historyBucket(appId, bucket);
    const base = `${this.prefix}h:${hashTag(appId, String(bucket))}`;
    // The channel goes last and raw: the tag is already closed, and the fixed part before it
    // is unique per (app, bucket).
    return { ...b, bucket, rows: `${base}:rows:${channel}`, idx: `${base}:idx:${channel}` };
  }

  version(appId: string, channel: string): VersionChannelKeys {
    const base = `${this.prefix}v:${hashTag(appId, channel)}`;
    return {
      meta: `${base}:meta`,
      msgs: `${base}:msgs`,
      order: `${base}:order`,
      vidx: `${base}:vidx`,
      vrec: `${base}:vrec`,
      ops: `${base}:ops`,
      log: `${base}:log`,
    };
  }

  /** One publish idempotency claim (layer 2); the key is hashed, as PROTOCOL.md 3.4 does. */
  publishClaim(appId: string, channel: string, key: string): string {
    return `${this.prefix}pc:${hashTag(appId, channel)}:${sha256Hex(key)}`;
  }

  claim(appId: string, name: string): string {
    return `${this.prefix}cl:${hashTag(appId, name)}`;
  }

  activeBucket(bucket: number): ActiveBucketKeys {
    const base = `${this.prefix}as:${hashTag('as', String(bucket))}`;
    return { entries: `${base}:e`, seen: `${base}:seen`, exp: `${base}:exp` };
  }

  activeChannel(appId: string, channel: string): ActiveChannelKeys {
    const bucket = bucketOf(this.activeStreamBuckets, appId, channel);
    const b = this.activeBucket(bucket);
    const idPrefix = `${encodePart(appId)}:${encodePart(channel)}:`;
    const base = `${this.prefix}as:${hashTag('as', String(bucket))}`;
    return { ...b, bucket, idPrefix, count: `${base}:c:${idPrefix}` };
  }

  /** ZSET of one app's revocations: member `j:<jti>` / `c:<client id>`, score expiry ms. */
  revocations(appId: string): string {
    return `${this.prefix}rv:${hashTag(appId)}`;
  }

  /** One HTTP idempotency cache entry; `cacheKey` already names the app (`app:{app}:…`). */
  idempotency(cacheKey: string): string {
    return `${this.prefix}idem:${hashTag(cacheKey)}`;
  }
}
