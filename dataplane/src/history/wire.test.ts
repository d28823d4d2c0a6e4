import { describe, expect, it } from 'vitest';
import { MemoryHistoryStore } from './memory-store.ts';
import { historyPageToWire, historyStateToWire, resetResultToWire } from './wire.ts';

describe('history wire shapes (PROTOCOL.md 6.2)', () => {
  it('renders a page, state and reset in snake_case with integer serials', async () => {
    const store = new MemoryHistoryStore({ now: () => 1_700_000_000_000, newStreamId: () => 'stream-1', nodeId: 'n1' });
    await store.append(
      'a',
      'c',
      { messageId: 'm1', eventName: 'ai-output', messageSerial: 'ms1', message: { x: 1 } },
      {},
    );
    const page = await store.read({ appId: 'a', channel: 'c', bounds: { startSerial: 1 } });
    const wire = historyPageToWire(page, {
      substitute: (r) => (r.messageSerial ? { substituted: r.messageSerial } : r.message),
      untilAttach: { untilAttach: true, attachSerial: 1 },
    });
    expect(JSON.parse(JSON.stringify(wire))).toEqual({
      items: [
        {
          stream_id: 'stream-1',
          serial: 1,
          published_at_ms: 1_700_000_000_000,
          message_id: 'm1',
          event_name: 'ai-output',
          operation_kind: 'publish',
          payload_size_bytes: 7,
          message: { substituted: 'ms1' },
        },
      ],
      direction: 'newest_first',
      limit: 100,
      has_more: false,
      next_cursor: null,
      bounds: {
        start_serial: 1,
        end_serial: null,
        start_time_ms: null,
        end_time_ms: null,
        until_attach: true,
        attach_serial: 1,
      },
      continuity: {
        stream_id: 'stream-1',
        oldest_available_serial: 1,
        newest_available_serial: 1,
        oldest_available_published_at_ms: 1_700_000_000_000,
        newest_available_published_at_ms: 1_700_000_000_000,
        retained_messages: 1,
        retained_bytes: 7,
        complete: true,
        truncated_by_retention: false,
      },
      stream_state: {
        stream_id: 'stream-1',
        durable_state: 'healthy',
        recovery_allowed: true,
        reset_required: false,
        reason: null,
        node_id: 'n1',
        last_transition_at_ms: 1_700_000_000_000,
        authoritative_source: 'memory',
        observed_source: 'store',
      },
    });
    expect(historyStateToWire(await store.state('a', 'c'))).toMatchObject({
      channel: 'c',
      stream: { stream_id: 'stream-1', next_serial: 2, retained: { retained_messages: 1 } },
    });
    const reset = await store.reset('a', 'c', { reason: 'r' });
    expect(resetResultToWire('c', 'r', null, reset)).toMatchObject({
      ok: true,
      operation: 'reset',
      previous_stream_id: 'stream-1',
      purged_messages: 1,
      stream: { next_serial: 1 },
    });
  });
});
