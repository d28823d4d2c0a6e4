// The signed REST API as one async function from a read request to a result: route, verify
// the signature (PROTOCOL.md 2.5), apply the app's rate limit, parse JSON, dispatch. No
// sockets here: public-server.ts reads the body and writes the result.
import type { ResolvedApp } from '../../config/load.ts';
import { type AitError, aitError } from '../../protocol/errors.ts';
import { errorResponse, toAitError } from '../http-util.ts';
import { handleChannel, handleChannels, handleChannelUsers, handleTerminateConnections } from './channels.ts';
import { handleHistory, handleHistoryPurge, handleHistoryReset, handleHistoryState } from './history.ts';
import {
  handleAppend,
  handleAppendBatch,
  handleDelete,
  handleGetMessage,
  handleGetVersions,
  handleSummary,
  handleUpdate,
} from './messages.ts';
import { handleBatchEvents, handleEvents } from './publish.ts';
import { handleRevocation } from './revocations.ts';
import { matchRoute, type RouteName } from './routes.ts';
import type { AuthApp, RestDeps, RestRequest, RestResult, RouteHandler, VerifyResult } from './types.ts';

const HANDLERS: Record<RouteName, RouteHandler> = {
  events: handleEvents,
  batch_events: handleBatchEvents,
  channels: handleChannels,
  channel: handleChannel,
  channel_users: handleChannelUsers,
  terminate_connections: handleTerminateConnections,
  revocations: handleRevocation,
  message: handleGetMessage,
  message_versions: handleGetVersions,
  message_update: handleUpdate,
  message_delete: handleDelete,
  message_append: handleAppend,
  message_summary: handleSummary,
  appends: handleAppendBatch,
  history: handleHistory,
  history_state: handleHistoryState,
  history_reset: handleHistoryReset,
  history_purge: handleHistoryPurge,
};

/** Maps a failed verification to its catalogue error (auth_failed, invalid_input, forbidden). */
export function verifyError(result: Extract<VerifyResult, { ok: false }>): AitError {
  const reason = result.message;
  if (result.status === 400) return aitError('AIT_ERR_INVALID_INPUT', { reason });
  if (result.status === 403) return aitError('AIT_ERR_FORBIDDEN', { reason });
  return aitError('AIT_ERR_AUTH_FAILED', { reason });
}

/** Parses a JSON body; an empty body is `undefined`, a malformed one 400 invalid_input. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw aitError('AIT_ERR_INVALID_INPUT', { reason: 'request body is not valid JSON' });
  }
}

export type RestHandler = (req: RestRequest) => Promise<RestResult>;

export function createRestHandler(deps: RestDeps): RestHandler {
  const appsById = new Map<string, ResolvedApp>(deps.config.apps.map((a) => [a.id, a]));
  const authByKey = new Map<string, AuthApp>(
    deps.config.apps.map((a) => [a.key, { id: a.id, key: a.key, secret: a.secret, enabled: a.enabled }]),
  );
  const lookupByKey = (key: string) => authByKey.get(key);

  return async function handleRest(req: RestRequest): Promise<RestResult> {
    const match = matchRoute(req.method, req.rawPath);
    if (match.kind === 'not_found') {
      return { response: errorResponse(aitError('AIT_ERR_NOT_FOUND', { reason: 'no such route' })) };
    }
    if (match.kind === 'method_not_allowed') {
      const err = aitError('AIT_ERR_METHOD_NOT_ALLOWED', { method: req.method, allow: match.allow.join(', ') });
      return { response: errorResponse(err) };
    }
    if (match.kind === 'bad_path') {
      return { response: errorResponse(aitError('AIT_ERR_INVALID_INPUT', { reason: match.reason })) };
    }
    const { route, params } = match;
    const verified = deps.verify(
      { method: req.method, rawPath: req.rawPath, rawQuery: req.rawQuery, body: req.body },
      params.appId,
      lookupByKey,
      deps.now(),
    );
    if (!verified.ok) return { response: errorResponse(verifyError(verified)), route };
    const app = appsById.get(verified.app.id);
    if (!app || app.id !== params.appId) {
      // The verifier guarantees this; keep the tenant boundary explicit anyway (I1).
      return { response: errorResponse(aitError('AIT_ERR_AUTH_FAILED', { reason: 'app mismatch' })), route };
    }
    const appId = app.id;
    const decision = deps.rateLimiter.check(appId, app.limits.httpRequestsPerSecond, deps.now());
    if (app.limits.httpRequestsPerSecond > 0) deps.metrics?.rateLimitCheck(appId, !decision.allowed);
    if (!decision.allowed) {
      const err = aitError('AIT_ERR_RATE_LIMITED', undefined, { retryAfterSeconds: decision.retryAfterSeconds });
      return { response: errorResponse(err), appId, route };
    }
    try {
      const body = parseJsonBody(req.body);
      const query = new URLSearchParams(req.rawQuery);
      const response = await HANDLERS[route]({ route, app, params, query, body, headers: req.headers, deps });
      return { response, appId, route };
    } catch (err) {
      const coded = toAitError(err);
      return {
        response: errorResponse(coded),
        appId,
        route,
        ...(coded.httpStatus >= 500 && { fault: err }),
      };
    }
  };
}
