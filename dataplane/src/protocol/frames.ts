// Inbound frame decoding (the "receiver" of ws's lib/ layout). Pure: text in, a typed frame
// or a typed decode error out; nothing here throws for any input (STANDARDS F8).
//
// Wire rules (PROTOCOL.md 1.3, 2.2, 12):
// - a frame is a JSON object with a string `event`; `channel` is optional;
// - `data` may be an object or a JSON string of an object (both are accepted for the
//   `pusher:`/`sockudo:` protocol events); client events pass `data` through as sent;
// - protocol events are accepted with either the `pusher:` or the `sockudo:` prefix and
//   reduced to a canonical name (`subscribe`, `ping`, ...).

/** Canonical names of the protocol events a client may send. */
export const CLIENT_PROTOCOL_EVENTS = [
  'ping',
  'pong',
  'subscribe',
  'unsubscribe',
  'signin',
  'auth',
  'channel_history',
  'resume',
  'append',
] as const;
export type ClientProtocolEvent = (typeof CLIENT_PROTOCOL_EVENTS)[number];

export type InboundKind =
  /** `pusher:*` / `sockudo:*` event we understand. */
  | { type: 'protocol'; name: ClientProtocolEvent }
  /** `client-*` event for other subscribers of a private/presence channel. */
  | { type: 'client' }
  /** Anything else: ignored silently (PROTOCOL.md 1.4). */
  | { type: 'unknown' };

export interface InboundFrame {
  /** The event name exactly as sent. */
  readonly event: string;
  readonly kind: InboundKind;
  readonly channel: string | undefined;
  /** `data` as sent (string, object, ...); `undefined` when absent. */
  readonly data: unknown;
  /** V2 `extras` of a published event, when an object. */
  readonly extras: Record<string, unknown> | undefined;
  /** V2 client-supplied `message_id` of a published event, when a string. */
  readonly messageId: string | undefined;
}

export type DecodeResult = { ok: true; frame: InboundFrame } | { ok: false; reason: string };

const PROTOCOL_PREFIXES = ['pusher:', 'sockudo:'] as const;

export function classifyEvent(event: string): InboundKind {
  if (event.startsWith('client-')) return { type: 'client' };
  // The history request is also accepted without a prefix (PROTOCOL.md 6.3).
  if (event === 'channel_history') return { type: 'protocol', name: 'channel_history' };
  for (const prefix of PROTOCOL_PREFIXES) {
    if (event.startsWith(prefix)) {
      const name = event.slice(prefix.length);
      if ((CLIENT_PROTOCOL_EVENTS as readonly string[]).includes(name)) {
        return { type: 'protocol', name: name as ClientProtocolEvent };
      }
      return { type: 'unknown' };
    }
  }
  return { type: 'unknown' };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Decodes one inbound text frame. */
export function decodeFrame(text: string): DecodeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'malformed JSON' };
  }
  if (!isPlainObject(parsed)) return { ok: false, reason: 'frame is not a JSON object' };
  const event = parsed.event;
  if (typeof event !== 'string' || event.length === 0) return { ok: false, reason: 'missing event name' };
  const channel = parsed.channel;
  if (channel !== undefined && channel !== null && typeof channel !== 'string') {
    return { ok: false, reason: 'channel must be a string' };
  }
  const extras = parsed.extras;
  if (extras !== undefined && extras !== null && !isPlainObject(extras)) {
    return { ok: false, reason: 'extras must be an object' };
  }
  const messageId = parsed.message_id;
  if (messageId !== undefined && messageId !== null && typeof messageId !== 'string') {
    return { ok: false, reason: 'message_id must be a string' };
  }
  return {
    ok: true,
    frame: {
      event,
      kind: classifyEvent(event),
      channel: typeof channel === 'string' ? channel : undefined,
      data: parsed.data,
      extras: isPlainObject(extras) ? extras : undefined,
      messageId: typeof messageId === 'string' ? messageId : undefined,
    },
  };
}

export type DataObjectResult = { ok: true; data: Record<string, unknown> } | { ok: false; reason: string };

/**
 * The `data` of a protocol event as an object: accepts an object or a JSON string of one.
 * Absent data is an empty object (e.g. `pusher:ping` without data).
 */
export function dataObject(data: unknown): DataObjectResult {
  if (data === undefined || data === null) return { ok: true, data: {} };
  if (isPlainObject(data)) return { ok: true, data };
  if (typeof data === 'string') {
    if (data === '') return { ok: true, data: {} };
    try {
      const inner: unknown = JSON.parse(data);
      if (isPlainObject(inner)) return { ok: true, data: inner };
    } catch {
      return { ok: false, reason: 'data is not valid JSON' };
    }
  }
  return { ok: false, reason: 'data must be an object or a JSON string of an object' };
}

/** Reads an optional string field; a present non-string is an error. */
export function optionalString(obj: Record<string, unknown>, key: string): string | undefined | { error: string } {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  return { error: `${key} must be a string` };
}

/** A V2 subscribe `rewind`: the newest N messages, or the messages of the last N seconds. */
export type RewindRequest = { readonly count: number } | { readonly seconds: number };

/** Typed view of a subscribe request (V2 filters and modes are not implemented). */
export interface SubscribeRequest {
  channel: string;
  auth: string | undefined;
  channelData: string | undefined;
  rewind: RewindRequest | undefined;
}

const MAX_REWIND = 1_000_000;

/** Parses `rewind`: an integer, a numeric string, `{count}`, `{seconds}` or `{duration_seconds}`. */
export function parseRewind(
  v: unknown,
): { ok: true; rewind: RewindRequest | undefined } | { ok: false; reason: string } {
  if (v === undefined || v === null) return { ok: true, rewind: undefined };
  const int = (x: unknown): number | undefined => {
    const n = typeof x === 'string' && /^\d{1,7}$/.test(x) ? Number(x) : x;
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= MAX_REWIND ? n : undefined;
  };
  const direct = int(v);
  if (direct !== undefined) return { ok: true, rewind: { count: direct } };
  if (isPlainObject(v)) {
    if (v.count !== undefined) {
      const n = int(v.count);
      return n === undefined
        ? { ok: false, reason: 'rewind.count must be a non-negative integer' }
        : { ok: true, rewind: { count: n } };
    }
    const secs = v.seconds ?? v.duration_seconds;
    if (secs !== undefined) {
      const n = int(secs);
      return n === undefined
        ? { ok: false, reason: 'rewind.seconds must be a non-negative integer' }
        : { ok: true, rewind: { seconds: n } };
    }
  }
  return { ok: false, reason: 'rewind must be an integer, {count} or {seconds}' };
}

export function parseSubscribe(data: unknown): { ok: true; req: SubscribeRequest } | { ok: false; reason: string } {
  const d = dataObject(data);
  if (!d.ok) return d;
  const channel = d.data.channel;
  if (typeof channel !== 'string' || channel === '') return { ok: false, reason: 'channel is required' };
  const auth = optionalString(d.data, 'auth');
  if (typeof auth === 'object') return { ok: false, reason: auth.error };
  let channelData: string | undefined;
  const cd = d.data.channel_data;
  if (typeof cd === 'string') channelData = cd;
  else if (isPlainObject(cd)) channelData = JSON.stringify(cd);
  else if (cd !== undefined && cd !== null) return { ok: false, reason: 'channel_data must be a JSON string' };
  const rewind = parseRewind(d.data.rewind);
  if (!rewind.ok) return rewind;
  return { ok: true, req: { channel, auth, channelData, rewind: rewind.rewind } };
}

/** Byte size of an event's `data` as it would travel (strings as-is, values as JSON). */
export function dataByteLength(data: unknown): number {
  if (data === undefined) return 0;
  if (typeof data === 'string') return Buffer.byteLength(data);
  try {
    return Buffer.byteLength(JSON.stringify(data) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
