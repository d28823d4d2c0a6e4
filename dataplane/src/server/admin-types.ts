// Admin API types: the contract between the data plane's ops listener and the operator
// (the operator imports this file; nothing else crosses that line).

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
}

/** POST /admin/drain body; every field optional, defaults from config.shutdown. */
export interface DrainRequest {
  /** Connections closed with 4200 per batch. */
  batchSize?: number;
  /** Pause between batches. */
  batchIntervalMs?: number;
  /** Reason put into the 4200 close frame. */
  reason?: string;
}

/** Answer of POST /admin/drain and the `drain` block of the status. */
export interface DrainStatus {
  state: 'draining' | 'drained';
  startedAtMs: number;
  /** Connections still open on this node. */
  remainingConnections: number;
  closedConnections: number;
  /** Pending rollup/history work still to flush (0 until those engines exist). */
  pendingFlushes: number;
}
