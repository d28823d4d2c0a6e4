// The versioned-message model (PROTOCOL.md 4): one logical message (message_serial) has a chain
// of versions; the latest version (max version_serial) carries the aggregate name/data/extras.
// Pure types and helpers; no store, no clock.
import { createHash } from 'node:crypto';
import { utf8Bytes } from './serials.ts';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [k: string]: JsonValue };

/** Message payload: a string (HTTP object data is stringified before it gets here) or JSON. */
export type MessageData = JsonValue;

/**
 * `extras` as stored: camelCase keys (`headers`, `ai`, `ephemeral`, `idempotencyKey`, ...), opaque
 * keys kept. Stored extras never carry runtime `sockudo_*` headers: frames add fresh ones
 * (decision 14), see `stripRuntimeHeaders`.
 */
export type Extras = Readonly<Record<string, unknown>>;

export const MESSAGE_ACTIONS = ['create', 'update', 'delete', 'append', 'summary'] as const;
export type MessageAction = (typeof MESSAGE_ACTIONS)[number];
/** The actions that go through `applyMutation` (summary belongs to annotations). */
export type CommitAction = Exclude<MessageAction, 'summary'>;
export type MutationAction = Exclude<CommitAction, 'create'>;

/** `message.<action>`: the operation string of runtime headers and V2 event suffixes (4.1). */
export function operationOf(action: MessageAction): `message.${MessageAction}` {
  return `message.${action}`;
}

export function parseOperation(op: unknown): MessageAction | undefined {
  if (typeof op !== 'string' || !op.startsWith('message.')) return undefined;
  const a = op.slice('message.'.length);
  return (MESSAGE_ACTIONS as readonly string[]).includes(a) ? (a as MessageAction) : undefined;
}

/**
 * One stored version. `name`, `data` and `extras` are the aggregate as of this version (what GET
 * latest and history return); `fragment` is the appended text of an append version (what GET
 * versions returns). A store may keep only the fragment of append versions and rebuild the
 * aggregate by replay.
 */
export interface VersionRecord {
  readonly action: CommitAction;
  readonly message_serial: string;
  readonly version_serial: string;
  /** The history serial of the original create (3.3). */
  readonly history_serial: number;
  /** The per-channel delivery position of this version: the wire `serial`. */
  readonly delivery_serial: number;
  /** i64 ms since the epoch, an integer. */
  readonly timestamp_ms: number;
  readonly name?: string;
  readonly data?: MessageData;
  readonly extras?: Extras;
  /** The actor of this version (the publisher for a create). */
  readonly client_id?: string;
  readonly description?: string;
  readonly metadata?: JsonValue;
  readonly op_id?: string;
  /** sha256 of the canonical mutation payload; stored with op_id for duplicate detection. */
  readonly op_fingerprint?: string;
  /** The create's message_id, carried by every version (mutation frames reuse it). */
  readonly message_id?: string;
  /** Appends only: the appended text. */
  readonly fragment?: string;
}

/** The latest state of one logical message, plus what the limits need. */
export interface Aggregate {
  /** The latest version, holding the aggregate name/data/extras. */
  readonly latest: VersionRecord;
  /** The create's client id: the owner for `message_<op>_own` authorization. */
  readonly creator_client_id?: string;
  /** Appends committed so far (for max_appends_per_message). */
  readonly append_count: number;
  /** UTF-8 bytes of the aggregate data (for max_accumulated_message_bytes). */
  readonly data_bytes: number;
}

/** What an op_id maps to, stored by the store under `opKey(...)`. */
export interface OpReceipt {
  readonly fingerprint: string;
  readonly action: MutationAction;
  readonly message_serial: string;
  readonly version_serial: string;
  readonly history_serial: number;
  readonly delivery_serial: number;
}

/** Store key of an op_id receipt: unique per (message_serial, action, op_id) (3.4 layer 3). */
export function opKey(messageSerial: string, action: MutationAction, opId: string): string {
  return `${messageSerial}\u0000${action}\u0000${opId}`;
}

/** UTF-8 bytes of message data: strings as-is, JSON values as their JSON text. */
export function dataBytes(data: MessageData | undefined): number {
  if (data === undefined || data === null) return 0;
  return utf8Bytes(typeof data === 'string' ? data : JSON.stringify(data));
}

/** JSON with object keys sorted at every level: a stable text for fingerprints. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Runtime headers (3.2)

/** Prefix of the server's runtime headers inside `extras.headers`. */
export const RUNTIME_HEADER_PREFIX = 'sockudo_';
/** Internal header; removed before egress. */
export const APPEND_FRAGMENT_HEADER = 'sockudo_append_fragment';

function isObjectLike(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Removes `sockudo_*` keys from `extras.headers` (and `headers` itself when it ends up empty), so
 * stored extras never hold stale runtime headers and a publisher cannot forge them.
 */
export function stripRuntimeHeaders(extras: Extras | undefined): Extras | undefined {
  if (extras === undefined) return undefined;
  const headers = extras['headers'];
  if (!isObjectLike(headers)) return extras;
  const keys = Object.keys(headers);
  if (!keys.some((k) => k.startsWith(RUNTIME_HEADER_PREFIX))) return extras;
  const kept: Record<string, unknown> = {};
  for (const k of keys) if (!k.startsWith(RUNTIME_HEADER_PREFIX)) kept[k] = headers[k];
  const out: Record<string, unknown> = { ...extras };
  if (Object.keys(kept).length > 0) out['headers'] = kept;
  else delete out['headers'];
  return out;
}
