// Durable history: the types shared by the HistoryStore interface, its implementations, the
// cursor codec, the recovery ladder and the REST/WS layers (PROTOCOL.md 6). Pure: no I/O.
//
// Serials are u64 counters held as JS numbers guarded to 0..2^53-1, the project's counter
// decision (see `messages/serials.ts`): a value past that range is refused, never rounded.
import { isCounter } from '../messages/serials.ts';

/** A history or delivery serial: a u64 counter held as a safe integer (>= 1 for a real row). */
export type Serial = number;

// ---------------------------------------------------------------------------------------------
// Stream state (PROTOCOL.md 6.6, decision 11)

export const DURABLE_STATES = ['healthy', 'degraded', 'reset_required'] as const;
export type DurableState = (typeof DURABLE_STATES)[number];

/** Reasons the store itself sets; callers pass their own reasons to `markDegraded`. */
export const STATE_REASONS = {
  /** The store lost a channel's acknowledged data: its epoch vanished or changed underneath a node. */
  streamLost: 'durable_stream_lost',
  /** A durable write failed (set by the history writer through `markDegraded`). */
  writeFailed: 'durable_history_write_failed',
  /** The history writer queue is full (set by the history writer through `markDegraded`). */
  writerQueueFull: 'history_writer_queue_full',
  /** The store is unreachable: a node-local hint, not stored (Redis implementation). */
  storeUnavailable: 'durable_store_unavailable',
  /** History is not configured for the channel (a no-op store reports this). */
  historyDisabled: 'durable_history_disabled',
} as const;

/** The durable state of one channel's stream (the `stream_state` block of PROTOCOL.md 6.2). */
export interface StreamState {
  /** The stream epoch: a UUID that changes on reset and when data loss is detected (decision 11). */
  readonly streamId: string;
  readonly durableState: DurableState;
  /** Cold recovery and history-based continuity are allowed only when healthy. */
  readonly recoveryAllowed: boolean;
  readonly reason: string | null;
  readonly lastTransitionAtMs: number;
  /** Node that made the last transition, when known. */
  readonly nodeId: string | null;
  /** After data loss: the epoch whose acknowledged rows were lost. */
  readonly lostStreamId: string | null;
  /** The backend holding the authoritative state (`memory`, `redis`). */
  readonly authoritativeSource: string;
  /** Where this answer came from: the store itself, or a node-local hint while it is unreachable. */
  readonly observedSource: 'store' | 'node_hint';
}

// ---------------------------------------------------------------------------------------------
// Rows

/** A stored V2 message (PusherMessage as published, or the create of a versioned message).
 * Must be JSON-serializable: the store keeps its JSON text, as Redis would. */
export type StoredMessage = Readonly<Record<string, unknown>>;

/** Default `operationKind` of a plain publish. */
export const OPERATION_PUBLISH = 'publish';

/** What the caller gives `append`: a row without its serial (the store assigns it). */
export interface HistoryAppend {
  readonly messageId: string;
  readonly eventName: string;
  /** `publish` (default) or `message.create` for the create of a versioned message. */
  readonly operationKind?: string;
  /** Defaults to the store clock. Clamped so that publish times never decrease within a stream. */
  readonly publishedAtMs?: number;
  /** Versioned creates: the message_serial, so readers can substitute the latest version. */
  readonly messageSerial?: string;
  readonly message: StoredMessage;
}

export interface HistoryRow {
  readonly streamId: string;
  readonly historySerial: Serial;
  readonly publishedAtMs: number;
  readonly messageId: string;
  readonly eventName: string;
  readonly operationKind: string;
  /** UTF-8 bytes of the stored message JSON: the unit of `maxBytes` retention. */
  readonly payloadSizeBytes: number;
  readonly messageSerial?: string;
  readonly message: StoredMessage;
}

export interface AppendResult {
  readonly historySerial: Serial;
  readonly streamId: string;
  readonly publishedAtMs: number;
  readonly payloadSizeBytes: number;
  /** Rows and bytes this append evicted by retention. */
  readonly evictedMessages: number;
  readonly evictedBytes: number;
  readonly durableState: DurableState;
}

// ---------------------------------------------------------------------------------------------
// Retention (PROTOCOL.md 6.1)

/** Per-channel retention. Unset limits fall back to the store's hard ceilings. */
export interface RetentionPolicy {
  readonly maxMessages?: number;
  readonly maxBytes?: number;
  /** Rows published more than this long ago are evicted (`retention_window_seconds`). */
  readonly maxAgeSeconds?: number;
}

// ---------------------------------------------------------------------------------------------
// Queries and pages (PROTOCOL.md 6.2, 6.3)

export type HistoryDirection = 'newest_first' | 'oldest_first';

const DIRECTION_ALIASES: Readonly<Record<string, HistoryDirection>> = {
  newest_first: 'newest_first',
  backwards: 'newest_first',
  reverse: 'newest_first',
  oldest_first: 'oldest_first',
  forwards: 'oldest_first',
  forward: 'oldest_first',
};

/** Normalises the direction aliases of PROTOCOL.md 6.2; undefined for an unknown value. */
export function normalizeDirection(input: unknown): HistoryDirection | undefined {
  return typeof input === 'string' && Object.hasOwn(DIRECTION_ALIASES, input) ? DIRECTION_ALIASES[input] : undefined;
}

/** Inclusive bounds; all optional. Times are ms since the epoch. */
export interface HistoryBounds {
  readonly startSerial?: Serial;
  readonly endSerial?: Serial;
  readonly startTimeMs?: number;
  readonly endTimeMs?: number;
}

/** Default page size when the query gives none (PROTOCOL.md 6.1 `max_page_size`). */
export const DEFAULT_PAGE_LIMIT = 100;
/** Hard ceiling of one page, whatever the policy says (the WS clamp of PROTOCOL.md 6.3). */
export const MAX_PAGE_LIMIT = 1000;

export interface HistoryQuery {
  readonly appId: string;
  readonly channel: string;
  /** Default `newest_first`. Use `normalizeDirection` for wire aliases. */
  readonly direction?: HistoryDirection;
  /** 1..MAX_PAGE_LIMIT (larger values are clamped); default DEFAULT_PAGE_LIMIT; 0 is an error. */
  readonly limit?: number;
  /** A `next_cursor` of an earlier page of the same query. */
  readonly cursor?: string | null;
  readonly bounds?: HistoryBounds;
}

/** What is retained of a stream now. */
export interface RetainedInfo {
  readonly streamId: string;
  readonly oldestAvailableSerial: Serial | null;
  readonly newestAvailableSerial: Serial | null;
  readonly oldestAvailablePublishedAtMs: number | null;
  readonly newestAvailablePublishedAtMs: number | null;
  readonly retainedMessages: number;
  readonly retainedBytes: number;
}

/** `continuity` of a page: what is retained, and whether the query's range lost rows. */
export interface Continuity extends RetainedInfo {
  /** No row matching the query's bounds was removed by retention or purge. */
  readonly complete: boolean;
  /** Some rows matching the query's bounds were removed by retention or purge. */
  readonly truncatedByRetention: boolean;
}

export interface HistoryPage {
  readonly items: readonly HistoryRow[];
  readonly direction: HistoryDirection;
  /** The effective (clamped) limit. */
  readonly limit: number;
  readonly hasMore: boolean;
  readonly nextCursor: string | null;
  readonly bounds: HistoryBounds;
  readonly continuity: Continuity;
  readonly streamState: StreamState;
}

/** `GET …/history/state` (PROTOCOL.md 6.2). */
export interface HistoryStreamInfo {
  readonly appId: string;
  readonly channel: string;
  readonly streamId: string;
  /** The serial the next append will get. */
  readonly nextSerial: Serial;
  readonly retained: RetainedInfo;
  readonly state: StreamState;
  /** The retention policy of the last append, if any. */
  readonly retention: RetentionPolicy | null;
}

// ---------------------------------------------------------------------------------------------
// Admin operations

export interface ResetRequest {
  readonly reason: string;
  readonly requestedBy?: string;
}

export interface ResetResult {
  readonly previousStreamId: string;
  readonly newStreamId: string;
  readonly purgedMessages: number;
  readonly purgedBytes: number;
  readonly stream: HistoryStreamInfo;
}

export type PurgeMode = 'all' | 'before_serial' | 'before_time_ms';

export type PurgeRequest = { readonly reason: string; readonly requestedBy?: string } & (
  | { readonly mode: 'all' }
  | { readonly mode: 'before_serial'; readonly beforeSerial: Serial }
  | { readonly mode: 'before_time_ms'; readonly beforeTimeMs: number }
);

export interface PurgeResult {
  readonly purgedMessages: number;
  readonly purgedBytes: number;
  readonly stream: HistoryStreamInfo;
}

export interface NonHealthyChannel {
  readonly appId: string;
  readonly channel: string;
  readonly state: StreamState;
}

export interface NonHealthyQuery {
  readonly appId?: string;
  /** 1..1000, default 100. */
  readonly limit?: number;
  readonly cursor?: string | null;
}

export interface NonHealthyPage {
  readonly items: readonly NonHealthyChannel[];
  readonly nextCursor: string | null;
}

/** Per-app gauges and counters (metric family `history_*`, label app_id). */
export interface HistoryAppStats {
  channels: number;
  retainedMessages: number;
  retainedBytes: number;
  /** Counters since the store started. */
  evictedMessages: number;
  evictedBytes: number;
  purgedMessages: number;
  purgedBytes: number;
  degradedChannels: number;
  resetRequiredChannels: number;
  /** Times the store found a channel's acknowledged data lost (entered reset_required). */
  dataLossDetected: number;
}

export interface HistoryStats {
  readonly apps: Readonly<Record<string, Readonly<HistoryAppStats>>>;
}

// ---------------------------------------------------------------------------------------------
// Errors

export const HISTORY_ERROR_CODES = [
  /** limit, bounds or direction out of range (HTTP 400 invalid_input). */
  'invalid_query',
  /** Not a cursor this server issued: garbage, wrong version, oversized (HTTP 400 invalid_input). */
  'invalid_cursor',
  /** A cursor used with another app, channel, direction or bounds (HTTP 400 invalid_input). */
  'cursor_mismatch',
  /** The stream was reset since the cursor was issued: restart without a cursor (HTTP 400). */
  'cursor_stream_reset',
  /** A bad admin request (purge parameters, empty reason) (HTTP 400 invalid_input). */
  'invalid_request',
  /** A stored row larger than the store accepts (HTTP 413 payload_too_large). */
  'row_too_large',
  /** The serial counter reached 2^53-1 (never in practice; refused rather than rounded). */
  'serial_exhausted',
  /** The store is unreachable; retry later (HTTP 503 service_unavailable + Retry-After). */
  'store_unavailable',
] as const;
export type HistoryErrorCode = (typeof HISTORY_ERROR_CODES)[number];

/** An error of a store call with a stable code; REST and WS map it to the wire. */
export class HistoryError extends Error {
  readonly code: HistoryErrorCode;
  constructor(code: HistoryErrorCode, message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'HistoryError';
    this.code = code;
  }
  /** A retry may succeed (only `store_unavailable`). */
  get retryable(): boolean {
    return this.code === 'store_unavailable';
  }
}

export function isHistoryError(err: unknown, code?: HistoryErrorCode): err is HistoryError {
  return err instanceof HistoryError && (code === undefined || err.code === code);
}

// ---------------------------------------------------------------------------------------------
// Validation helpers shared by the implementations

/** A serial given as a bound or by a client: an integer in 0..2^53-1. */
export function isSerial(n: unknown): n is Serial {
  return isCounter(n);
}

function checkBoundValue(label: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (!isCounter(v)) throw new HistoryError('invalid_query', `${label} must be an integer in 0..2^53-1`);
  return v;
}

/** Validates bounds and returns them with only the defined keys (the canonical form cursors compare). */
export function normalizeBounds(b: HistoryBounds | undefined): HistoryBounds {
  if (b === undefined) return {};
  const startSerial = checkBoundValue('start_serial', b.startSerial);
  const endSerial = checkBoundValue('end_serial', b.endSerial);
  const startTimeMs = checkBoundValue('start_time_ms', b.startTimeMs);
  const endTimeMs = checkBoundValue('end_time_ms', b.endTimeMs);
  if (startSerial !== undefined && endSerial !== undefined && startSerial > endSerial) {
    throw new HistoryError('invalid_query', 'start_serial must not be greater than end_serial');
  }
  if (startTimeMs !== undefined && endTimeMs !== undefined && startTimeMs > endTimeMs) {
    throw new HistoryError('invalid_query', 'start_time_ms must not be greater than end_time_ms');
  }
  const out: { startSerial?: number; endSerial?: number; startTimeMs?: number; endTimeMs?: number } = {};
  if (startSerial !== undefined) out.startSerial = startSerial;
  if (endSerial !== undefined) out.endSerial = endSerial;
  if (startTimeMs !== undefined) out.startTimeMs = startTimeMs;
  if (endTimeMs !== undefined) out.endTimeMs = endTimeMs;
  return out;
}

/** Validates a page limit: undefined → DEFAULT_PAGE_LIMIT, > MAX_PAGE_LIMIT clamped, < 1 an error. */
export function normalizeLimit(limit: number | undefined, max: number = MAX_PAGE_LIMIT): number {
  if (limit === undefined) return Math.min(DEFAULT_PAGE_LIMIT, max);
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new HistoryError('invalid_query', 'limit must be a positive integer');
  }
  return Math.min(limit, max);
}

/** Validates a retention policy (each limit a positive integer when set). */
export function checkRetention(policy: RetentionPolicy): void {
  for (const k of ['maxMessages', 'maxBytes', 'maxAgeSeconds'] as const) {
    const v = policy[k];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) {
      throw new TypeError(`retention.${k} must be a positive integer`);
    }
  }
}

/** Whether a state allows cold recovery. */
export function recoveryAllowed(state: DurableState): boolean {
  return state === 'healthy';
}
