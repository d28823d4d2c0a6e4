// History page cursors (PROTOCOL.md 6.2): URL-safe base64 without padding of the JSON
// `{version:1, app_id, channel, stream_id, serial, direction, bounds}`, at most 16 KiB.
//
// `serial` is the next history serial the following page starts at (inclusive). A cursor is
// only valid for the app, channel, direction and bounds it was issued for; the store also
// checks its stream_id against the current epoch (a reset makes old cursors fail). Cursors are
// not signed: within its own app a client gains nothing from forging one that it could not
// ask for with start_serial/end_serial, and the app check keeps tenants apart (I1).
// Pure: no I/O, no clock.
import { isCounter } from '../messages/serials.ts';
import {
  type HistoryBounds,
  type HistoryDirection,
  HistoryError,
  normalizeBounds,
  normalizeDirection,
  type Serial,
} from './types.ts';

export const CURSOR_VERSION = 1;
/** Largest accepted or issued cursor token, in bytes (characters: the alphabet is ASCII). */
export const MAX_CURSOR_BYTES = 16 * 1024;

/** The decoded cursor, with camelCase bounds in canonical form. */
export interface HistoryCursor {
  readonly version: typeof CURSOR_VERSION;
  readonly appId: string;
  readonly channel: string;
  readonly streamId: string;
  readonly serial: Serial;
  readonly direction: HistoryDirection;
  readonly bounds: HistoryBounds;
}

/** What a cursor must match when it is used. */
export interface CursorExpectation {
  readonly appId: string;
  readonly channel: string;
  readonly direction: HistoryDirection;
  readonly bounds: HistoryBounds;
}

const BASE64URL_RE = /^[A-Za-z0-9_-]+$/;
const TOP_KEYS = ['app_id', 'bounds', 'channel', 'direction', 'serial', 'stream_id', 'version'];
const BOUND_KEYS: Readonly<Record<string, keyof HistoryBounds>> = {
  start_serial: 'startSerial',
  end_serial: 'endSerial',
  start_time_ms: 'startTimeMs',
  end_time_ms: 'endTimeMs',
};

function boundsToWire(b: HistoryBounds): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [wire, key] of Object.entries(BOUND_KEYS)) {
    const v = b[key];
    if (v !== undefined) out[wire] = v;
  }
  return out;
}

/** Encodes a cursor. Throws a TypeError for invalid fields or when the token would exceed 16 KiB. */
export function encodeCursor(c: Omit<HistoryCursor, 'version'>): string {
  if (!isCounter(c.serial) || c.serial < 1) throw new TypeError('cursor serial must be a positive safe integer');
  if (normalizeDirection(c.direction) !== c.direction) throw new TypeError('cursor direction must be canonical');
  const json = JSON.stringify({
    version: CURSOR_VERSION,
    app_id: c.appId,
    channel: c.channel,
    stream_id: c.streamId,
    serial: c.serial,
    direction: c.direction,
    bounds: boundsToWire(normalizeBounds(c.bounds)),
  });
  const token = Buffer.from(json, 'utf8').toString('base64url');
  if (token.length > MAX_CURSOR_BYTES) throw new TypeError('cursor exceeds 16 KiB');
  return token;
}

function bad(message: string): HistoryError {
  return new HistoryError('invalid_cursor', `invalid cursor: ${message}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max;
}

/** Decodes a cursor token; throws HistoryError `invalid_cursor` for anything this server did not issue. */
export function decodeCursor(token: unknown): HistoryCursor {
  if (typeof token !== 'string' || token.length === 0) throw bad('not a string');
  if (token.length > MAX_CURSOR_BYTES) throw bad('too large');
  if (!BASE64URL_RE.test(token)) throw bad('not URL-safe base64');
  const bytes = Buffer.from(token, 'base64url');
  // Round-trip check: rejects trailing bits and other non-canonical encodings.
  if (bytes.toString('base64url') !== token) throw bad('not canonical base64');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw bad('not JSON');
  }
  if (!isPlainObject(parsed)) throw bad('not an object');
  const keys = Object.keys(parsed).sort();
  if (keys.length !== TOP_KEYS.length || keys.some((k, i) => k !== TOP_KEYS[i])) throw bad('unexpected fields');
  if (parsed['version'] !== CURSOR_VERSION) throw bad('unsupported version');
  const appId = parsed['app_id'];
  const channel = parsed['channel'];
  const streamId = parsed['stream_id'];
  const serial = parsed['serial'];
  if (!nonEmptyString(appId, 256)) throw bad('app_id');
  if (!nonEmptyString(channel, 1024)) throw bad('channel');
  if (!nonEmptyString(streamId, 128)) throw bad('stream_id');
  if (!isCounter(serial) || serial < 1) throw bad('serial');
  const direction = parsed['direction'];
  if (direction !== 'newest_first' && direction !== 'oldest_first') throw bad('direction');
  const rawBounds = parsed['bounds'];
  if (!isPlainObject(rawBounds)) throw bad('bounds');
  const b: { startSerial?: number; endSerial?: number; startTimeMs?: number; endTimeMs?: number } = {};
  for (const [k, v] of Object.entries(rawBounds)) {
    const key = Object.hasOwn(BOUND_KEYS, k) ? BOUND_KEYS[k] : undefined;
    if (key === undefined || !isCounter(v)) throw bad('bounds');
    b[key] = v;
  }
  let bounds: HistoryBounds;
  try {
    bounds = normalizeBounds(b);
  } catch {
    throw bad('bounds');
  }
  return { version: CURSOR_VERSION, appId, channel, streamId, serial, direction, bounds };
}

function sameBounds(a: HistoryBounds, b: HistoryBounds): boolean {
  return (
    a.startSerial === b.startSerial &&
    a.endSerial === b.endSerial &&
    a.startTimeMs === b.startTimeMs &&
    a.endTimeMs === b.endTimeMs
  );
}

/**
 * Checks a decoded cursor against the request it is used with. Throws HistoryError
 * `cursor_mismatch` when the app, channel, direction or bounds differ, or when its serial lies
 * outside the serial bounds.
 */
export function checkCursor(c: HistoryCursor, expect: CursorExpectation): void {
  if (c.appId !== expect.appId) throw new HistoryError('cursor_mismatch', 'cursor belongs to another app');
  if (c.channel !== expect.channel) throw new HistoryError('cursor_mismatch', 'cursor belongs to another channel');
  if (c.direction !== expect.direction) {
    throw new HistoryError('cursor_mismatch', 'cursor was issued for the other direction');
  }
  if (!sameBounds(c.bounds, normalizeBounds(expect.bounds))) {
    throw new HistoryError('cursor_mismatch', 'cursor was issued for other bounds');
  }
  const { startSerial, endSerial } = c.bounds;
  if ((startSerial !== undefined && c.serial < startSerial) || (endSerial !== undefined && c.serial > endSerial)) {
    throw new HistoryError('cursor_mismatch', 'cursor position lies outside its bounds');
  }
}

/** Decodes and checks in one step (what a store's `read` does with `query.cursor`). */
export function openCursor(token: unknown, expect: CursorExpectation): HistoryCursor {
  const c = decodeCursor(token);
  checkCursor(c, expect);
  return c;
}
