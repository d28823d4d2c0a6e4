import { describe, expect, it } from 'vitest';
import { AppLimitsSchema } from '../../config/schema.ts';
import { parseInfo, validateBatch, validateEvent } from './validate-event.ts';

const limits = AppLimitsSchema.parse({ maxEventChannelsAtOnce: 3, maxEventBatchSize: 2, maxEventPayloadKb: 1 });
const ok = { name: 'my-event', data: 'hi', channel: 'ch' };

function code(body: unknown): string | undefined {
  const r = validateEvent(body, limits);
  return r.ok ? undefined : r.error.httpBody().code;
}

describe('validateEvent', () => {
  it('normalises channel/channels and stringifies object data', () => {
    const r = validateEvent({ name: 'e', data: { a: 1 }, channels: ['a', 'b', 'a'] }, limits);
    expect(r).toEqual({ ok: true, value: { name: 'e', data: '{"a":1}', channels: ['a', 'b'] } });
    expect(validateEvent(ok, limits)).toMatchObject({ ok: true, value: { data: 'hi', channels: ['ch'] } });
  });

  it('keeps optional fields', () => {
    const r = validateEvent(
      {
        ...ok,
        socket_id: '123.456',
        info: 'subscription_count',
        message_id: 'm1',
        idempotency_key: 'k',
        tags: { t: 'v' },
      },
      limits,
    );
    expect(r).toMatchObject({
      ok: true,
      value: {
        socketId: '123.456',
        info: { subscriptionCount: true, userCount: false },
        messageId: 'm1',
        idempotencyKey: 'k',
        tags: { t: 'v' },
      },
    });
  });

  it.each([
    ['not an object', [], 'invalid_input'],
    ['missing name', { data: 'x', channel: 'c' }, 'invalid_input'],
    ['long name', { ...ok, name: 'n'.repeat(201) }, 'invalid_input'],
    ['missing channel', { name: 'e', data: 'x' }, 'missing_channel_info'],
    ['channel and channels', { ...ok, channels: ['a'] }, 'invalid_input'],
    ['empty channels', { name: 'e', data: 'x', channels: [] }, 'invalid_input'],
    ['too many channels', { name: 'e', data: 'x', channels: ['a', 'b', 'c', 'd'] }, 'limit_exceeded'],
    ['bad channel chars', { ...ok, channel: 'a b' }, 'invalid_input'],
    ['long channel', { ...ok, channel: 'c'.repeat(201) }, 'invalid_input'],
    ['bare prefix channel', { ...ok, channel: 'private-' }, 'invalid_input'],
    ['missing data', { name: 'e', channel: 'c' }, 'invalid_input'],
    ['oversize data', { ...ok, data: 'x'.repeat(1025) }, 'payload_too_large'],
    ['bad socket_id', { ...ok, socket_id: 'abc' }, 'invalid_input'],
    ['bad info', { ...ok, info: 'occupied' }, 'invalid_input'],
    ['empty idempotency_key', { ...ok, idempotency_key: '' }, 'invalid_input'],
    ['long idempotency_key', { ...ok, idempotency_key: 'k'.repeat(129) }, 'invalid_input'],
    ['non-string message_id', { ...ok, message_id: 5 }, 'invalid_input'],
    ['array extras', { ...ok, extras: [] }, 'invalid_input'],
    ['nested header', { ...ok, extras: { headers: { a: { b: 1 } } } }, 'invalid_input'],
    ['non-string tag', { ...ok, tags: { a: 1 } }, 'invalid_input'],
  ])('%s → %s', (_label, body, expected) => {
    expect(code(body)).toBe(expected);
  });

  it('measures the payload in UTF-8 bytes', () => {
    expect(code({ ...ok, data: 'é'.repeat(512) })).toBeUndefined();
    expect(code({ ...ok, data: 'é'.repeat(513) })).toBe('payload_too_large');
  });
});

describe('parseInfo', () => {
  it('accepts a comma list of allowed attributes', () => {
    expect(parseInfo('subscription_count, user_count', ['subscription_count', 'user_count'])).toEqual({
      ok: true,
      value: { subscriptionCount: true, userCount: true, cache: false },
    });
    expect(parseInfo('cache', ['subscription_count']).ok).toBe(false);
  });
});

describe('validateBatch', () => {
  it('returns every item when all are valid', () => {
    const r = validateBatch({ batch: [ok, { ...ok, channel: 'other' }] }, limits);
    expect(r.ok && r.value.map((e) => e.channels[0])).toEqual(['ch', 'other']);
  });

  it('reports every invalid item with its index (decision 13)', () => {
    const r = validateBatch(
      {
        batch: [
          { ...ok, channel: 'a b' },
          { name: 'e', data: 'x' },
        ],
      },
      limits,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.httpBody()).toMatchObject({ code: 'invalid_input', status: 400 });
    expect(r.items).toEqual([
      { index: 0, error: expect.stringContaining('invalid channel'), code: 'invalid_input' },
      { index: 1, error: 'channel or channels is required', code: 'missing_channel_info' },
    ]);
  });

  it('uses the shared status when every item fails the same way', () => {
    const r = validateBatch({ batch: [{ ...ok, data: 'x'.repeat(2000) }] }, limits);
    expect(!r.ok && r.error.httpStatus).toBe(413);
  });

  it('rejects a batch over the size limit and a malformed body', () => {
    const big = validateBatch({ batch: [ok, ok, ok] }, limits);
    expect(!big.ok && big.error.httpBody().code).toBe('limit_exceeded');
    expect(validateBatch({ events: [] }, limits).ok).toBe(false);
  });
});
