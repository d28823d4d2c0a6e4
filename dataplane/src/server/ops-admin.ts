// The admin API on the ops listener, behind `Authorization: Bearer <token>`:
// GET /admin/status, POST /admin/drain, GET /admin/drain (types in admin-types.ts, which
// the operator imports). No token configured: every admin route answers 503.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { aitError } from '../protocol/errors.ts';
import type { AdminStatus, DrainRequest } from './admin-types.ts';
import type { Engine } from './engine-api.ts';
import { errorResponse, type HttpResponse, json } from './http-util.ts';

export interface AdminDeps {
  /** The resolved admin token; undefined disables the admin API. */
  token: string | undefined;
  engine: Engine;
  status: () => Promise<AdminStatus> | AdminStatus;
  /** Called after a drain starts (e.g. to log it); readiness follows `engine.draining`. */
  onDrain?: (req: DrainRequest) => void;
}

export const DrainRequestSchema = z.strictObject({
  batchSize: z.number().int().min(1).max(1_000_000).optional(),
  batchIntervalMs: z.number().int().min(0).max(600_000).optional(),
  // A WebSocket close reason is at most 123 bytes; keep room for the "Reconnect: " prefix.
  reason: z.string().max(100).optional(),
});

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison of the presented bearer token with the configured one. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  // Compare digests so neither content nor length leaks through timing.
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(token)) && m !== null;
}

export function isAdminPath(rawPath: string): boolean {
  return rawPath === '/admin' || rawPath.startsWith('/admin/');
}

/** Parses a DrainRequest body (empty = defaults); throws 400 invalid_input naming the field. */
export function parseDrainRequest(body: Buffer): DrainRequest {
  if (body.length === 0) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw aitError('AIT_ERR_INVALID_INPUT', { reason: 'request body is not valid JSON' });
  }
  const parsed = DrainRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(body)';
    throw aitError('AIT_ERR_INVALID_INPUT', { reason: `${where}: ${issue?.message ?? 'invalid'}` });
  }
  const out: DrainRequest = {};
  if (parsed.data.batchSize !== undefined) out.batchSize = parsed.data.batchSize;
  if (parsed.data.batchIntervalMs !== undefined) out.batchIntervalMs = parsed.data.batchIntervalMs;
  if (parsed.data.reason !== undefined) out.reason = parsed.data.reason;
  return out;
}

/** Handles one /admin request; the caller read the (bounded) body. */
export async function handleAdmin(
  deps: AdminDeps,
  method: string,
  rawPath: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Promise<HttpResponse> {
  if (deps.token === undefined) {
    return errorResponse(aitError('AIT_ERR_UNAVAILABLE', { reason: 'admin API disabled: no admin token configured' }));
  }
  if (!bearerMatches(headers.authorization, deps.token)) {
    const res = errorResponse(aitError('AIT_ERR_AUTH_FAILED', { reason: 'missing or invalid bearer token' }));
    return { ...res, headers: { ...res.headers, 'WWW-Authenticate': 'Bearer realm="aitransport-admin"' } };
  }
  if (rawPath === '/admin/status') {
    if (method !== 'GET') return notAllowed(method, 'GET');
    return json(200, await deps.status());
  }
  if (rawPath === '/admin/drain') {
    if (method === 'GET') return json(200, deps.engine.drainStatus());
    if (method !== 'POST') return notAllowed(method, 'GET, POST');
    const req = parseDrainRequest(body);
    const status = deps.engine.startDrain(req);
    deps.onDrain?.(req);
    return json(200, status);
  }
  return errorResponse(aitError('AIT_ERR_NOT_FOUND', { reason: 'no such admin route' }));
}

function notAllowed(method: string, allow: string): HttpResponse {
  return errorResponse(aitError('AIT_ERR_METHOD_NOT_ALLOWED', { method, allow }));
}
