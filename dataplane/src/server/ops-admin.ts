// The admin API on the ops listener, behind `Authorization: Bearer <token>` (types in
// admin-types.ts, which the operator imports; docs/admin-api.md):
//   GET  /admin/status            node, connections, drain, history health, pipeline, policies
//   GET  /admin/drain, POST /admin/drain
//   POST /admin/flush             deliver held rollups, wait for queued writes (bounded)
//   GET  /admin/channels          degraded / reset_required channels, paginated
//   POST /admin/history/reset     reset one channel, optionally only if still reset_required
//   GET  /admin/policies, POST /admin/policies/reload
// No token configured: every admin route answers 503.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import type { NonHealthyPage } from '../history/types.ts';
import { historyErrorToAitError } from '../pipeline/reads.ts';
import { aitError } from '../protocol/errors.ts';
import type {
  AdminChannel,
  AdminChannelPage,
  AdminResetResult,
  AdminStatus,
  DrainRequest,
  FlushResult,
  PolicyStatus,
} from './admin-types.ts';
import type { Engine } from './engine-api.ts';
import { errorResponse, type HttpResponse, json } from './http-util.ts';

export interface AdminDeps {
  /** The resolved admin token; undefined disables the admin API. */
  token: string | undefined;
  engine: Engine;
  status: () => Promise<AdminStatus> | AdminStatus;
  /** Called after a drain starts (e.g. to log it); readiness follows `engine.draining`. */
  onDrain?: (req: DrainRequest) => void;
  /** Delivers held rollups and waits for queued writes for at most `timeoutMs`. */
  flush?: (timeoutMs: number) => Promise<FlushResult>;
  /** The channel-policy source (status, forced reload). */
  policies?: { status(): PolicyStatus; reload(): Promise<PolicyStatus> };
}

export const AdminResetSchema = z.strictObject({
  appId: z.string().min(1).max(64),
  channel: z.string().min(1).max(1024),
  reason: z.string().trim().min(1).max(512),
  requestedBy: z.string().max(256).optional(),
  expectState: z.enum(['reset_required', 'degraded']).optional(),
});

export const FlushRequestSchema = z.strictObject({
  timeoutMs: z.number().int().min(0).max(60_000).optional(),
});

/** Parses a JSON body against a schema; 400 invalid_input naming the field. */
function parseBody<T>(body: Buffer, schema: z.ZodType<T>, empty?: T): T {
  if (body.length === 0 && empty !== undefined) return empty;
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw aitError('AIT_ERR_INVALID_INPUT', { reason: 'request body is not valid JSON' });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(body)';
    throw aitError('AIT_ERR_INVALID_INPUT', { reason: `${where}: ${issue?.message ?? 'invalid'}` });
  }
  return parsed.data;
}

export const DrainRequestSchema = z.strictObject({
  batchSize: z.number().int().min(1).max(1_000_000).optional(),
  batchIntervalMs: z.number().int().min(0).max(600_000).optional(),
  // A WebSocket close reason is at most 123 bytes; keep room for the "Reconnect: " prefix.
  reason: z.string().max(100).optional(),
  // Readiness goes off at once; closing waits this long, so endpoints drop the pod before its
  // clients reconnect and nobody lands on it again.
  closeAfterMs: z.number().int().min(0).max(600_000).optional(),
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
  if (parsed.data.closeAfterMs !== undefined) out.closeAfterMs = parsed.data.closeAfterMs;
  return out;
}

/** Handles one /admin request; the caller read the (bounded) body. */
export async function handleAdmin(
  deps: AdminDeps,
  method: string,
  rawPath: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
  rawQuery = '',
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
  if (rawPath === '/admin/flush') {
    if (method !== 'POST') return notAllowed(method, 'POST');
    if (!deps.flush) return errorResponse(aitError('AIT_ERR_NOT_FOUND', { reason: 'no flush on this node' }));
    const req = parseBody(body, FlushRequestSchema, {});
    return json(200, await deps.flush(req.timeoutMs ?? 5000));
  }
  if (rawPath === '/admin/channels') {
    if (method !== 'GET') return notAllowed(method, 'GET');
    return json(200, await listChannels(deps.engine, new URLSearchParams(rawQuery)));
  }
  if (rawPath === '/admin/history/reset') {
    if (method !== 'POST') return notAllowed(method, 'POST');
    return json(200, await resetChannel(deps.engine, parseBody(body, AdminResetSchema)));
  }
  if (rawPath === '/admin/policies' || rawPath === '/admin/policies/reload') {
    if (!deps.policies) return errorResponse(aitError('AIT_ERR_NOT_FOUND', { reason: 'no policy source' }));
    if (rawPath === '/admin/policies') {
      if (method !== 'GET') return notAllowed(method, 'GET');
      return json(200, deps.policies.status());
    }
    if (method !== 'POST') return notAllowed(method, 'POST');
    return json(200, await deps.policies.reload());
  }
  return errorResponse(aitError('AIT_ERR_NOT_FOUND', { reason: 'no such admin route' }));
}

const STATE_FILTERS = ['non_healthy', 'degraded', 'reset_required'] as const;

/** GET /admin/channels: the store's non-healthy channels, filtered by state (bounded pages). */
async function listChannels(engine: Engine, q: URLSearchParams): Promise<AdminChannelPage> {
  const state = q.get('state') ?? 'non_healthy';
  if (!(STATE_FILTERS as readonly string[]).includes(state)) {
    throw aitError('AIT_ERR_INVALID_INPUT', { reason: `state must be one of ${STATE_FILTERS.join(', ')}` });
  }
  const limitRaw = q.get('limit');
  if (limitRaw !== null && !/^\d{1,4}$/.test(limitRaw)) {
    throw aitError('AIT_ERR_INVALID_INPUT', { reason: 'limit must be an integer 1..1000' });
  }
  const limit = Math.min(Math.max(Number(limitRaw ?? 100), 1), 1000);
  const appId = q.get('app_id') ?? undefined;
  let page: NonHealthyPage;
  try {
    page = await engine.streams.stores.history.listNonHealthy({
      ...(appId !== undefined && { appId }),
      limit,
      cursor: q.get('cursor'),
    });
  } catch (err) {
    throw historyErrorToAitError(err);
  }
  const items: AdminChannel[] = page.items
    .filter((c) => state === 'non_healthy' || c.state.durableState === state)
    .map((c) => ({
      appId: c.appId,
      channel: c.channel,
      durableState: c.state.durableState,
      reason: c.state.reason,
      streamId: c.state.streamId,
      lastTransitionAtMs: c.state.lastTransitionAtMs,
    }));
  return { items, nextCursor: page.nextCursor };
}

/** POST /admin/history/reset: re-checks the state right before resetting when asked to. */
async function resetChannel(engine: Engine, req: z.infer<typeof AdminResetSchema>): Promise<AdminResetResult> {
  const { appId, channel } = req;
  const { reads, publisher } = engine.streams;
  if (req.expectState !== undefined) {
    const info = await reads.historyState(appId, channel);
    if (info.state.durableState !== req.expectState) {
      return {
        appId,
        channel,
        result: 'skipped',
        reason: `channel is ${info.state.durableState}, not ${req.expectState}`,
      };
    }
  }
  reads.requireHistory(appId, channel);
  const r = await publisher.reset(appId, channel, {
    reason: req.reason,
    ...(req.requestedBy !== undefined && { requestedBy: req.requestedBy }),
  });
  return {
    appId,
    channel,
    result: 'reset',
    previousStreamId: r.previousStreamId,
    newStreamId: r.newStreamId,
    purgedMessages: r.purgedMessages,
  };
}

function notAllowed(method: string, allow: string): HttpResponse {
  return errorResponse(aitError('AIT_ERR_METHOD_NOT_ALLOWED', { method, allow }));
}
