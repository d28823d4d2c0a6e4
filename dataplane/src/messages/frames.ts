// Pure builders of what versioned messages look like on the wire (PROTOCOL.md 4.4, 4.6, 9.3):
// live V2 frames (create keeps its event name; mutations are `sockudo:message.<action>`), the
// read shape `VersionedRealtimeMessage`, the mutation projection of GET versions, and the
// mutation response. Runtime headers are always built fresh from the version they describe
// (decision 14); internal fields never leave (3.1, 3.2).

import {
  type Aggregate,
  APPEND_FRAGMENT_HEADER,
  type CommitAction,
  type JsonValue,
  type MessageData,
  operationOf,
  stripRuntimeHeaders,
  type VersionRecord,
} from './model.ts';
import type { MutationReceipt } from './mutations.ts';
import { assertCounter } from './serials.ts';

/** Per-connection delivery mode of appends (decision 2: `delta` is the default). */
export type AppendMode = 'delta' | 'full';
export const DEFAULT_APPEND_MODE: AppendMode = 'delta';

export interface FrameContext {
  readonly channel: string;
  /** The channel's version-store stream id (an opaque continuity token). */
  readonly stream_id: string;
}

/** A V2 broadcast frame (3.1); keys are omitted when unset. */
export interface V2Frame {
  event: string;
  channel: string;
  data?: MessageData;
  name?: string;
  user_id?: string;
  message_id?: string;
  stream_id?: string;
  serial?: number;
  extras?: Record<string, unknown>;
  /** Internal only; `stripInternal` removes it before egress. */
  idempotency_key?: string;
}

export interface RuntimeHeaders {
  readonly sockudo_action: `message.${CommitAction}`;
  readonly sockudo_message_serial: string;
  readonly sockudo_version_serial: string;
  /** An integer (decision 10), never `1.7e12` or `….0`. */
  readonly sockudo_version_timestamp_ms: number;
  readonly sockudo_history_serial: number;
}

/** The runtime headers of one version (3.2). */
export function runtimeHeaders(record: VersionRecord): RuntimeHeaders {
  if (!Number.isSafeInteger(record.timestamp_ms)) {
    throw new RangeError(`timestamp_ms must be a safe integer, got ${String(record.timestamp_ms)}`);
  }
  return {
    sockudo_action: operationOf(record.action) as `message.${CommitAction}`,
    sockudo_message_serial: record.message_serial,
    sockudo_version_serial: record.version_serial,
    sockudo_version_timestamp_ms: record.timestamp_ms,
    sockudo_history_serial: assertCounter('history_serial', record.history_serial),
  };
}

const INTERNAL_EXTRAS_KEYS = ['idempotency_key', 'idempotencyKey'] as const;

function isObjectLike(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The egress `extras` of a version: its stored extras without internal keys (idempotency keys)
 * or stale runtime headers, plus fresh runtime headers merged over the user's own headers.
 */
export function egressExtras(record: VersionRecord): Record<string, unknown> {
  const stored = stripRuntimeHeaders(record.extras) ?? {};
  const userHeaders = isObjectLike(stored['headers']) ? stored['headers'] : {};
  const out: Record<string, unknown> = { headers: { ...userHeaders, ...runtimeHeaders(record) } };
  for (const [k, v] of Object.entries(stored)) {
    if (k === 'headers' || (INTERNAL_EXTRAS_KEYS as readonly string[]).includes(k)) continue;
    out[k] = v;
  }
  return out;
}

function base(ctx: FrameContext, event: string): V2Frame {
  return { event, channel: ctx.channel };
}

function finish(frame: V2Frame, ctx: FrameContext, record: VersionRecord): V2Frame {
  if (record.message_id !== undefined) frame.message_id = record.message_id;
  frame.stream_id = ctx.stream_id;
  frame.serial = assertCounter('delivery_serial', record.delivery_serial);
  if (record.client_id !== undefined) frame.user_id = record.client_id;
  frame.extras = egressExtras(record);
  return frame;
}

/** The live frame of a create: its original event name and `message.create` headers (4.4). */
export function buildCreateFrame(ctx: FrameContext, record: VersionRecord): V2Frame {
  if (record.action !== 'create') throw new TypeError(`not a create: ${record.action}`);
  const frame = base(ctx, record.name ?? '');
  if (record.data !== undefined) frame.data = record.data;
  return finish(frame, ctx, record);
}

/**
 * The live frame of an append, update or delete (4.4). Update and delete carry the aggregate
 * data. An append carries, in `delta` mode, `fragment` (default: the version's own fragment;
 * the rollup passes the concatenation of the appends it coalesced) and in `full` mode the
 * aggregate.
 */
export function buildMutationFrame(
  ctx: FrameContext,
  record: VersionRecord,
  mode: AppendMode,
  fragment: string | undefined = record.fragment,
): V2Frame {
  if (record.action === 'create') throw new TypeError('a create is not a mutation');
  const frame = base(ctx, `sockudo:${operationOf(record.action)}`);
  if (record.action === 'append' && mode === 'delta') frame.data = fragment ?? '';
  else if (record.data !== undefined) frame.data = record.data;
  if (record.name !== undefined) frame.name = record.name;
  return finish(frame, ctx, record);
}

/** Either builder, by the version's action. */
export function buildLiveFrame(ctx: FrameContext, record: VersionRecord, mode: AppendMode, fragment?: string): V2Frame {
  return record.action === 'create' ? buildCreateFrame(ctx, record) : buildMutationFrame(ctx, record, mode, fragment);
}

/** Removes what must never reach a WebSocket client: top-level and extras idempotency keys and
 * the internal `sockudo_append_fragment` header. Returns a new frame when something changed. */
export function stripInternal<F extends V2Frame>(frame: F): F {
  let out = frame;
  if ('idempotency_key' in out) {
    const { idempotency_key: _drop, ...rest } = out;
    out = rest as F;
  }
  const extras = out.extras;
  if (extras) {
    let e = extras;
    for (const k of INTERNAL_EXTRAS_KEYS) {
      if (k in e) {
        const { [k]: _drop, ...rest } = e;
        e = rest;
      }
    }
    const headers = e['headers'];
    if (isObjectLike(headers) && APPEND_FRAGMENT_HEADER in headers) {
      const { [APPEND_FRAGMENT_HEADER]: _drop, ...rest } = headers;
      e = { ...e, headers: rest };
    }
    if (e !== extras) out = { ...out, extras: e };
  }
  return out;
}

/**
 * The protocol-7 view of a live frame (4.4, 12): creates become plain Pusher events without
 * serial, message_id, stream_id, tags or extras; mutations are not delivered (undefined).
 */
export function toV1Frame(frame: V2Frame): { event: string; channel: string; data?: MessageData } | undefined {
  if (frame.event.startsWith('sockudo:message.')) return undefined;
  const out: { event: string; channel: string; data?: MessageData } = { event: frame.event, channel: frame.channel };
  if (frame.data !== undefined) out.data = frame.data;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Read shapes (4.6)

export interface VersionInfo {
  serial: string;
  client_id?: string;
  timestamp_ms: number;
  description?: string;
  metadata?: JsonValue;
}

export interface VersionedRealtimeMessage extends V2Frame {
  action: CommitAction;
  message_serial: string;
  history_serial: number;
  delivery_serial: number;
  version: VersionInfo;
}

function readShape(ctx: FrameContext, record: VersionRecord, data: MessageData | undefined): VersionedRealtimeMessage {
  const frame = base(ctx, `sockudo:${operationOf(record.action)}`);
  if (data !== undefined) frame.data = data;
  if (record.name !== undefined) frame.name = record.name;
  finish(frame, ctx, record);
  const version: VersionInfo = { serial: record.version_serial, timestamp_ms: record.timestamp_ms };
  if (record.client_id !== undefined) version.client_id = record.client_id;
  if (record.description !== undefined) version.description = record.description;
  if (record.metadata !== undefined) version.metadata = record.metadata;
  return {
    ...frame,
    action: record.action,
    message_serial: record.message_serial,
    history_serial: record.history_serial,
    delivery_serial: record.delivery_serial,
    version,
  };
}

/** GET latest, history substitution and recovery: the aggregate with fresh headers (decision 14). */
export function toVersionedRealtimeMessage(ctx: FrameContext, aggregate: Aggregate): VersionedRealtimeMessage {
  return readShape(ctx, aggregate.latest, aggregate.latest.data);
}

/** GET versions: each version as its mutation, so an append's `data` is its fragment (4.6). */
export function toMutationProjection(ctx: FrameContext, record: VersionRecord): VersionedRealtimeMessage {
  return readShape(ctx, record, record.action === 'append' ? (record.fragment ?? '') : record.data);
}

/** The body of a mutation response (9.3). */
export function mutationResponseBody(
  channel: string,
  receipt: MutationReceipt,
  status: 'applied' | 'duplicate',
): {
  channel: string;
  message_serial: string;
  action: MutationReceipt['action'];
  accepted: true;
  version_serial: string;
  history_serial: number;
  delivery_serial: number;
  status: 'applied' | 'duplicate';
} {
  return {
    channel,
    message_serial: receipt.message_serial,
    action: receipt.action,
    accepted: true,
    version_serial: receipt.version_serial,
    history_serial: receipt.history_serial,
    delivery_serial: receipt.delivery_serial,
    status,
  };
}
