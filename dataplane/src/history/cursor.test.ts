import { describe, expect, it } from 'vitest';
import { checkCursor, decodeCursor, encodeCursor, MAX_CURSOR_BYTES, openCursor } from './cursor.ts';
import { HistoryError } from './types.ts';

const base = {
  appId: 'app-1',
  channel: 'private-ai-x',
  streamId: '6f1c0e56-1111-4222-8333-444455556666',
  serial: 42,
  direction: 'newest_first' as const,
  bounds: { startSerial: 10, endTimeMs: 1_700_000_000_000 },
};
const expectQ = { appId: 'app-1', channel: 'private-ai-x', direction: 'newest_first' as const, bounds: base.bounds };

function b64(obj: unknown): string {
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}
const wire = {
  version: 1,
  app_id: 'app-1',
  channel: 'private-ai-x',
  stream_id: base.streamId,
  serial: 42,
  direction: 'newest_first',
  bounds: { start_serial: 10, end_time_ms: 1_700_000_000_000 },
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof HistoryError ? e.code : `other:${(e as Error).name}`;
  }
  return undefined;
}

describe('history cursor', () => {
  it('round-trips as URL-safe base64 JSON without padding in the wire shape', () => {
    const token = encodeCursor(base);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(JSON.parse(Buffer.from(token, 'base64url').toString())).toEqual(wire);
    expect(decodeCursor(token)).toEqual({ version: 1, ...base });
    expect(openCursor(token, expectQ).serial).toBe(42);
  });

  it('accepts a cursor encoded by another implementation with keys in another order', () => {
    const { bounds, ...rest } = wire;
    expect(decodeCursor(b64({ bounds, ...rest })).serial).toBe(42);
  });

  it.each([
    ['empty', ''],
    ['not a string', 42],
    ['non-base64 characters', 'abc+/='],
    ['padding', `${b64(wire)}==`],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['JSON array', b64([1, 2])],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url')],
    ['wrong version', b64({ ...wire, version: 2 })],
    ['extra field', b64({ ...wire, admin: true })],
    ['missing field', b64({ ...wire, stream_id: undefined })],
    ['serial 0', b64({ ...wire, serial: 0 })],
    ['unsafe serial', b64({ ...wire, serial: 2 ** 53 })],
    ['string serial', b64({ ...wire, serial: '42' })],
    ['alias direction', b64({ ...wire, direction: 'backwards' })],
    ['unknown bound', b64({ ...wire, bounds: { start: 1 } })],
    ['negative bound', b64({ ...wire, bounds: { start_serial: -1 } })],
    ['inverted bounds', b64({ ...wire, bounds: { start_serial: 9, end_serial: 1 } })],
    ['oversized', 'A'.repeat(MAX_CURSOR_BYTES + 1)],
  ])('rejects %s as invalid_cursor', (_label, token) => {
    expect(codeOf(() => decodeCursor(token))).toBe('invalid_cursor');
  });

  it('rejects a tampered token', () => {
    const token = encodeCursor(base);
    const flipped = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    expect(['invalid_cursor', 'cursor_mismatch']).toContain(codeOf(() => openCursor(flipped, expectQ)));
  });

  it('checks app, channel, direction, bounds and the position against the request', () => {
    const c = decodeCursor(encodeCursor(base));
    expect(codeOf(() => checkCursor(c, { ...expectQ, appId: 'app-2' }))).toBe('cursor_mismatch');
    expect(codeOf(() => checkCursor(c, { ...expectQ, channel: 'private-ai-y' }))).toBe('cursor_mismatch');
    expect(codeOf(() => checkCursor(c, { ...expectQ, direction: 'oldest_first' }))).toBe('cursor_mismatch');
    expect(codeOf(() => checkCursor(c, { ...expectQ, bounds: {} }))).toBe('cursor_mismatch');
    expect(codeOf(() => checkCursor(c, { ...expectQ, bounds: { ...base.bounds, endSerial: 99 } }))).toBe(
      'cursor_mismatch',
    );
    expect(codeOf(() => checkCursor(c, expectQ))).toBeUndefined();
    const outside = decodeCursor(b64({ ...wire, serial: 5 }));
    expect(codeOf(() => checkCursor(outside, expectQ))).toBe('cursor_mismatch');
  });

  it('refuses to encode invalid or oversized cursors', () => {
    expect(codeOf(() => encodeCursor({ ...base, serial: 0 }))).toBe('other:TypeError');
    expect(codeOf(() => encodeCursor({ ...base, channel: 'x'.repeat(13_000) }))).toBe('other:TypeError');
  });
});
