// The golden normalisation (normalize.ts), on hand-made frames.
import { describe, expect, it } from 'vitest';
import { collapseAppends, Normalizer } from './normalize.ts';

const serial = (ms: number, counter: number) =>
  `${String(ms).padStart(20, '0')}:test-node:${String(counter).padStart(20, '0')}`;
const M1 = serial(1000, 1);
const M2 = serial(1001, 2);
const M1V1 = serial(1002, 3);
const STREAM = '2f0dc9f1-0466-43e6-8580-f5782927b6d5';
const UUID = '59f66532-dc52-461e-b2b2-323aaacc9194';

const headers = (ms: string, vs: string, action = 'message.create') => ({
  sockudo_action: action,
  sockudo_message_serial: ms,
  sockudo_version_serial: vs,
  sockudo_version_timestamp_ms: 1796194745283,
  sockudo_history_serial: 7,
});

const frame = (event: string, ms: string, vs: string, serialNo: number, data: unknown, action?: string) => ({
  event,
  channel: 'c',
  data,
  message_id: UUID,
  stream_id: STREAM,
  serial: serialNo,
  extras: { headers: headers(ms, vs, action) },
});

describe('Normalizer', () => {
  it('numbers messages in serial order and versions within their message; a create is v0', () => {
    // The second message is seen first: numbering follows the serials, not the order seen.
    const frames = [
      frame('ai-output', M2, M2, 12, ''),
      frame('ai-run-start', M1, M1, 10, ''),
      frame('sockudo:message.append', M1, M1V1, 13, 'x', 'message.append'),
    ];
    const out = new Normalizer().collect(frames).normalize(frames) as Array<Record<string, unknown>>;
    expect(out.map((f) => (f.extras as { headers: Record<string, unknown> }).headers)).toEqual([
      { ...headers('<m2>', '<m2.v0>'), sockudo_version_timestamp_ms: '<ts>' },
      { ...headers('<m1>', '<m1.v0>'), sockudo_version_timestamp_ms: '<ts>' },
      { ...headers('<m1>', '<m1.v1>', 'message.append'), sockudo_version_timestamp_ms: '<ts>' },
    ]);
    // Delivery serials become their rank among the scenario's: 10, 12, 13 → #1, #2, #3.
    expect(out.map((f) => f.serial)).toEqual(['#2', '#1', '#3']);
    expect(out[0]?.message_id).toBe('<uuid:1>');
    expect(out[0]?.stream_id).toBe('<stream:1>');
  });

  it('ranks delivery serials over everything seen (acks too), so a gap stays visible; 0 stays 0', () => {
    const ack = { message_serial: M1, version_serial: M1, delivery_serial: 5, history_serial: 3 };
    const live = [{ event: 'sockudo_internal:subscription_succeeded', serial: 0 }, frame('x', M1, M1V1, 7, '')];
    const n = new Normalizer().collect([{ ...ack, delivery_serial: 6 }, ack], live);
    expect(n.normalize(ack)).toEqual({
      message_serial: '<m1>',
      version_serial: '<m1.v0>',
      delivery_serial: '#1',
      history_serial: 3,
    });
    expect((n.normalize(live) as Array<Record<string, unknown>>).map((f) => f.serial)).toEqual([0, '#3']);
    expect(n.normalize({ serial: 99 })).toEqual({ serial: '#?99' });
  });

  it('keeps history serials: history page items, bounds, attach serials', () => {
    const page = {
      items: [
        {
          serial: 4,
          event_name: 'ai-run-end',
          operation_kind: 'message.create',
          stream_id: STREAM,
          published_at_ms: 1796194745336,
          message: { ...frame('sockudo:message.create', M1, M1, 9, ''), message_serial: M1, version: { serial: M1 } },
        },
      ],
      bounds: { end_serial: 4, attach_serial: 4, start_time_ms: null },
      next_cursor: 'eyJ2ZXJzaW9uIjoxfQ',
    };
    const out = new Normalizer().collect(page).normalize(page) as { items: Array<Record<string, unknown>> };
    expect(out.items[0]).toMatchObject({ serial: 4, stream_id: '<stream:1>', published_at_ms: '<ts>' });
    expect(out.items[0]?.message).toMatchObject({
      serial: '#1',
      message_serial: '<m1>',
      version: { serial: '<m1.v0>' },
    });
    expect(out).toMatchObject({
      bounds: { end_serial: 4, attach_serial: 4, start_time_ms: null },
      next_cursor: '<cursor>',
    });
  });

  it('parses JSON-string data and numbers socket ids; leaves plain text alone', () => {
    const frames = [
      { event: 'pusher:connection_established', data: '{"socket_id":"123.456","activity_timeout":120}' },
      { event: 'pusher:connection_established', data: '{"socket_id":"789.1","activity_timeout":120}' },
      { event: 'ai-output', data: '{not json' },
      { event: 'ai-output', data: 'What is rollup?' },
      { event: 'x', data: { user_data: '{"id":"u1"}' } },
    ];
    expect(new Normalizer().collect(frames).normalize(frames)).toEqual([
      { event: 'pusher:connection_established', data: { $json: { socket_id: '<socket:1>', activity_timeout: 120 } } },
      { event: 'pusher:connection_established', data: { $json: { socket_id: '<socket:2>', activity_timeout: 120 } } },
      { event: 'ai-output', data: '{not json' },
      { event: 'ai-output', data: 'What is rollup?' },
      { event: 'x', data: { user_data: { $json: { id: 'u1' } } } },
    ]);
  });

  it('gives the same placeholder to the same id wherever it appears', () => {
    const a = { stream_id: STREAM, expected_stream_id: STREAM, message_id: UUID, last_message_id: UUID };
    expect(new Normalizer().collect(a).normalize(a)).toEqual({
      stream_id: '<stream:1>',
      expected_stream_id: '<stream:1>',
      message_id: '<uuid:1>',
      last_message_id: '<uuid:1>',
    });
  });
});

describe('collapseAppends', () => {
  const append = (ms: string, data: string, status = 'streaming') => ({
    event: 'sockudo:message.append',
    data,
    extras: { headers: { sockudo_message_serial: ms }, ai: { transport: { status } } },
  });

  it('merges each run of appends of one message into its last frame with the joined text', () => {
    const create = { event: 'ai-output', data: '' };
    const end = { event: 'ai-run-end', data: '' };
    const out = collapseAppends([
      create,
      append(M1, 'a'),
      append(M1, 'b'),
      append(M1, 'c', 'complete'),
      end,
      append(M1, 'd'),
      append(M2, 'x'),
    ]);
    expect(out).toEqual([
      create,
      { ...append(M1, 'abc', 'complete'), $coalesced: true },
      end,
      { ...append(M1, 'd'), $coalesced: true },
      { ...append(M2, 'x'), $coalesced: true },
    ]);
  });
});
