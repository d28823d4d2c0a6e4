// What travels between nodes on the horizontal transport: one envelope per committed message (or
// control signal), JSON, tagged with the origin node so receivers skip their own. Pure.
//
// Appends travel WITHOUT their aggregate `data` (only the fragment): every node gets every append,
// and carrying the aggregate would make a stream's transport bytes grow with the square of its
// length. Nodes that need the aggregate (full-mode sockets) complete it (cluster/bus.ts).
import type { VersionRecord } from '../messages/model.ts';
import type { ChannelSignal } from '../pipeline/message.ts';

/** Cluster-wide effects on live sockets, applied by every node to its own. */
export type ControlSignal =
  | { readonly kind: 'revoke'; readonly appId: string; readonly jti?: string; readonly clientId?: string }
  | { readonly kind: 'terminate'; readonly appId: string; readonly userId: string; readonly closeCode?: number };

export type TransportPayload = ChannelSignal | ControlSignal;

export interface Envelope {
  readonly v: 1;
  /** Origin node id. */
  readonly n: string;
  readonly p: TransportPayload;
}

/** Largest envelope a node accepts (a bigger one is dropped and counted). */
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

function slimRecord(r: VersionRecord): VersionRecord {
  if (r.action !== 'append' || r.data === undefined) return r;
  const { data: _aggregate, ...rest } = r;
  return rest;
}

export function encodeEnvelope(node: string, p: TransportPayload): string {
  const payload = p.kind === 'version' ? { ...p, record: slimRecord(p.record) } : p;
  return JSON.stringify({ v: 1, n: node, p: payload });
}

const KINDS = new Set(['event', 'version', 'reset', 'revoke', 'terminate']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and shape-checks an envelope; undefined for anything malformed (counted by the caller). */
export function decodeEnvelope(text: string): Envelope | undefined {
  if (text.length > MAX_ENVELOPE_BYTES) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(raw) || raw.v !== 1 || typeof raw.n !== 'string' || !isObject(raw.p)) return undefined;
  const p = raw.p;
  if (typeof p.kind !== 'string' || !KINDS.has(p.kind) || typeof p.appId !== 'string') return undefined;
  if ((p.kind === 'event' || p.kind === 'version' || p.kind === 'reset') && typeof p.channel !== 'string') {
    return undefined;
  }
  if (p.kind === 'version') {
    const r = p.record;
    if (!isObject(r) || typeof r.message_serial !== 'string' || !Number.isSafeInteger(r.delivery_serial)) {
      return undefined;
    }
    if (typeof p.streamId !== 'string') return undefined;
  }
  if (p.kind === 'event' && typeof p.event !== 'string') return undefined;
  return raw as unknown as Envelope;
}
