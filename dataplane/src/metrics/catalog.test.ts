import { describe, expect, it } from 'vitest';
import { METRICS, recipientCountBucket } from './catalog.ts';

// The names of PROTOCOL.md section 10 (Core list, AI Transport and durable-state tables).
const PROTOCOL_NAMES = [
  'connected',
  'new_connections_total',
  'new_disconnections_total',
  'connection_errors_total',
  'socket_received_bytes',
  'socket_transmitted_bytes',
  'ws_messages_received_total',
  'ws_messages_sent_total',
  'http_received_bytes',
  'http_transmitted_bytes',
  'http_calls_received_total',
  'rate_limit_checks_total',
  'rate_limit_triggered_total',
  'channel_subscriptions_total',
  'channel_unsubscriptions_total',
  'active_channels',
  'broadcast_latency_ms',
  'idempotency_publish_total',
  'idempotency_duplicates_total',
  'ephemeral_messages_total',
  'event_filter_suppressed_total',
  'echo_suppressed_total',
  'horizontal_adapter_resolve_time',
  'horizontal_transport_queue_depth',
  'horizontal_transport_messages_dropped_total',
  'horizontal_transport_reconnections_total',
  'nats_events_total',
  'ai_messages_validated_total',
  'ai_messages_rejected_total',
  'ai_messages_unparseable_total',
  'ai_runs_started_total',
  'ai_runs_ended_total',
  'ai_turns_started_total',
  'ai_turns_ended_total',
  'ai_cancel_signals_total',
  'ai_active_streams',
  'ai_stream_duration_seconds',
  'ai_stream_bytes_total',
  'appends_received_total',
  'appends_delivered_total',
  'rollup_ratio',
  'active_streams',
  'flush_latency',
  'history_writes_total',
  'history_write_failures_total',
  'history_write_latency_ms',
  'history_retained_messages',
  'history_retained_bytes',
  'history_queue_depth',
  'history_evictions_total',
  'history_evicted_bytes_total',
  'history_degraded_channels',
  'history_reset_required_channels',
  'history_recovery_success_total',
  'history_recovery_failures_total',
  'versioned_message_mutations_total',
  'versioned_message_retrieval_total',
  'versioned_history_substitution_total',
];

const EXTRA_LABELS: Record<string, string[]> = {
  connection_errors_total: ['error_type'],
  rate_limit_checks_total: ['limiter_type', 'request_context'],
  rate_limit_triggered_total: ['limiter_type', 'request_context'],
  channel_subscriptions_total: ['channel_type'],
  channel_unsubscriptions_total: ['channel_type'],
  active_channels: ['channel_type'],
  broadcast_latency_ms: ['channel_type', 'recipient_count_bucket'],
  ai_messages_validated_total: ['event'],
  ai_messages_rejected_total: ['code'],
  ai_runs_ended_total: ['reason'],
  history_recovery_success_total: ['source'],
  history_recovery_failures_total: ['code'],
  versioned_message_mutations_total: ['action', 'result'],
  versioned_message_retrieval_total: ['surface', 'result'],
  versioned_history_substitution_total: ['result'],
};

describe('metric catalog', () => {
  const names = METRICS.map((m) => m.name as string);

  it('has unique names', () => {
    expect(new Set(names).size).toBe(names.length);
  });

  it('contains every metric named in PROTOCOL.md section 10', () => {
    expect(PROTOCOL_NAMES.filter((n) => !names.includes(n))).toEqual([]);
  });

  it('mirrors the history_* family as presence_history_*', () => {
    for (const n of names.filter((x) => x.startsWith('history_'))) expect(names).toContain(`presence_${n}`);
  });

  it('uses Prometheus-legal names and low-cardinality labels', () => {
    for (const m of METRICS) {
      expect(m.name).toMatch(/^[a-z][a-z0-9_]*$/);
      for (const l of m.labels as readonly string[]) {
        expect(['channel', 'socket_id', 'socket', 'user_id', 'client_id']).not.toContain(l);
      }
      if (m.type === 'counter' && !m.name.endsWith('_bytes')) {
        expect(m.name).toMatch(/_total$/);
      }
    }
  });

  it('carries the extra labels PROTOCOL.md lists', () => {
    for (const [name, extra] of Object.entries(EXTRA_LABELS)) {
      const m = METRICS.find((x) => x.name === name);
      expect(m?.labels, name).toEqual(expect.arrayContaining(['app_id', ...extra]));
    }
  });

  it('is plain data (JSON round-trips)', () => {
    expect(JSON.parse(JSON.stringify(METRICS))).toEqual(METRICS);
  });

  it('buckets recipient counts coarsely', () => {
    expect([1, 2, 10, 11, 5000, 20000].map(recipientCountBucket)).toEqual(['1', '10', '10', '100', '10000', 'more']);
  });
});
