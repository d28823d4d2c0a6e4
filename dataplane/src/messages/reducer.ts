// Client-side reduction of versioned messages (PROTOCOL.md 4.5), as a client library, the load
// runner's auditor and the conformance suite do it:
// - key the state on message_serial;
// - create/update: state = data; append: state + data (delta) or data (full); delete: data or null;
// - order by delivery `serial`, and ignore any version whose version_serial is <= the one
//   already applied (string comparison);
// - late joiners seed from a read shape (GET latest / history), which always carries the aggregate.

import type { AppendMode } from './frames.ts';
import { type CommitAction, type Extras, type MessageData, parseOperation, stripRuntimeHeaders } from './model.ts';

/** What the reducer reads from a frame: a live V2 frame or a read shape, parsed from JSON. */
export interface FrameLike {
  readonly event?: unknown;
  readonly data?: unknown;
  readonly name?: unknown;
  readonly message_id?: unknown;
  readonly serial?: unknown;
  readonly extras?: unknown;
  readonly message_serial?: unknown;
  readonly version?: unknown;
}

export interface ReducedMessage {
  readonly message_serial: string;
  readonly version_serial: string;
  readonly delivery_serial: number | undefined;
  readonly action: CommitAction;
  /** The logical event name: `name` of mutation frames, the event of a create. */
  readonly name: string | undefined;
  /** The aggregate; null after a delete that cleared it. */
  readonly data: MessageData | null;
  /** The aggregate extras without runtime headers. */
  readonly extras: Extras | undefined;
  readonly message_id: string | undefined;
}

export type ReduceOutcome =
  /** State changed. */
  | 'applied'
  /** version_serial <= the applied one: a duplicate or an older version. */
  | 'stale'
  /** Not a versioned message (no runtime headers): not the reducer's business. */
  | 'not_versioned'
  /** A delta append for a message with no state: the client must seed it (GET latest/history). */
  | 'missing_base'
  /** Malformed (e.g. a delta append whose data is not a string). */
  | 'invalid';

export interface VersionFacts {
  readonly action: CommitAction;
  readonly message_serial: string;
  readonly version_serial: string;
  readonly serial: number | undefined;
}

function isObjectLike(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The version a frame describes, from its `extras.headers.sockudo_*` (or a read shape's fields). */
export function versionFacts(frame: FrameLike): VersionFacts | undefined {
  const extras = isObjectLike(frame.extras) ? frame.extras : undefined;
  const headers = extras && isObjectLike(extras['headers']) ? extras['headers'] : undefined;
  const action = parseOperation(headers?.['sockudo_action']);
  const ms = headers?.['sockudo_message_serial'] ?? frame.message_serial;
  const version = isObjectLike(frame.version) ? frame.version : undefined;
  const vs = headers?.['sockudo_version_serial'] ?? version?.['serial'];
  if (action === undefined || action === 'summary' || typeof ms !== 'string' || typeof vs !== 'string') {
    return undefined;
  }
  const serial = typeof frame.serial === 'number' ? frame.serial : undefined;
  return { action, message_serial: ms, version_serial: vs, serial };
}

/** One reduction step for one message. */
export function reduceFrame(
  prev: ReducedMessage | undefined,
  frame: FrameLike,
  mode: AppendMode,
): { outcome: ReduceOutcome; next: ReducedMessage | undefined } {
  const v = versionFacts(frame);
  if (!v) return { outcome: 'not_versioned', next: prev };
  if (prev && v.version_serial <= prev.version_serial) return { outcome: 'stale', next: prev };
  const incoming = frame.data === undefined ? null : (frame.data as MessageData);
  let data: MessageData | null;
  if (v.action === 'append' && mode === 'delta') {
    if (!prev) return { outcome: 'missing_base', next: prev };
    if (typeof incoming !== 'string') return { outcome: 'invalid', next: prev };
    if (prev.data !== null && typeof prev.data !== 'string') return { outcome: 'invalid', next: prev };
    data = (prev.data ?? '') + incoming;
  } else {
    data = incoming;
  }
  const name =
    v.action === 'create' && typeof frame.event === 'string' && !frame.event.startsWith('sockudo:')
      ? frame.event
      : typeof frame.name === 'string'
        ? frame.name
        : undefined;
  const extras = isObjectLike(frame.extras) ? stripRuntimeHeaders(frame.extras) : undefined;
  return {
    outcome: 'applied',
    next: {
      message_serial: v.message_serial,
      version_serial: v.version_serial,
      delivery_serial: v.serial,
      action: v.action,
      name,
      data,
      extras: extras && Object.keys(extras).length > 0 ? extras : undefined,
      message_id: typeof frame.message_id === 'string' ? frame.message_id : (prev?.message_id ?? undefined),
    },
  };
}

/** A channel's reduced state, as one subscriber with one append mode sees it. */
export class MessageReducer {
  readonly mode: AppendMode;
  readonly #state = new Map<string, ReducedMessage>();
  readonly counts: Record<ReduceOutcome, number> = {
    applied: 0,
    stale: 0,
    not_versioned: 0,
    missing_base: 0,
    invalid: 0,
  };

  constructor(mode: AppendMode) {
    this.mode = mode;
  }

  /** Applies one live frame. */
  apply(frame: FrameLike): ReduceOutcome {
    return this.#step(frame, this.mode);
  }

  /** Applies a batch in delivery-serial order (frames without a serial keep their place last). */
  applyAll(frames: readonly FrameLike[]): ReduceOutcome[] {
    const sorted = frames
      .map((f, i) => ({ f, i, s: typeof f.serial === 'number' ? f.serial : Number.POSITIVE_INFINITY }))
      .sort((a, b) => a.s - b.s || a.i - b.i);
    return sorted.map(({ f }) => this.apply(f));
  }

  /** Seeds (or refreshes) a message from a read shape, which always carries the aggregate. */
  seed(item: FrameLike): ReduceOutcome {
    return this.#step(item, 'full');
  }

  get(messageSerial: string): ReducedMessage | undefined {
    return this.#state.get(messageSerial);
  }

  messages(): ReadonlyMap<string, ReducedMessage> {
    return this.#state;
  }

  #step(frame: FrameLike, mode: AppendMode): ReduceOutcome {
    const v = versionFacts(frame);
    const prev = v ? this.#state.get(v.message_serial) : undefined;
    const { outcome, next } = reduceFrame(prev, frame, mode);
    if (outcome === 'applied' && next) this.#state.set(next.message_serial, next);
    this.counts[outcome]++;
    return outcome;
  }
}
