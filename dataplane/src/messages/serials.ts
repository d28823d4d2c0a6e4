// Serial formats of versioned messages (PROTOCOL.md 3.3) and the guards for the u64 counters.
//
// Two kinds of serial live here:
// - message_serial / version_serial: opaque strings (1..128 bytes, no whitespace) that must sort
//   by plain string comparison. The server format is `{ms:020}:{node}:{counter:020}`.
// - history_serial / delivery_serial (and timestamps): u64 counters on the wire.
//
// Counter decision (PROTOCOL.md decision 10): counters are JS `number`s guarded as safe integers
// (0..2^53-1), not `bigint`. A safe integer always serializes as a plain JSON integer (never `1.0`
// or exponent form), every JSON library and Redis client round-trips it, and 2^53 delivery serials
// is ~285 years at a million commits a second per channel. A value past that range is refused with
// an error rather than silently rounded.

/** Longest message/version serial in bytes. */
export const MAX_SERIAL_BYTES = 128;
/** Width of the zero-padded numeric parts of a server serial (fits u64::MAX). */
const PAD = 20;
/** Node ids that can appear inside a server serial. */
const NODE_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const SERVER_SERIAL_RE = /^(\d{20}):([A-Za-z0-9_.-]{1,64}):(\d{20})$/;
const WHITESPACE_RE = /\s/u;

/** True when `n` is a u64 counter we can hold exactly: an integer in 0..2^53-1. */
export function isCounter(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Returns `n` when it is a safe u64 counter, otherwise throws a RangeError naming `label`. */
export function assertCounter(label: string, n: unknown): number {
  if (!isCounter(n)) throw new RangeError(`${label} must be an integer in 0..2^53-1, got ${String(n)}`);
  return n;
}

/**
 * Parses a counter from a store or a request: a safe-integer number, a bigint, or a decimal
 * string (Redis replies). Returns undefined for anything else, including values past 2^53-1.
 */
export function parseCounter(v: unknown): number | undefined {
  if (typeof v === 'number') return isCounter(v) ? v : undefined;
  if (typeof v === 'bigint') {
    return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  }
  if (typeof v === 'string' && /^\d{1,16}$/.test(v)) {
    const n = Number(v);
    return isCounter(n) ? n : undefined;
  }
  return undefined;
}

/** UTF-8 length of a string, in bytes. */
export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Validates a message or version serial (PROTOCOL.md 3.3). Returns a reason when invalid,
 * undefined when valid.
 */
export function serialProblem(label: string, value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return `${label} must be a non-empty string`;
  if (WHITESPACE_RE.test(value)) return `${label} must not contain whitespace`;
  if (utf8Bytes(value) > MAX_SERIAL_BYTES) return `${label} must be at most ${MAX_SERIAL_BYTES} bytes`;
  return undefined;
}

export function isValidSerial(value: unknown): value is string {
  return serialProblem('serial', value) === undefined;
}

/** Orders two serials by plain string comparison (the only order the protocol defines). */
export function compareSerials(a: string, b: string): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Formats a server serial `{ms:020}:{node}:{counter:020}`. */
export function formatSerial(ms: number, node: string, counter: number): string {
  assertCounter('serial ms', ms);
  assertCounter('serial counter', counter);
  if (!NODE_RE.test(node)) throw new TypeError(`serial node id must match ${NODE_RE}, got ${JSON.stringify(node)}`);
  return `${String(ms).padStart(PAD, '0')}:${node}:${String(counter).padStart(PAD, '0')}`;
}

export interface ParsedSerial {
  readonly ms: number;
  readonly node: string;
  readonly counter: number;
}

/** Parses a server-format serial; undefined for any other (still valid, opaque) serial. */
export function parseSerial(serial: string): ParsedSerial | undefined {
  const m = SERVER_SERIAL_RE.exec(serial);
  if (!m) return undefined;
  const ms = parseCounter(m[1]!.replace(/^0+(?=\d)/, ''));
  const counter = parseCounter(m[3]!.replace(/^0+(?=\d)/, ''));
  if (ms === undefined || counter === undefined) return undefined;
  return { ms, node: m[2]!, counter };
}

export interface SerialGeneratorOptions {
  /** This node's id (`[A-Za-z0-9_.-]{1,64}`), e.g. the pod name. */
  readonly node: string;
  /** Injected wall clock in ms since the epoch. */
  readonly now: () => number;
  /** First counter value (default 1). Seed it from a random or persisted value after a restart if
   * two processes may share a node id. */
  readonly startCounter?: number;
}

/**
 * Generates message/version serials that strictly increase by string comparison on this node,
 * even when the injected clock goes backwards: the ms part never decreases (it is held at the
 * highest value seen) and the counter increases on every call.
 *
 * `next(after)` additionally guarantees a result greater than `after` when `after` is a
 * server-format serial, so a node whose clock is behind another node's can still produce the
 * next version of a message created over there (cross-node clock skew).
 */
export class SerialGenerator {
  readonly node: string;
  readonly #now: () => number;
  #lastMs = 0;
  #counter: number;

  constructor(opts: SerialGeneratorOptions) {
    if (!NODE_RE.test(opts.node)) {
      throw new TypeError(`serial node id must match ${NODE_RE}, got ${JSON.stringify(opts.node)}`);
    }
    this.node = opts.node;
    this.#now = opts.now;
    this.#counter = assertCounter('startCounter', opts.startCounter ?? 1);
  }

  /** The next serial; greater than every serial this generator returned before, and than `after`. */
  next(after?: string): string {
    const raw = this.#now();
    let ms = Number.isFinite(raw) ? Math.max(0, Math.floor(raw)) : 0;
    if (ms < this.#lastMs) ms = this.#lastMs;
    const counter = this.#counter;
    if (counter >= Number.MAX_SAFE_INTEGER) throw new RangeError('serial counter exhausted');
    this.#counter = counter + 1;
    if (after !== undefined) {
      const floor = parseSerial(after);
      if (floor && floor.ms >= ms) {
        ms = floor.ms;
        if (formatSerial(ms, this.node, counter) <= after) ms = floor.ms + 1;
      }
    }
    this.#lastMs = ms;
    return formatSerial(ms, this.node, counter);
  }
}
