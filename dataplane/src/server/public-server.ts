// The public listener (port 6001): WebSocket upgrades go to the engine, `/apps/...` to the
// signed REST API, `/live` and `/up` to the health answers. Owns the socket-level concerns
// of REST: bounded body reading, the per-request time limit, Connection: close, request
// logs and byte counters.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/load.ts';
import { AitError, aitError } from '../protocol/errors.ts';
import {
  answerClientError,
  errorResponse,
  type HttpResponse,
  RequestAbortedError,
  readBody,
  requestIdFrom,
  splitTarget,
  writeResponse,
} from './http-util.ts';
import type { RestHandler } from './rest/handler.ts';
import { type HealthState, healthResponse, isHealthPath } from './rest/health.ts';
import type { RestMetrics, RestResult } from './rest/types.ts';

export interface PublicServerOptions {
  config: ResolvedConfig;
  rest: RestHandler;
  health: HealthState;
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  logger: Logger;
  metrics?: RestMetrics;
}

export function createPublicServer(opts: PublicServerOptions): Server {
  const { config, logger } = opts;
  const timeoutMs = config.server.requestTimeoutMs;
  const server = createServer({
    // Node's own limits stay as a backstop behind ours (headers must arrive in time too).
    requestTimeout: timeoutMs + 5_000,
    headersTimeout: Math.min(timeoutMs, 60_000),
  });
  server.on('clientError', answerClientError);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      opts.onUpgrade(req, socket, head);
    } catch (err) {
      logger.error({ err, path: splitTarget(req.url).rawPath }, 'upgrade handler failed');
      socket.destroy();
    }
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handleRequest(opts, timeoutMs, req, res).catch((err: unknown) => {
      logger.error({ err }, 'request handler failed');
      writeResponse(res, errorResponse(aitError('AIT_ERR_INTERNAL')), { close: true });
    });
  });
  return server;
}

async function handleRequest(
  opts: PublicServerOptions,
  timeoutMs: number,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = performance.now();
  const requestId = requestIdFrom(req.headers);
  const method = req.method ?? 'GET';
  const { rawPath, rawQuery } = splitTarget(req.url);
  let bodyRead = false;
  let timedOut = false;
  const send = (response: HttpResponse): number =>
    writeResponse(res, response, { close: true, requestId, headOnly: method === 'HEAD' });

  const timer = setTimeout(() => {
    timedOut = true;
    // Body still arriving: 408. Handler still running: 503, retryable (F1, F8).
    const err = bodyRead
      ? aitError('AIT_ERR_UNAVAILABLE', { reason: 'request timed out' }, { retryAfterSeconds: 1 })
      : aitError('AIT_ERR_REQUEST_TIMEOUT', { ms: timeoutMs });
    send(errorResponse(err));
    opts.logger.info({ requestId, method, path: rawPath, status: err.httpStatus }, 'request timed out');
  }, timeoutMs);
  timer.unref();
  res.once('close', () => clearTimeout(timer));

  if (isHealthPath(rawPath)) {
    send(healthResponse(method, rawPath, opts.health));
    return;
  }
  if (!rawPath.startsWith('/apps/')) {
    const reason = rawPath.startsWith('/app/') ? 'expected a WebSocket upgrade' : 'no such route';
    send(
      errorResponse(aitError(rawPath.startsWith('/app/') ? 'AIT_ERR_INVALID_INPUT' : 'AIT_ERR_NOT_FOUND', { reason })),
    );
    return;
  }

  let body: Buffer;
  try {
    body = await readBody(req, opts.config.server.maxBodyKb * 1024);
  } catch (err) {
    if (err instanceof RequestAbortedError) return;
    if (!timedOut)
      send(
        errorResponse(
          err instanceof AitError ? err : aitError('AIT_ERR_INVALID_INPUT', { reason: 'cannot read body' }),
        ),
      );
    logRequest(opts.logger, { requestId, method, rawPath, status: res.statusCode, started });
    return;
  }
  bodyRead = true;
  const result = await opts.rest({ method, rawPath, rawQuery, headers: req.headers, body, requestId });
  if (timedOut) return;
  const bytesOut = send(result.response);
  if (result.appId !== undefined) opts.metrics?.request(result.appId, body.length, bytesOut);
  logRequest(opts.logger, { requestId, method, rawPath, status: result.response.status, started, result });
}

function logRequest(
  logger: Logger,
  r: { requestId: string; method: string; rawPath: string; status: number; started: number; result?: RestResult },
): void {
  // Never the body or the query (which carries the signature); path, app and outcome only (O1).
  const line = {
    requestId: r.requestId,
    appId: r.result?.appId,
    route: r.result?.route,
    method: r.method,
    path: r.rawPath.length > 200 ? `${r.rawPath.slice(0, 200)}…` : r.rawPath,
    status: r.status,
    ms: Math.round((performance.now() - r.started) * 10) / 10,
  };
  if (r.status >= 500) logger.error({ ...line, err: r.result?.fault }, 'request failed');
  else if (r.status >= 400) logger.info(line, 'request rejected');
  else logger.debug(line, 'request');
}
