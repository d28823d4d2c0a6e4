// Normalisation of a conformance transcript (what the producer sent and got back, and every frame
// each subscriber received) into its golden form: everything that changes from run to run becomes
// a placeholder, everything the protocol fixes stays as it is on the wire. Pure; see
// docs/conformance.md for the rules.
//
// - message and version serials (`{ms:020}:{node}:{counter:020}`) → `<mN>` for the N-th message
//   (in serial order, i.e. the order the node created them) and `<mN.vK>` for its K-th version (K = rank among the message's version serials; the
//   create, whose version serial is the message serial, is v0);
// - delivery serials (`serial` of frames and positions, `delivery_serial`) → `#K`, the K-th of all
//   delivery serials of the scenario's channel (the acks name every commit, so a gap a subscriber
//   sees stays visible); 0 stays 0; history serials (`history_serial`, `attach_serial`, item
//   `serial` of history pages, bounds) are kept: they are deterministic on a fresh channel;
// - stream ids → `<stream:N>`, other UUIDs → `<uuid:N>`, socket ids → `<socket:N>`, in order of
//   first appearance; timestamps → `<ts>`; cursors → `<cursor>`;
// - a JSON string under `data`, `user_data` or `channel_data` is parsed and normalised as
//   `{"$json": …}`, so its placeholders line up with the rest.
// A delta subscriber with a rollup window can additionally have each run of consecutive appends
// of one message collapsed into one entry (`collapseAppends`), which makes its transcript
// independent of where the window boundaries fell.

const SERIAL_RE = /^\d{20}:[A-Za-z0-9_.-]{1,64}:\d{20}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SOCKET_ID_RE = /^\d+\.\d+$/;
const JSON_STRING_KEYS = new Set(['data', 'user_data', 'channel_data']);
const TIMESTAMP_KEYS = new Set([
  'sockudo_version_timestamp_ms',
  'timestamp_ms',
  'published_at_ms',
  'oldest_available_published_at_ms',
  'newest_available_published_at_ms',
  'last_transition_at_ms',
  'last_seen_ms',
  'exp',
  'iat',
]);
/** Keys of history-domain serials: kept (PROTOCOL.md 3.3). */
const HISTORY_SERIAL_KEYS = new Set([
  'history_serial',
  'sockudo_history_serial',
  'attach_serial',
  'start_serial',
  'end_serial',
  'oldest_available_serial',
  'newest_available_serial',
  'next_serial',
]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A history page item (`{serial: <history serial>, event_name, operation_kind, message}`). */
function isHistoryItem(o: Record<string, unknown>): boolean {
  return 'event_name' in o && 'operation_kind' in o;
}

function parseJsonString(s: string): unknown {
  if (!/^\s*[[{]/.test(s)) return undefined;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

export class Normalizer {
  /** message serial → its index (1-based, in serial order: the order the node created them). */
  #messages = new Map<string, number>();
  /** message serial → its version serials. */
  readonly #versions = new Map<string, Set<string>>();
  readonly #delivery = new Set<number>();
  #deliveryRank = new Map<number, number>();
  #versionLabel = new Map<string, string>();
  readonly #ids = {
    stream: new Map<string, number>(),
    uuid: new Map<string, number>(),
    socket: new Map<string, number>(),
  };

  /** Pass 1: learn every (message, version) pair and delivery serial in `values`, in order. */
  collect(...values: readonly unknown[]): this {
    for (const v of values) this.#collect(v, undefined);
    const sorted = [...this.#delivery].sort((a, b) => a - b);
    this.#deliveryRank = new Map(sorted.map((s, i) => [s, i + 1]));
    this.#messages = new Map([...this.#versions.keys()].sort().map((ms, i) => [ms, i + 1]));
    this.#versionLabel = new Map();
    for (const [ms, vss] of this.#versions) {
      const m = this.#messages.get(ms) as number;
      [...vss].sort().forEach((vs, k) => {
        this.#versionLabel.set(vs, `<m${m}.v${k}>`);
      });
    }
    return this;
  }

  #pair(ms: unknown, vs: unknown): void {
    if (typeof ms !== 'string' || !SERIAL_RE.test(ms)) return;
    const set = this.#versions.get(ms) ?? new Set<string>();
    this.#versions.set(ms, set);
    set.add(ms); // a create's version serial is its message serial
    if (typeof vs === 'string' && SERIAL_RE.test(vs)) set.add(vs);
  }

  #collect(v: unknown, key: string | undefined): void {
    if (Array.isArray(v)) {
      for (const x of v) this.#collect(x, undefined);
      return;
    }
    if (typeof v === 'string') {
      if (key && JSON_STRING_KEYS.has(key)) {
        const parsed = parseJsonString(v);
        if (parsed !== undefined) this.#collect(parsed, undefined);
      }
      return;
    }
    if (!isObject(v)) return;
    const headers = isObject(v.extras) && isObject(v.extras.headers) ? v.extras.headers : undefined;
    if (headers) this.#pair(headers.sockudo_message_serial, headers.sockudo_version_serial);
    const version = isObject(v.version) ? v.version.serial : undefined;
    if ('message_serial' in v) this.#pair(v.message_serial, v.version_serial ?? version);
    const history = isHistoryItem(v);
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'number' && x > 0 && (k === 'delivery_serial' || (k === 'serial' && !history))) {
        this.#delivery.add(x);
      }
      this.#collect(x, k);
    }
  }

  #id(kind: 'stream' | 'uuid' | 'socket', s: string): string {
    const map = this.#ids[kind];
    const n = map.get(s) ?? map.size + 1;
    map.set(s, n);
    return `<${kind}:${n}>`;
  }

  /** Pass 2: the normalised copy of `v`. Call after `collect` saw everything. */
  normalize(v: unknown, key?: string, parent?: Record<string, unknown>): Json {
    if (Array.isArray(v)) return v.map((x) => this.normalize(x));
    if (isObject(v)) {
      const out: Record<string, Json> = {};
      for (const [k, x] of Object.entries(v)) out[k] = this.normalize(x, k, v);
      return out;
    }
    if (typeof v === 'number') {
      if (key && TIMESTAMP_KEYS.has(key)) return '<ts>';
      if (key && HISTORY_SERIAL_KEYS.has(key)) return v;
      const delivery = key === 'delivery_serial' || (key === 'serial' && !(parent && isHistoryItem(parent)));
      if (delivery && v > 0) {
        const rank = this.#deliveryRank.get(v);
        return rank === undefined ? `#?${v}` : `#${rank}`;
      }
      return v;
    }
    if (typeof v === 'string') {
      if (key === 'next_cursor' || key === 'cursor') return '<cursor>';
      if (key && JSON_STRING_KEYS.has(key)) {
        const parsed = parseJsonString(v);
        if (parsed !== undefined) return { $json: this.normalize(parsed) };
      }
      if (SERIAL_RE.test(v)) {
        const m = this.#messages.get(v);
        // The field says which of the two a create's serial is.
        const asVersion = key === 'sockudo_version_serial' || key === 'version_serial' || key === 'serial';
        if (m !== undefined && !asVersion) return `<m${m}>`;
        return this.#versionLabel.get(v) ?? '<serial?>';
      }
      if (key?.endsWith('stream_id') && v !== '') return this.#id('stream', v);
      if (UUID_RE.test(v)) return this.#id('uuid', v);
      if (key === 'socket_id' && SOCKET_ID_RE.test(v)) return this.#id('socket', v);
      return v;
    }
    return v as Json;
  }
}

export interface FrameLike {
  readonly event?: unknown;
  readonly data?: unknown;
  readonly extras?: unknown;
  readonly [k: string]: unknown;
}

function messageOf(f: FrameLike): unknown {
  return isObject(f.extras) && isObject(f.extras.headers) ? f.extras.headers.sockudo_message_serial : undefined;
}

/**
 * Each run of consecutive `sockudo:message.append` frames of one message becomes one entry: the
 * last frame (its version, headers, extras), with the concatenated fragments as `data` and
 * `"$coalesced": true`. For delta subscribers only (full frames carry the aggregate).
 */
export function collapseAppends<T extends FrameLike>(frames: readonly T[]): Array<T | (T & { $coalesced: true })> {
  const out: Array<T | (T & { $coalesced: true })> = [];
  for (const f of frames) {
    const prev = out.at(-1);
    if (
      f.event === 'sockudo:message.append' &&
      prev?.event === 'sockudo:message.append' &&
      messageOf(prev) === messageOf(f) &&
      typeof prev.data === 'string' &&
      typeof f.data === 'string'
    ) {
      out[out.length - 1] = { ...f, data: prev.data + f.data, $coalesced: true };
    } else if (f.event === 'sockudo:message.append') {
      out.push({ ...f, $coalesced: true });
    } else {
      out.push(f);
    }
  }
  return out;
}
