// The WebSocket handshake before `ws` takes over (PROTOCOL.md 1.1): the URL, the query
// parameters that can refuse an upgrade with 400/404, the origin rule, the admission checks
// after the upgrade, and the raw HTTP answer written on the upgrade socket. Everything but
// `rejectUpgrade` is pure.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ResolvedApp } from '../config/load.ts';
import { type AitError, aitError } from '../protocol/errors.ts';
import type { ProtocolVersion } from '../protocol/sender.ts';

export const ROLLUP_WINDOWS_MS = [0, 20, 40, 100, 500] as const;

export interface ConnectionParams {
  appKey: string;
  version: ProtocolVersion;
  /** V2: deliver the socket's own client events back to it (default true). V1: always false. */
  echoMessages: boolean;
  /** V2 `append_rollup_window` in ms; stored for the rollup engine (decision 12). */
  appendRollupWindowMs: number | undefined;
  /** V2 `append_mode`; V1 is fixed to `full`. */
  appendMode: 'delta' | 'full';
  /** V2 capability token from `?token=`. On V1 it is kept so the engine can refuse it (4009). */
  token: string | undefined;
}

export type UpgradeParse =
  | { ok: true; params: ConnectionParams }
  | { ok: false; status: 400 | 404; message: string; code: 'invalid_input' | 'not_found' };

const APP_PATH = /^\/app\/([A-Za-z0-9_.-]{1,128})$/;

function bad(message: string): UpgradeParse {
  return { ok: false, status: 400, message, code: 'invalid_input' };
}

function parseBool(v: string): boolean | undefined {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return undefined;
}

/** Parses the request target of an upgrade (`/app/{key}?protocol=…`). */
export function parseUpgradeRequest(target: string | undefined): UpgradeParse {
  const raw = target ?? '/';
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const m = APP_PATH.exec(path);
  if (!m?.[1])
    return { ok: false, status: 404, message: 'Not found: WebSocket endpoint is /app/{key}', code: 'not_found' };
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');

  let version: ProtocolVersion = 1;
  const protocol = query.get('protocol');
  if (protocol !== null) {
    if (!/^\d{1,3}$/.test(protocol) || Number(protocol) > 255) return bad('protocol must be an integer 0-255');
    if (Number(protocol) === 2) version = 2;
  }

  const params: ConnectionParams = {
    appKey: m[1],
    version,
    echoMessages: version === 2,
    appendRollupWindowMs: undefined,
    appendMode: 'full',
    token: query.get('token') ?? undefined,
  };
  if (version === 1) return { ok: true, params };

  const format = query.get('format');
  if (format !== null && format !== '' && format !== 'json') {
    const known = ['msgpack', 'messagepack', 'protobuf', 'proto'].includes(format);
    return bad(
      known
        ? `format ${format} is not supported by this server; use format=json`
        : `unknown format ${JSON.stringify(format)}; use format=json`,
    );
  }
  const echo = query.get('echo_messages');
  if (echo !== null) {
    const b = parseBool(echo);
    if (b === undefined) return bad('echo_messages must be true or false');
    params.echoMessages = b;
  }
  const window = query.get('append_rollup_window');
  if (window !== null) {
    const n = /^\d+$/.test(window) ? Number(window) : Number.NaN;
    if (!(ROLLUP_WINDOWS_MS as readonly number[]).includes(n)) {
      return bad(`append_rollup_window must be one of ${ROLLUP_WINDOWS_MS.join(', ')}`);
    }
    params.appendRollupWindowMs = n;
  }
  const mode = query.get('append_mode');
  if (mode === null || mode === '' || mode === 'delta') params.appendMode = 'delta';
  else if (mode === 'full') params.appendMode = 'full';
  else return bad('append_mode must be delta or full');
  return { ok: true, params };
}

/**
 * Origin rule of `allowedOrigins`: empty list = any origin; `*` = any; an exact origin
 * (`https://app.example.com`, case-insensitive); or a host suffix pattern `*.example.com`,
 * optionally with a scheme (`https://*.example.com`). With a non-empty list a request
 * without an Origin header is refused.
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  if (allowed.includes('*')) return true;
  if (!origin) return false;
  const o = origin.toLowerCase();
  let scheme = '';
  let host = '';
  try {
    const u = new URL(o);
    scheme = u.protocol.replace(/:$/, '');
    host = u.hostname;
  } catch {
    return false;
  }
  for (const entry of allowed) {
    const p = entry.toLowerCase();
    if (p === o) return true;
    const sep = p.indexOf('://');
    const pScheme = sep >= 0 ? p.slice(0, sep) : undefined;
    const pHost = sep >= 0 ? p.slice(sep + 3) : p;
    if (pScheme !== undefined && pScheme !== scheme) continue;
    if (pHost.startsWith('*.') && host.endsWith(pHost.slice(1))) return true;
    if (pScheme === undefined && pHost === host) return true;
  }
  return false;
}

/**
 * Why an upgraded socket is refused before connection_established, in the order of
 * PROTOCOL.md 1.2 and decision 5 (each is sent as an error frame, then a close with its
 * code); undefined = admit. Token verification comes after these checks.
 */
export function admissionError(
  app: ResolvedApp | undefined,
  params: ConnectionParams,
  origin: string | undefined,
  load: { nodeConnections: number; nodeMax: number; appConnections: number },
): AitError | undefined {
  if (!app) return aitError('AIT_ERR_APP_NOT_FOUND', { key: params.appKey });
  if (!app.enabled) return aitError('AIT_ERR_APP_DISABLED');
  if (!originAllowed(origin, app.allowedOrigins)) return aitError('AIT_ERR_ORIGIN_NOT_ALLOWED');
  if (load.nodeMax > 0 && load.nodeConnections >= load.nodeMax) return aitError('AIT_ERR_NODE_OVER_CAPACITY');
  const appMax = app.limits.maxConnections;
  if (appMax > 0 && load.appConnections >= appMax) return aitError('AIT_ERR_APP_OVER_QUOTA');
  if (params.token !== undefined && params.version === 1) return aitError('AIT_ERR_TOKEN_ON_V1');
  return undefined;
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const text = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(text)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.on('error', () => socket.destroy());
  socket.once('finish', () => socket.destroy());
  socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`);
}
