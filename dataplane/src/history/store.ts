// The durable history store (PROTOCOL.md 6): one interface, a memory implementation (the
// embedded default, `memory-store.ts`) and a Redis implementation (later milestone); the same
// contract suite (`test/contract/history-store.contract.ts`) runs against both.
//
// Atomicity (STANDARDS C1): every operation that reads and changes state is ONE call, so the
// Redis implementation can make each a single Lua script. Callers never read-modify-write.
// Bounded work: every call touches at most one channel and at most MAX_PAGE_LIMIT rows (plus a
// bounded eviction budget); listings are paginated.
//
// Epochs (decision 11): each channel's stream carries a UUID epoch (`streamId`). A reset
// rotates it; when the store finds that a channel's acknowledged data vanished (its epoch is
// gone while a node still knows it), the next call on that channel starts a new epoch in state
// `reset_required` (reason `durable_stream_lost`) and serials restart at 1 in the new epoch, so
// a (stream_id, serial) pair never names two different messages.
import type {
  AppendResult,
  HistoryAppend,
  HistoryPage,
  HistoryQuery,
  HistoryStats,
  HistoryStreamInfo,
  NonHealthyPage,
  NonHealthyQuery,
  PurgeRequest,
  PurgeResult,
  ResetRequest,
  ResetResult,
  RetentionPolicy,
  StreamState,
} from './types.ts';

export interface HistoryStore {
  /**
   * Appends one row and returns its history serial: reserved atomically with the write,
   * strictly increasing and contiguous from 1 per app+channel and epoch. Enforces `retention`
   * (count, bytes, age; the new row itself is never evicted by count or bytes) and remembers
   * it as the channel's policy for reads. Never refused for state: a degraded or
   * reset_required channel still records (the state says whether recovery may trust it).
   * Throws HistoryError `row_too_large`, `serial_exhausted`, `store_unavailable`.
   */
  append(appId: string, channel: string, row: HistoryAppend, retention: RetentionPolicy): Promise<AppendResult>;

  /**
   * One page of rows, newest or oldest first, within inclusive serial and time bounds, with
   * `nextCursor` when more rows match. Rows past the channel's age retention are never
   * returned. Throws HistoryError `invalid_query`, `invalid_cursor`, `cursor_mismatch`,
   * `cursor_stream_reset`, `store_unavailable`.
   */
  read(query: HistoryQuery): Promise<HistoryPage>;

  /** The channel's epoch, next serial, retained range and durable state (`…/history/state`). */
  state(appId: string, channel: string): Promise<HistoryStreamInfo>;

  /**
   * Purges every row, starts a new epoch (new streamId, next serial 1) and sets the state to
   * healthy. The only way out of reset_required. Throws `invalid_request` for an empty reason.
   */
  reset(appId: string, channel: string, req: ResetRequest): Promise<ResetResult>;

  /** Removes rows (all, or those before a serial or a publish time). Keeps the epoch and state. */
  purge(appId: string, channel: string, req: PurgeRequest): Promise<PurgeResult>;

  /**
   * healthy → degraded with `reason` (a write failed, the writer queue is full). A degraded
   * channel's reason is updated; reset_required is stronger and is kept.
   */
  markDegraded(appId: string, channel: string, reason: string): Promise<StreamState>;

  /** degraded → healthy (the store recovered). reset_required is not cleared (only `reset`). */
  clearDegraded(appId: string, channel: string): Promise<StreamState>;

  /** Channels that are degraded or reset_required, optionally of one app; paginated. */
  listNonHealthy(query?: NonHealthyQuery): Promise<NonHealthyPage>;

  /** Per-app gauges and counters for metrics (`history_*`). */
  stats(): Promise<HistoryStats>;
}

/** Test hook implemented by stores that can simulate losing acknowledged data. */
export interface DataLossSimulator {
  /** Forgets every stored row and stream record, as a store restarted empty would, while this
   * node keeps remembering the epochs it has seen. */
  simulateDataLoss(): void;
}
