// The mutation rules of versioned messages (PROTOCOL.md 4.3), as one pure function:
//   applyMutation(latest, mutation, limits, commit) → applied | duplicate | error
// The store supplies what must come from it atomically (STANDARDS C1): the commit's serials and
// timestamp, and the op_id receipt found under `opKey(...)`. It then writes `next` with a
// compare-and-swap on `latest`, and on a CAS conflict re-reads and calls this again.
import { hasTerminalStatus, isStreaming, isTerminalTransport } from '../ai/validate.ts';
import { type AitError, aitError, type ErrorCode } from '../protocol/errors.ts';
import {
  type Aggregate,
  canonicalJson,
  dataBytes,
  type Extras,
  type JsonValue,
  type MessageData,
  type MutationAction,
  type OpReceipt,
  sha256Hex,
  stripRuntimeHeaders,
  type VersionRecord,
} from './model.ts';
import { isCounter, serialProblem, utf8Bytes } from './serials.ts';

// ---------------------------------------------------------------------------------------------
// Inputs

export const CLEAR_FIELDS = ['name', 'data', 'extras'] as const;
export type ClearField = (typeof CLEAR_FIELDS)[number];

/** A create: any non-ephemeral publish on a versioned channel (4.2). */
export interface CreateInput {
  readonly action: 'create';
  /** The event name (e.g. `ai-output`); the create frame keeps it as `event`. */
  readonly name: string;
  readonly data?: MessageData | undefined;
  readonly extras?: Extras | undefined;
  readonly client_id?: string | undefined;
  readonly message_id?: string | undefined;
  /** From the history store's position reservation (3.3). */
  readonly history_serial: number;
}

interface MutationCommon {
  /** The actor's client id (verified by the caller; 4.2). */
  readonly client_id?: string | undefined;
  readonly description?: string | undefined;
  readonly metadata?: JsonValue | undefined;
  /** 1..64 bytes; a retry with the same op_id and payload is a duplicate (3.4 layer 3). */
  readonly op_id?: string | undefined;
}

/** `undefined` and `null` both mean "keep" for name/data/extras (as the source deserializes them). */
export interface UpdateInput extends MutationCommon {
  readonly action: 'update';
  readonly name?: string | null | undefined;
  readonly data?: MessageData | undefined;
  readonly extras?: Extras | null | undefined;
  readonly clear_fields?: readonly ClearField[] | undefined;
}

export interface DeleteInput extends MutationCommon {
  readonly action: 'delete';
  readonly data?: MessageData | undefined;
  readonly extras?: Extras | null | undefined;
  readonly clear_fields?: readonly ClearField[] | undefined;
}

export interface AppendInput extends MutationCommon {
  readonly action: 'append';
  /** The fragment to append; required, a string. */
  readonly data: string;
  /** When present, replaces the aggregate extras; otherwise they are kept. */
  readonly extras?: Extras | null | undefined;
}

export type MutationInput = UpdateInput | DeleteInput | AppendInput;
export type CommitInput = CreateInput | MutationInput;

/** Per-channel limits; an absent field is no limit. AI channels use `AI_CHANNEL_LIMITS`. */
export interface VersionedLimits {
  readonly maxAccumulatedMessageBytes?: number | undefined;
  readonly maxAppendsPerMessage?: number | undefined;
  /** Checked by the caller with `checkOpenStreams` (it needs a channel-wide count). */
  readonly maxOpenStreamingMessagesPerChannel?: number | undefined;
  /** "cannot append to a terminal message"; on for AI channels. */
  readonly rejectAppendAfterTerminal?: boolean | undefined;
}

export const AI_CHANNEL_LIMITS: VersionedLimits = Object.freeze({
  maxAccumulatedMessageBytes: 1024 * 1024,
  maxAppendsPerMessage: 4096,
  maxOpenStreamingMessagesPerChannel: 1024,
  rejectAppendAfterTerminal: true,
});

export const NO_LIMITS: VersionedLimits = Object.freeze({});

/** What the store decided atomically for this commit. */
export interface CommitContext {
  readonly version_serial: string;
  readonly delivery_serial: number;
  readonly timestamp_ms: number;
  /** The receipt stored under `opKey(message_serial, action, op_id)`, when the input has an op_id
   * and one exists. */
  readonly prior_op?: OpReceipt | undefined;
}

// ---------------------------------------------------------------------------------------------
// Results

export type MutationErrorReason =
  | 'invalid_field'
  | 'replace_and_clear'
  | 'empty_update'
  | 'data_not_string'
  | 'aggregate_not_string'
  | 'empty_append'
  | 'terminal_message'
  | 'accumulated_bytes'
  | 'append_count'
  | 'open_streams'
  | 'op_id_conflict'
  | 'not_found'
  | 'already_exists'
  | 'stale_version';

const REASON_CODES: Record<MutationErrorReason, ErrorCode> = {
  invalid_field: 'AIT_ERR_INVALID_INPUT',
  replace_and_clear: 'AIT_ERR_INVALID_INPUT',
  empty_update: 'AIT_ERR_INVALID_INPUT',
  data_not_string: 'AIT_ERR_INVALID_INPUT',
  aggregate_not_string: 'AIT_ERR_INVALID_INPUT',
  empty_append: 'AIT_ERR_INVALID_INPUT',
  terminal_message: 'AIT_ERR_INVALID_INPUT',
  accumulated_bytes: 'AIT_ERR_PAYLOAD_TOO_LARGE',
  append_count: 'AIT_ERR_PAYLOAD_TOO_LARGE',
  open_streams: 'AIT_ERR_PAYLOAD_TOO_LARGE',
  op_id_conflict: 'AIT_ERR_INVALID_INPUT',
  not_found: 'AIT_ERR_NOT_FOUND',
  // A serial collision or a lost compare-and-swap: the store retries; when it gives up the
  // client gets a retryable 503.
  already_exists: 'AIT_ERR_UNAVAILABLE',
  stale_version: 'AIT_ERR_UNAVAILABLE',
};

export interface MutationError {
  readonly reason: MutationErrorReason;
  /** The protocol/errors.ts catalogue entry. */
  readonly code: ErrorCode;
  /** Client-safe message. */
  readonly message: string;
  readonly limit?: number;
  /** The store should re-read and retry (stale_version, already_exists). */
  readonly retryable: boolean;
}

export interface MutationReceipt {
  readonly message_serial: string;
  readonly action: 'create' | MutationAction;
  readonly version_serial: string;
  readonly history_serial: number;
  readonly delivery_serial: number;
}

export type MutationResult =
  | {
      readonly ok: true;
      readonly status: 'applied';
      readonly next: Aggregate;
      readonly record: VersionRecord;
      readonly receipt: MutationReceipt;
    }
  /** Same op_id and payload as an earlier commit: nothing to write, no fanout (3.4). */
  | { readonly ok: true; readonly status: 'duplicate'; readonly next: Aggregate; readonly receipt: MutationReceipt }
  | { readonly ok: false; readonly error: MutationError };

function fail(reason: MutationErrorReason, message: string, limit?: number): { ok: false; error: MutationError } {
  const error: { reason: MutationErrorReason; code: ErrorCode; message: string; limit?: number; retryable: boolean } = {
    reason,
    code: REASON_CODES[reason],
    message,
    retryable: reason === 'stale_version' || reason === 'already_exists',
  };
  if (limit !== undefined) error.limit = limit;
  return { ok: false, error };
}

/** The catalogue error for a mutation failure. */
export function mutationErrorToAitError(e: MutationError, channel?: string): AitError {
  return aitError(
    e.code,
    { reason: e.message },
    { ...(channel === undefined ? {} : { channel }), ...(e.retryable ? { retryAfterSeconds: 1 } : {}) },
  );
}

// ---------------------------------------------------------------------------------------------
// Helpers

const MAX_OP_ID_BYTES = 64;

function present<T>(v: T | null | undefined): v is T {
  return v !== undefined && v !== null;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Drops keys whose value is undefined, so records compare and serialize cleanly. */
function compact<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

function receiptOf(r: VersionRecord): MutationReceipt {
  return {
    message_serial: r.message_serial,
    action: r.action,
    version_serial: r.version_serial,
    history_serial: r.history_serial,
    delivery_serial: r.delivery_serial,
  };
}

/**
 * sha256 of the canonical payload of a mutation: what must match for an op_id retry to be a
 * duplicate rather than a conflict.
 */
export function fingerprintMutation(m: MutationInput): string {
  const clear = 'clear_fields' in m && m.clear_fields ? [...new Set(m.clear_fields)].sort() : undefined;
  return sha256Hex(
    canonicalJson({
      action: m.action,
      name: 'name' in m ? (m.name ?? undefined) : undefined,
      data: m.data ?? undefined,
      extras: m.extras ?? undefined,
      clear_fields: clear,
      client_id: m.client_id,
      description: m.description,
      metadata: m.metadata,
    }),
  );
}

function validateCommon(m: MutationInput): { ok: false; error: MutationError } | undefined {
  if (m.op_id !== undefined) {
    if (typeof m.op_id !== 'string' || m.op_id.length === 0 || utf8Bytes(m.op_id) > MAX_OP_ID_BYTES) {
      return fail('invalid_field', `op_id must be 1..${MAX_OP_ID_BYTES} bytes`);
    }
  }
  if (m.client_id !== undefined && typeof m.client_id !== 'string') {
    return fail('invalid_field', 'client_id must be a string');
  }
  if (m.description !== undefined && typeof m.description !== 'string') {
    return fail('invalid_field', 'description must be a string');
  }
  if (present(m.extras) && !isPlainObject(m.extras)) return fail('invalid_field', 'extras must be an object');
  return undefined;
}

function validatePatch(m: UpdateInput | DeleteInput): { ok: false; error: MutationError } | undefined {
  const clear = m.clear_fields;
  if (clear !== undefined) {
    if (!Array.isArray(clear)) return fail('invalid_field', 'clear_fields must be an array');
    for (const raw of clear as readonly unknown[]) {
      if (!(CLEAR_FIELDS as readonly unknown[]).includes(raw)) {
        return fail('invalid_field', `clear_fields: unknown field ${JSON.stringify(raw)}`);
      }
      const f = raw as ClearField;
      const replaced = f === 'name' ? m.action === 'update' && present(m.name) : present(m[f]);
      if (replaced) return fail('replace_and_clear', `field ${f} cannot be both replaced and cleared`);
    }
  }
  if (m.action === 'update') {
    if (present(m.name) && typeof m.name !== 'string') return fail('invalid_field', 'name must be a string');
    const any =
      present(m.name) ||
      present(m.data) ||
      present(m.extras) ||
      (clear !== undefined && clear.length > 0) ||
      m.client_id !== undefined ||
      m.description !== undefined ||
      m.metadata !== undefined ||
      m.op_id !== undefined;
    if (!any) {
      return fail(
        'empty_update',
        'update requires at least one of name, data, extras, clear_fields, client_id, description, metadata, op_id',
      );
    }
  }
  return undefined;
}

function checkSuccessor(prev: VersionRecord, commit: CommitContext): { ok: false; error: MutationError } | undefined {
  assertCommit(commit);
  if (commit.version_serial <= prev.version_serial) {
    return fail('stale_version', 'version_serial must be greater than the latest version');
  }
  if (commit.delivery_serial <= prev.delivery_serial) {
    return fail('stale_version', 'delivery_serial must be greater than the latest version');
  }
  return undefined;
}

/** The commit context is produced by the server; a malformed one is a bug, not a client error. */
function assertCommit(commit: CommitContext): void {
  const p = serialProblem('version_serial', commit.version_serial);
  if (p) throw new TypeError(p);
  if (!isCounter(commit.delivery_serial) || commit.delivery_serial < 1) {
    throw new TypeError(`delivery_serial must be an integer in 1..2^53-1, got ${String(commit.delivery_serial)}`);
  }
  if (!Number.isSafeInteger(commit.timestamp_ms)) {
    throw new TypeError(`timestamp_ms must be a safe integer, got ${String(commit.timestamp_ms)}`);
  }
}

function checkBytes(bytes: number, limits: VersionedLimits): { ok: false; error: MutationError } | undefined {
  const max = limits.maxAccumulatedMessageBytes;
  if (max !== undefined && bytes > max) {
    return fail('accumulated_bytes', `accumulated message content exceeds ${max} bytes`, max);
  }
  return undefined;
}

function patchField<T>(current: T | undefined, value: T | null | undefined, clear: boolean): T | undefined {
  if (clear) return undefined;
  return present(value) ? value : current;
}

// ---------------------------------------------------------------------------------------------
// The rules

/**
 * Applies one create or mutation to the latest aggregate of a message (PROTOCOL.md 4.3):
 * - create: only when there is no latest; message_serial = version_serial;
 * - update/delete: shallow tri-state patch (keep / replace / clear via clear_fields) of name, data
 *   and extras; a field both replaced and cleared is an error; update needs at least one field;
 * - append: data must be a string, the aggregate data a string or absent; aggregate = old +
 *   fragment; extras replace when present, else kept; empty data only with a terminal status in
 *   the append's extras; no append after a terminal transport status (AI channels);
 * - limits: accumulated bytes and appends per message (the open-stream cap is `checkOpenStreams`);
 * - op_id: a prior receipt with the same fingerprint is a duplicate (original serials, nothing to
 *   write or fan out), with another fingerprint a conflict.
 * Never throws for client input; throws TypeError for a malformed commit context (a server bug).
 */
export function applyMutation(
  latest: Aggregate | undefined,
  mutation: CommitInput,
  limits: VersionedLimits,
  commit: CommitContext,
): MutationResult {
  if (mutation.action === 'create') return applyCreate(latest, mutation, limits, commit);
  if ((mutation.action as string) === 'summary' || !['update', 'delete', 'append'].includes(mutation.action)) {
    return fail('invalid_field', `unsupported action ${JSON.stringify(mutation.action)}`);
  }
  const invalid =
    validateCommon(mutation) ?? (mutation.action === 'append' ? validateAppend(mutation) : validatePatch(mutation));
  if (invalid) return invalid;
  if (!latest) return fail('not_found', 'message not found');
  const prev = latest.latest;

  let fingerprint: string | undefined;
  if (mutation.op_id !== undefined) {
    fingerprint = fingerprintMutation(mutation);
    const prior = commit.prior_op;
    if (prior) {
      if (prior.message_serial !== prev.message_serial || prior.action !== mutation.action) {
        throw new TypeError('prior_op does not belong to this message and action');
      }
      if (prior.fingerprint !== fingerprint) {
        return fail('op_id_conflict', 'op_id was already used with a different payload');
      }
      return {
        ok: true,
        status: 'duplicate',
        next: latest,
        receipt: {
          message_serial: prior.message_serial,
          action: prior.action,
          version_serial: prior.version_serial,
          history_serial: prior.history_serial,
          delivery_serial: prior.delivery_serial,
        },
      };
    }
  }

  const stale = checkSuccessor(prev, commit);
  if (stale) return stale;

  const base = {
    message_serial: prev.message_serial,
    version_serial: commit.version_serial,
    history_serial: prev.history_serial,
    delivery_serial: commit.delivery_serial,
    timestamp_ms: commit.timestamp_ms,
    client_id: mutation.client_id,
    description: mutation.description,
    metadata: mutation.metadata,
    op_id: mutation.op_id,
    op_fingerprint: fingerprint,
    message_id: prev.message_id,
  };

  if (mutation.action === 'append') {
    if (limits.rejectAppendAfterTerminal && isTerminalTransport(prev.extras)) {
      return fail('terminal_message', 'cannot append to a terminal message');
    }
    const maxAppends = limits.maxAppendsPerMessage;
    if (maxAppends !== undefined && latest.append_count >= maxAppends) {
      return fail('append_count', `message append count exceeds ${maxAppends}`, maxAppends);
    }
    if (present(prev.data) && typeof prev.data !== 'string') {
      return fail('aggregate_not_string', 'append requires string message data');
    }
    const bytes = latest.data_bytes + utf8Bytes(mutation.data);
    const tooBig = checkBytes(bytes, limits);
    if (tooBig) return tooBig;
    const record = compact<VersionRecord>({
      ...base,
      action: 'append',
      name: prev.name,
      data: (typeof prev.data === 'string' ? prev.data : '') + mutation.data,
      extras: present(mutation.extras) ? stripRuntimeHeaders(mutation.extras) : prev.extras,
      fragment: mutation.data,
    });
    const next = compact<Aggregate>({
      latest: record,
      creator_client_id: latest.creator_client_id,
      append_count: latest.append_count + 1,
      data_bytes: bytes,
    });
    return { ok: true, status: 'applied', next, record, receipt: receiptOf(record) };
  }

  const clear = new Set<string>(mutation.clear_fields ?? []);
  const data = patchField(prev.data, mutation.data, clear.has('data'));
  const bytes = data === prev.data ? latest.data_bytes : dataBytes(data);
  const tooBig = checkBytes(bytes, limits);
  if (tooBig) return tooBig;
  const record = compact<VersionRecord>({
    ...base,
    action: mutation.action,
    name: patchField(prev.name, mutation.action === 'update' ? mutation.name : undefined, clear.has('name')),
    data,
    extras: patchField(prev.extras, stripRuntimeHeaders(mutation.extras ?? undefined), clear.has('extras')),
  });
  const next = compact<Aggregate>({
    latest: record,
    creator_client_id: latest.creator_client_id,
    append_count: latest.append_count,
    data_bytes: bytes,
  });
  return { ok: true, status: 'applied', next, record, receipt: receiptOf(record) };
}

function validateAppend(m: AppendInput): { ok: false; error: MutationError } | undefined {
  if (typeof m.data !== 'string') return fail('data_not_string', 'append data must be a string');
  if (m.data.length === 0 && !hasTerminalStatus(m.extras)) {
    return fail('empty_append', 'append data may be empty only with a complete or cancelled status');
  }
  return undefined;
}

function applyCreate(
  latest: Aggregate | undefined,
  m: CreateInput,
  limits: VersionedLimits,
  commit: CommitContext,
): MutationResult {
  assertCommit(commit);
  if (typeof m.name !== 'string' || m.name.length === 0)
    return fail('invalid_field', 'name must be a non-empty string');
  if (!isCounter(m.history_serial) || m.history_serial < 1) {
    throw new TypeError(`history_serial must be an integer in 1..2^53-1, got ${String(m.history_serial)}`);
  }
  if (present(m.extras) && !isPlainObject(m.extras)) return fail('invalid_field', 'extras must be an object');
  if (latest) return fail('already_exists', 'message_serial already exists');
  const bytes = dataBytes(m.data);
  const tooBig = checkBytes(bytes, limits);
  if (tooBig) return tooBig;
  const record = compact<VersionRecord>({
    action: 'create',
    message_serial: commit.version_serial,
    version_serial: commit.version_serial,
    history_serial: m.history_serial,
    delivery_serial: commit.delivery_serial,
    timestamp_ms: commit.timestamp_ms,
    name: m.name,
    data: m.data,
    extras: stripRuntimeHeaders(m.extras ?? undefined),
    client_id: m.client_id,
    message_id: m.message_id,
  });
  const next = compact<Aggregate>({
    latest: record,
    creator_client_id: m.client_id,
    append_count: 0,
    data_bytes: bytes,
  });
  return { ok: true, status: 'applied', next, record, receipt: receiptOf(record) };
}

// ---------------------------------------------------------------------------------------------
// The open-stream cap (checked by the caller, which holds the channel-wide count)

/** True when this commit opens an AI stream: the new latest is `streaming` and the old was not. */
export function opensStream(prev: Aggregate | undefined, next: Aggregate): boolean {
  return isStreaming(next.latest.extras) && !(prev !== undefined && isStreaming(prev.latest.extras));
}

/**
 * The open-streaming-messages cap (4.3): checked on a create or a transition to `streaming`.
 * `openCount` is the number of latest versions on the channel that are streaming now (before
 * this commit), read in the same store transaction.
 */
export function checkOpenStreams(
  prev: Aggregate | undefined,
  next: Aggregate,
  openCount: number,
  limits: VersionedLimits,
): MutationError | undefined {
  const max = limits.maxOpenStreamingMessagesPerChannel;
  if (max === undefined || !opensStream(prev, next)) return undefined;
  if (openCount >= max) return fail('open_streams', `open streaming message count exceeds ${max}`, max).error;
  return undefined;
}
