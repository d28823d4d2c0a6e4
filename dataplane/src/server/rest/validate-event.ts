// Validation of a REST publish (POST /events, and each item of /batch_events), PROTOCOL.md
// 9.1: pure functions from the parsed JSON body and the app's limits to a normalised event,
// or a catalogue error naming the first problem.

import { validateChannelName } from '../../channels/names.ts';
import type { AppLimits } from '../../config/schema.ts';
import { type AitError, aitError } from '../../protocol/errors.ts';
import { SOCKET_ID_PATTERN } from '../../protocol/ids.ts';

export interface InfoFlags {
  subscriptionCount: boolean;
  userCount: boolean;
  cache: boolean;
}

export interface ValidEvent {
  name: string;
  /** Wire data: a string as sent, or the JSON of an object/array/number/boolean/null. */
  data: string;
  /** Distinct channels, in request order. */
  channels: string[];
  socketId?: string;
  /** Present when the request asked for info (the response then carries per-channel counts). */
  info?: InfoFlags;
  messageId?: string;
  idempotencyKey?: string;
  extras?: Record<string, unknown>;
  tags?: Record<string, string>;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; error: AitError };

export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;
export const MAX_MESSAGE_ID_BYTES = 128;

const invalid = (reason: string): AitError => aitError('AIT_ERR_INVALID_INPUT', { reason });

/** `socket_id` as the server issues it: "<u64>.<u64>" in decimal (PROTOCOL.md 1.2). */
export function isSocketId(value: unknown): value is string {
  return typeof value === 'string' && SOCKET_ID_PATTERN.test(value);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const INFO_NAMES = {
  subscription_count: 'subscriptionCount',
  user_count: 'userCount',
  cache: 'cache',
} as const;

/** Parses an `info` list ("subscription_count,user_count") against the attributes a route allows. */
export function parseInfo(value: unknown, allowed: readonly (keyof typeof INFO_NAMES)[]): Validated<InfoFlags> {
  const flags: InfoFlags = { subscriptionCount: false, userCount: false, cache: false };
  if (value === undefined || value === null || value === '') return { ok: true, value: flags };
  if (typeof value !== 'string') return { ok: false, error: invalid('info must be a comma-separated string') };
  for (const raw of value.split(',')) {
    const attr = raw.trim();
    if (attr === '') continue;
    if (!(allowed as readonly string[]).includes(attr)) {
      return { ok: false, error: invalid(`unknown info attribute "${attr.slice(0, 40)}"; use ${allowed.join(', ')}`) };
    }
    flags[INFO_NAMES[attr as keyof typeof INFO_NAMES]] = true;
  }
  return { ok: true, value: flags };
}

/** A non-empty key of at most 128 characters (PROTOCOL.md 3.4.1). */
export function idempotencyKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'idempotency_key must be a non-empty string';
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    return `idempotency_key longer than ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`;
  }
  return undefined;
}

function validateChannels(body: Record<string, unknown>, limits: AppLimits): Validated<string[]> {
  const hasOne = body.channel !== undefined;
  const hasMany = body.channels !== undefined;
  if (!hasOne && !hasMany) {
    return {
      ok: false,
      error: aitError('AIT_ERR_MISSING_CHANNEL_INFO', { reason: 'channel or channels is required' }),
    };
  }
  if (hasOne && hasMany) return { ok: false, error: invalid('give either channel or channels, not both') };
  const list = hasOne ? [body.channel] : body.channels;
  if (!Array.isArray(list) || list.length === 0) {
    return { ok: false, error: invalid('channels must be a non-empty array of channel names') };
  }
  if (list.length > limits.maxEventChannelsAtOnce) {
    return {
      ok: false,
      error: aitError('AIT_ERR_LIMIT_EXCEEDED', {
        reason: `at most ${limits.maxEventChannelsAtOnce} channels per event (got ${list.length})`,
      }),
    };
  }
  for (const ch of list) {
    const check = validateChannelName(ch, limits.maxChannelNameLength);
    if (!check.ok)
      return {
        ok: false,
        error: invalid(`invalid channel ${JSON.stringify(String(ch).slice(0, 64))}: ${check.reason}`),
      };
  }
  return { ok: true, value: [...new Set(list as string[])] };
}

function validateExtras(extras: unknown): string | undefined {
  if (!isPlainObject(extras)) return 'extras must be an object';
  const headers = extras.headers;
  if (headers === undefined) return undefined;
  if (!isPlainObject(headers)) return 'extras.headers must be an object';
  for (const [k, v] of Object.entries(headers)) {
    if (v !== null && typeof v === 'object') return `extras.headers.${k.slice(0, 40)} must be a scalar`;
  }
  return undefined;
}

function validateTags(tags: unknown): string | undefined {
  if (!isPlainObject(tags)) return 'tags must be an object of strings';
  for (const [k, v] of Object.entries(tags)) {
    if (typeof v !== 'string') return `tags.${k.slice(0, 40)} must be a string`;
  }
  return undefined;
}

/** Validates one event body; the first problem wins. */
export function validateEvent(body: unknown, limits: AppLimits): Validated<ValidEvent> {
  if (!isPlainObject(body)) return { ok: false, error: invalid('event must be a JSON object') };
  const { name, data } = body;
  if (typeof name !== 'string' || name === '') return { ok: false, error: invalid('name must be a non-empty string') };
  if (Buffer.byteLength(name) > limits.maxEventNameLength) {
    return { ok: false, error: invalid(`event name longer than ${limits.maxEventNameLength} bytes`) };
  }
  const channels = validateChannels(body, limits);
  if (!channels.ok) return channels;
  if (data === undefined) return { ok: false, error: invalid('data is required') };
  const wire = typeof data === 'string' ? data : JSON.stringify(data);
  const maxBytes = limits.maxEventPayloadKb * 1024;
  if (Buffer.byteLength(wire) > maxBytes) {
    return {
      ok: false,
      error: aitError('AIT_ERR_PAYLOAD_TOO_LARGE', { reason: `event data exceeds ${limits.maxEventPayloadKb} KiB` }),
    };
  }
  const event: ValidEvent = { name, data: wire, channels: channels.value };
  if (body.socket_id !== undefined && body.socket_id !== null) {
    if (!isSocketId(body.socket_id)) return { ok: false, error: invalid('socket_id must look like "123.456"') };
    event.socketId = body.socket_id;
  }
  if (body.info !== undefined && body.info !== null && body.info !== '') {
    const info = parseInfo(body.info, ['subscription_count', 'user_count']);
    if (!info.ok) return info;
    event.info = info.value;
  }
  if (body.message_id !== undefined) {
    const id = body.message_id;
    if (typeof id !== 'string' || id === '' || Buffer.byteLength(id) > MAX_MESSAGE_ID_BYTES) {
      return { ok: false, error: invalid(`message_id must be a string of 1-${MAX_MESSAGE_ID_BYTES} bytes`) };
    }
    event.messageId = id;
  }
  if (body.idempotency_key !== undefined) {
    const problem = idempotencyKeyProblem(body.idempotency_key);
    if (problem) return { ok: false, error: invalid(problem) };
    event.idempotencyKey = body.idempotency_key as string;
  }
  if (body.extras !== undefined && body.extras !== null) {
    const problem = validateExtras(body.extras);
    if (problem) return { ok: false, error: invalid(problem) };
    event.extras = body.extras as Record<string, unknown>;
  }
  if (body.tags !== undefined && body.tags !== null) {
    const problem = validateTags(body.tags);
    if (problem) return { ok: false, error: invalid(problem) };
    event.tags = body.tags as Record<string, string>;
  }
  return { ok: true, value: event };
}

export interface BatchItemError {
  index: number;
  error: string;
  code: string;
}

/**
 * Validates a whole batch before anything is published (decision 13): either every item
 * is valid, or the per-item errors of every invalid one.
 */
export function validateBatch(
  body: unknown,
  limits: AppLimits,
): { ok: true; value: ValidEvent[] } | { ok: false; error: AitError; items?: BatchItemError[] } {
  if (!isPlainObject(body) || !Array.isArray(body.batch)) {
    return { ok: false, error: invalid('body must be {"batch":[...]}') };
  }
  const batch = body.batch;
  if (batch.length > limits.maxEventBatchSize) {
    return {
      ok: false,
      error: aitError('AIT_ERR_LIMIT_EXCEEDED', {
        reason: `at most ${limits.maxEventBatchSize} events per batch (got ${batch.length})`,
      }),
    };
  }
  const events: ValidEvent[] = [];
  const items: BatchItemError[] = [];
  batch.forEach((item, index) => {
    const r = validateEvent(item, limits);
    if (r.ok) events.push(r.value);
    else items.push({ index, error: r.error.message, code: r.error.httpBody().code });
  });
  if (items.length === 0) return { ok: true, value: events };
  const codes = new Set(items.map((i) => i.code));
  const reason = `${items.length} of ${batch.length} batch events are invalid; nothing was published`;
  const error =
    codes.size === 1 && codes.has('payload_too_large')
      ? aitError('AIT_ERR_PAYLOAD_TOO_LARGE', { reason })
      : codes.size === 1 && codes.has('limit_exceeded')
        ? aitError('AIT_ERR_LIMIT_EXCEEDED', { reason })
        : invalid(reason);
  return { ok: false, error, items };
}
