// Admin API types: the contract between the data plane's ops listener and the operator
// (the operator imports this file; nothing else crosses that line).
import type { PolicyStatus } from '../config/policy-source.ts';

export type { PolicyStatus };

/** GET /admin/status */
export interface AdminStatus {
  nodeId: string;
  version: string;
  /** Seconds since the process started. */
  uptimeSeconds: number;
  ready: boolean;
  draining: boolean;
  connections: number;
  connectionsByApp: Record<string, number>;
  channels: number;
  drain: DrainStatus | null;
  /** The durable stores: kind, reachability, and the non-healthy channel counts (all apps). */
  history: HistoryHealth;
  /** The rollup engine and the ordering gates of this node. */
  pipeline: PipelineStatus;
  /** The channel policies in force on this node. */
  policies: PolicyStatus;
}

export interface HistoryHealth {
  store: string;
  reachable: boolean;
  degradedChannels: number;
  resetRequiredChannels: number;
}

export interface PipelineStatus {
  /** Publishes and mutations queued behind the channels' ordering gates (history_queue_depth). */
  queueDepth: number;
  rollupActiveStreams: number;
  rollupHeldBytes: number;
  /** Deliveries the rollup holds now; `POST /admin/flush` sends them. */
  rollupPendingWindows: number;
}

/** One channel of GET /admin/channels. */
export interface AdminChannel {
  appId: string;
  channel: string;
  durableState: 'healthy' | 'degraded' | 'reset_required';
  reason: string | null;
  streamId: string;
  lastTransitionAtMs: number;
}

/** GET /admin/channels?state=reset_required|degraded|non_healthy&app_id=&limit=&cursor= */
export interface AdminChannelPage {
  items: AdminChannel[];
  nextCursor: string | null;
}

/** POST /admin/history/reset */
export interface AdminResetRequest {
  appId: string;
  channel: string;
  reason: string;
  requestedBy?: string;
  /** Reset only when the channel is in this state now (the operator re-checks, 6.5); else skipped. */
  expectState?: 'reset_required' | 'degraded';
}

export interface AdminResetResult {
  appId: string;
  channel: string;
  result: 'reset' | 'skipped';
  /** Why it was skipped (the channel's state did not match `expectState`). */
  reason?: string;
  previousStreamId?: string;
  newStreamId?: string;
  purgedMessages?: number;
}

/** POST /admin/flush: held rollups delivered, pending writes waited for (bounded). */
export interface FlushResult {
  deliveredRollups: number;
  /** Writes still queued when the wait ended (0 = flushed). */
  pendingWrites: number;
}

/** POST /admin/drain body; every field optional, defaults from config.shutdown. */
export interface DrainRequest {
  /** Connections closed with 4200 per batch. */
  batchSize?: number;
  /** Pause between batches. */
  batchIntervalMs?: number;
  /** Reason put into the 4200 close frame. */
  reason?: string;
  /** Readiness off now, the first close batch this much later (let endpoints drop the pod first). */
  closeAfterMs?: number;
}

/** Answer of POST /admin/drain and the `drain` block of the status. */
export interface DrainStatus {
  state: 'draining' | 'drained';
  startedAtMs: number;
  /** Connections still open on this node. */
  remainingConnections: number;
  closedConnections: number;
  /** When the first close batch runs (epoch ms): `startedAtMs` + `closeAfterMs` (absent from older nodes). */
  closingFromMs?: number;
  /** Work still to flush: rollup windows holding appends plus publishes in flight. */
  pendingFlushes: number;
}
