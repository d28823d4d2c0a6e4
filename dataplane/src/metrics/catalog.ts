// The metric catalog: every metric the data plane exports, as plain data (PROTOCOL.md 10,
// decision 15). The operator imports this file to write alerts and dashboards, so it has no
// imports and no side effects. Names are given without the prefix (`metrics.prefix`,
// default `ait`): `connected` is scraped as `ait_connected`.
//
// Labels are low-cardinality (STANDARDS O2): `app_id` and small enums, never a channel,
// socket or user id.

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type MetricGroup = 'core' | 'ai' | 'durable' | 'runtime';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  readonly group: MetricGroup;
  /** Histogram buckets; DEFAULT_BUCKETS when absent. */
  readonly buckets?: readonly number[];
  /** Exported by prom-client's default collectors, not created by createMetrics. */
  readonly collector?: 'prom-client-default';
}

/** PROTOCOL.md 10: the default histogram buckets (milliseconds for *_ms histograms). */
export const DEFAULT_BUCKETS = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;
/** PROTOCOL.md 10: `horizontal_adapter_resolve_time` buckets (seconds). */
export const RESOLVE_TIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const A = ['app_id'] as const;

export const METRICS = [
  // --- core: connections and traffic ---
  { name: 'connected', type: 'gauge', group: 'core', labels: A, help: 'Open WebSocket connections.' },
  { name: 'new_connections_total', type: 'counter', group: 'core', labels: A, help: 'WebSocket connections opened.' },
  {
    name: 'new_disconnections_total',
    type: 'counter',
    group: 'core',
    labels: A,
    help: 'WebSocket connections closed, for any reason.',
  },
  {
    name: 'connection_errors_total',
    type: 'counter',
    group: 'core',
    labels: ['app_id', 'error_type'],
    help: 'Errors sent to sockets or refused connections, by error type (the lower-cased error code without AIT_ERR_).',
  },
  {
    name: 'socket_received_bytes',
    type: 'counter',
    group: 'core',
    labels: A,
    help: 'Bytes of WebSocket message payloads received.',
  },
  {
    name: 'socket_transmitted_bytes',
    type: 'counter',
    group: 'core',
    labels: A,
    help: 'Bytes of WebSocket message payloads sent.',
  },
  {
    name: 'ws_messages_received_total',
    type: 'counter',
    group: 'core',
    labels: A,
    help: 'WebSocket messages received.',
  },
  { name: 'ws_messages_sent_total', type: 'counter', group: 'core', labels: A, help: 'WebSocket messages sent.' },
  { name: 'http_received_bytes', type: 'counter', group: 'core', labels: A, help: 'Bytes of REST request bodies.' },
  {
    name: 'http_transmitted_bytes',
    type: 'counter',
    group: 'core',
    labels: A,
    help: 'Bytes of REST response bodies.',
  },
  { name: 'http_calls_received_total', type: 'counter', group: 'core', labels: A, help: 'REST requests received.' },
  // --- core: rate limits and channels ---
  {
    name: 'rate_limit_checks_total',
    type: 'counter',
    group: 'core',
    labels: ['app_id', 'limiter_type', 'request_context'],
    help: 'Rate limiter checks (limiter_type: client_events, http; request_context: websocket, rest).',
  },
  {
    name: 'rate_limit_triggered_total',
    type: 'counter',
    group: 'core',
    labels: ['app_id', 'limiter_type', 'request_context'],
    help: 'Rate limiter checks that refused the request.',
  },
  {
    name: 'channel_subscriptions_total',
    type: 'counter',
    group: 'core',
    labels: ['app_id', 'channel_type'],
    help: 'Successful channel subscriptions.',
  },
  {
    name: 'channel_unsubscriptions_total',
    type: 'counter',
    group: 'core',
    labels: ['app_id', 'channel_type'],
    help: 'Channel unsubscriptions, explicit or by disconnect.',
  },
  {
    name: 'active_channels',
    type: 'gauge',
    group: 'core',
    labels: ['app_id', 'channel_type'],
    help: 'Channels with at least one local subscriber.',
  },
  // --- core: latency ---
  {
    name: 'broadcast_latency_ms',
    type: 'histogram',
    group: 'core',
    labels: ['app_id', 'channel_type', 'recipient_count_bucket'],
    help: 'Time from publish to the frame written to every local recipient socket, in milliseconds.',
  },
  // --- core: idempotency and delivery ---
  {
    name: 'idempotency_publish_total',
    type: 'counter',
    group: 'core',
    labels: A,
    help: 'Publishes carrying an idempotency key.',
  },
  {
    name: 'idempotency_duplicates_total',
    type: 'counter',
    group: 'core',
    labels: A,
    help: 'Publishes answered from an earlier receipt without a broadcast.',
  },
  { name: 'ephemeral_messages_total', type: 'counter', group: 'core', labels: A, help: 'Ephemeral publishes.' },
  {
    name: 'event_filter_suppressed_total',
    type: 'counter',
    group: 'core',
    labels: A,
    help: 'Deliveries suppressed by subscription filters.',
  },
  {
    name: 'echo_suppressed_total',
    type: 'counter',
    group: 'core',
    labels: A,
    help: 'Deliveries to the publishing socket suppressed by echo control.',
  },
  // --- core: horizontal transport ---
  {
    name: 'horizontal_adapter_resolve_time',
    type: 'histogram',
    group: 'core',
    labels: A,
    buckets: RESOLVE_TIME_BUCKETS,
    help: 'Time to resolve a cross-node request, in seconds.',
  },
  {
    name: 'horizontal_transport_queue_depth',
    type: 'gauge',
    group: 'core',
    labels: ['driver'],
    help: 'Messages waiting to be sent to other nodes.',
  },
  {
    name: 'horizontal_transport_messages_dropped_total',
    type: 'counter',
    group: 'core',
    labels: ['driver'],
    help: 'Cross-node messages dropped (queue full or transport down).',
  },
  {
    name: 'horizontal_transport_reconnections_total',
    type: 'counter',
    group: 'core',
    labels: ['driver'],
    help: 'Reconnections of the cross-node transport.',
  },
  {
    name: 'horizontal_transport_duplicates_total',
    type: 'counter',
    group: 'core',
    labels: ['driver'],
    help: 'Cross-node messages dropped as duplicates (a serial already delivered on this node).',
  },
  {
    name: 'horizontal_transport_gaps_total',
    type: 'counter',
    group: 'core',
    labels: ['driver', 'result'],
    help: 'Messages missing on the transport, by result: repaired (fetched from the store) or unrecoverable (skipped).',
  },
  {
    name: 'nats_events_total',
    type: 'counter',
    group: 'core',
    labels: ['event'],
    help: 'NATS transport events (Sockudo compatibility; unused by the Redis transport).',
  },
  // --- AI Transport ---
  {
    name: 'ai_messages_validated_total',
    type: 'counter',
    group: 'ai',
    labels: ['app_id', 'event'],
    help: 'AI events that passed validation.',
  },
  {
    name: 'ai_messages_rejected_total',
    type: 'counter',
    group: 'ai',
    labels: ['app_id', 'code'],
    help: 'AI events rejected, by AI registry code.',
  },
  {
    name: 'ai_messages_unparseable_total',
    type: 'counter',
    group: 'ai',
    labels: A,
    help: 'AI events whose extras could not be parsed.',
  },
  { name: 'ai_runs_started_total', type: 'counter', group: 'ai', labels: A, help: 'AI runs started.' },
  {
    name: 'ai_runs_ended_total',
    type: 'counter',
    group: 'ai',
    labels: ['app_id', 'reason'],
    help: 'AI runs ended, by reason (complete, cancelled, error, suspended, unknown).',
  },
  { name: 'ai_turns_started_total', type: 'counter', group: 'ai', labels: A, help: 'Legacy twin of runs started.' },
  {
    name: 'ai_turns_ended_total',
    type: 'counter',
    group: 'ai',
    labels: ['app_id', 'reason'],
    help: 'Legacy twin of runs ended.',
  },
  { name: 'ai_cancel_signals_total', type: 'counter', group: 'ai', labels: A, help: 'ai-cancel signals received.' },
  { name: 'ai_active_streams', type: 'gauge', group: 'ai', labels: A, help: 'AI streams currently open.' },
  {
    name: 'ai_stream_duration_seconds',
    type: 'histogram',
    group: 'ai',
    labels: A,
    help: 'Duration of finished AI streams, in seconds.',
  },
  { name: 'ai_stream_bytes_total', type: 'counter', group: 'ai', labels: A, help: 'Bytes streamed by AI streams.' },
  { name: 'appends_received_total', type: 'counter', group: 'ai', labels: A, help: 'Appends received.' },
  {
    name: 'appends_delivered_total',
    type: 'counter',
    group: 'ai',
    labels: A,
    help: 'Append frames delivered after rollup.',
  },
  {
    name: 'rollup_ratio',
    type: 'histogram',
    group: 'ai',
    labels: A,
    help: 'Appends coalesced into one delivered frame.',
  },
  { name: 'active_streams', type: 'gauge', group: 'ai', labels: A, help: 'Streams tracked by the rollup engine.' },
  {
    name: 'flush_latency',
    type: 'histogram',
    group: 'ai',
    labels: A,
    help: 'Time from the first held append of a coalesced delivery to its delivery, in milliseconds (about the window W; alert when p99.9 > W + 5 ms).',
  },
  {
    name: 'rollup_flush_lateness_ms',
    type: 'histogram',
    group: 'ai',
    labels: A,
    buckets: [0.5, 1, 2, 3, 5, 10, 25, 50, 100],
    help: 'How late a deadline flush went out after its deadline, in milliseconds (the tick and event-loop lag).',
  },
  {
    name: 'ai_orphans_cancelled_total',
    type: 'counter',
    group: 'ai',
    labels: A,
    help: 'Streams the orphan janitor cancelled (status=cancelled, error-code=orphan_timeout).',
  },
  {
    name: 'ai_janitor_failures_total',
    type: 'counter',
    group: 'ai',
    labels: ['step'],
    help: 'Orphan janitor steps that failed (step: scan, cancel); retried on the next pass.',
  },
  {
    name: 'channel_policies',
    type: 'gauge',
    group: 'core',
    labels: [],
    help: 'Channel policies in force on this node.',
  },
  {
    name: 'channel_policy_reloads_total',
    type: 'counter',
    group: 'core',
    labels: ['result'],
    help: 'Channel-policy file checks (result: applied, unchanged, failed — a failed reload keeps the previous policies).',
  },
  // --- durable state and recovery ---
  ...historyFamily('history', 'messages'),
  ...historyFamily('presence_history', 'presence transitions'),
  {
    name: 'versioned_message_mutations_total',
    type: 'counter',
    group: 'durable',
    labels: ['app_id', 'action', 'result'],
    help: 'Versioned-message mutations (action: message.create etc.; result: applied, duplicate, auth_failed).',
  },
  {
    name: 'versioned_message_retrieval_total',
    type: 'counter',
    group: 'durable',
    labels: ['app_id', 'surface', 'result'],
    help: 'Versioned-message reads (surface: latest, versions; result: hit, miss).',
  },
  {
    name: 'versioned_history_substitution_total',
    type: 'counter',
    group: 'durable',
    labels: ['app_id', 'result'],
    help: 'History items substituted by their latest version (applied, missing_latest, not_versioned).',
  },
  // --- runtime (prom-client default collectors, under the same prefix) ---
  {
    name: 'nodejs_eventloop_lag_seconds',
    type: 'gauge',
    group: 'runtime',
    labels: [],
    collector: 'prom-client-default',
    help: 'Event-loop lag (STANDARDS C3).',
  },
  {
    name: 'nodejs_eventloop_lag_p99_seconds',
    type: 'gauge',
    group: 'runtime',
    labels: [],
    collector: 'prom-client-default',
    help: 'p99 event-loop delay.',
  },
  {
    name: 'nodejs_active_handles_total',
    type: 'gauge',
    group: 'runtime',
    labels: [],
    collector: 'prom-client-default',
    help: 'Active libuv handles.',
  },
  {
    name: 'process_resident_memory_bytes',
    type: 'gauge',
    group: 'runtime',
    labels: [],
    collector: 'prom-client-default',
    help: 'Resident memory.',
  },
  {
    name: 'process_open_fds',
    type: 'gauge',
    group: 'runtime',
    labels: [],
    collector: 'prom-client-default',
    help: 'Open file descriptors.',
  },
] as const satisfies readonly MetricSpec[];

/** The `history_*` family of PROTOCOL.md 10, also used for `presence_history_*`. */
function historyFamily<P extends string>(prefix: P, what: string) {
  const l = ['app_id'] as const;
  return [
    {
      name: `${prefix}_writes_total`,
      type: 'counter',
      group: 'durable',
      labels: l,
      help: `Durable writes of ${what}.`,
    },
    {
      name: `${prefix}_write_failures_total`,
      type: 'counter',
      group: 'durable',
      labels: l,
      help: `Failed durable writes of ${what}.`,
    },
    {
      name: `${prefix}_write_latency_ms`,
      type: 'histogram',
      group: 'durable',
      labels: l,
      help: `Durable write latency of ${what}, in milliseconds.`,
    },
    {
      name: `${prefix}_retained_messages`,
      type: 'gauge',
      group: 'durable',
      labels: l,
      help: `Retained ${what}.`,
    },
    {
      name: `${prefix}_retained_bytes`,
      type: 'gauge',
      group: 'durable',
      labels: l,
      help: `Retained bytes of ${what}.`,
    },
    { name: `${prefix}_queue_depth`, type: 'gauge', group: 'durable', labels: l, help: `Pending writes of ${what}.` },
    {
      name: `${prefix}_evictions_total`,
      type: 'counter',
      group: 'durable',
      labels: l,
      help: `Retention evictions of ${what}.`,
    },
    {
      name: `${prefix}_evicted_bytes_total`,
      type: 'counter',
      group: 'durable',
      labels: l,
      help: `Bytes evicted by retention of ${what}.`,
    },
    {
      name: `${prefix}_degraded_channels`,
      type: 'gauge',
      group: 'durable',
      labels: l,
      help: `Channels whose ${what} store is degraded.`,
    },
    {
      name: `${prefix}_reset_required_channels`,
      type: 'gauge',
      group: 'durable',
      labels: l,
      help: `Channels whose ${what} history lost acknowledged data.`,
    },
    {
      name: `${prefix}_recovery_success_total`,
      type: 'counter',
      group: 'durable',
      labels: ['app_id', 'source'],
      help: `Successful recoveries of ${what} (source: hot, cold).`,
    },
    {
      name: `${prefix}_recovery_failures_total`,
      type: 'counter',
      group: 'durable',
      labels: ['app_id', 'code'],
      help: `Failed recoveries of ${what} (code: stream_reset, position_expired, continuity_unverifiable, persistence_unavailable).`,
    },
  ] as const;
}

export type MetricName = (typeof METRICS)[number]['name'];

/** Looks a metric up by name (without prefix). */
export function metricSpec(name: MetricName): MetricSpec {
  const spec = METRICS.find((m) => m.name === name);
  if (!spec) throw new TypeError(`unknown metric ${name}`);
  return spec;
}

/** `recipient_count_bucket` label values of broadcast_latency_ms. */
export function recipientCountBucket(n: number): string {
  if (n <= 1) return '1';
  if (n <= 10) return '10';
  if (n <= 100) return '100';
  if (n <= 1000) return '1000';
  if (n <= 10_000) return '10000';
  return 'more';
}
