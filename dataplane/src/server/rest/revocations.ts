// POST /apps/{id}/revocations (PROTOCOL.md 2.4): store a revocation of a capability-token
// `jti` and/or a `client_id` for its TTL, then close the matching live sockets.
import { type AitError, aitError } from '../../protocol/errors.ts';
import { type HttpResponse, json } from '../http-util.ts';
import type { RouteContext } from './types.ts';
import { isPlainObject } from './validate-event.ts';

export interface RevocationInput {
  jti?: string;
  client_id?: string;
  expires_at?: number;
  ttl_seconds?: number;
  reason?: string;
}

const invalid = (reason: string): AitError => aitError('AIT_ERR_INVALID_INPUT', { reason });

/** Longest TTL accepted: a capability token lives at most 24 h (2.4), keep a week of margin. */
const MAX_TTL_SECONDS = 7 * 24 * 3600;

function idProblem(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '' || Buffer.byteLength(v) > 128)
    return `${field} must be a string of 1-128 bytes`;
  return undefined;
}

/** Pure validation of the body; throws a catalogue error naming the first problem. */
export function validateRevocation(body: unknown): RevocationInput {
  if (!isPlainObject(body)) throw invalid('body must be a JSON object');
  const { jti, client_id, expires_at, ttl_seconds, reason } = body;
  const problem = idProblem(jti, 'jti') ?? idProblem(client_id, 'client_id');
  if (problem) throw invalid(problem);
  if (jti === undefined && client_id === undefined) throw invalid('one of jti or client_id is required');
  if (ttl_seconds !== undefined) {
    if (typeof ttl_seconds !== 'number' || !Number.isInteger(ttl_seconds) || ttl_seconds < 1) {
      throw invalid('ttl_seconds must be a positive integer');
    }
    if (ttl_seconds > MAX_TTL_SECONDS) throw invalid(`ttl_seconds must be at most ${MAX_TTL_SECONDS}`);
  }
  if (expires_at !== undefined && (typeof expires_at !== 'number' || !Number.isFinite(expires_at))) {
    throw invalid('expires_at must be unix seconds');
  }
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > 256)) {
    throw invalid('reason must be a string of at most 256 characters');
  }
  return body as RevocationInput;
}

export async function handleRevocation(ctx: RouteContext): Promise<HttpResponse> {
  const input = validateRevocation(ctx.body);
  const now = ctx.deps.now();
  const ttlMs = Math.min(ctx.deps.revocationTtlMs(input, now), MAX_TTL_SECONDS * 1000);
  if (!(ttlMs > 0)) throw invalid('expires_at is in the past');
  const appId = ctx.app.id;
  const match = {
    ...(input.jti !== undefined && { jti: input.jti }),
    ...(input.client_id !== undefined && { clientId: input.client_id }),
  };
  try {
    await ctx.deps.revocations.revoke({ appId, ...match, ttlMs }, now);
  } catch (err) {
    // Fail closed: an unrecorded revocation must not be acknowledged (F3).
    throw aitError(
      'AIT_ERR_UNAVAILABLE',
      { reason: 'revocation store unavailable' },
      { cause: err, retryAfterSeconds: 1 },
    );
  }
  const closed = ctx.deps.control
    ? ctx.deps.control({ kind: 'revoke', appId, ...match })
    : ctx.deps.engine.applyRevocation(appId, match);
  return json(200, {
    revoked_jti: input.jti ?? null,
    revoked_client_id: input.client_id ?? null,
    closed_connections: closed,
  });
}
