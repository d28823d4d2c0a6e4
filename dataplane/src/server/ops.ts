// The ops listener (port 9601), separate from the public one so a NetworkPolicy can fence
// it: GET /metrics (Prometheus text), GET /livez, GET /readyz, and the admin API. JSON
// errors everywhere.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { aitError } from '../protocol/errors.ts';
import {
  answerClientError,
  errorResponse,
  type HttpResponse,
  json,
  readBody,
  splitTarget,
  toAitError,
  writeResponse,
} from './http-util.ts';
import { type AdminDeps, handleAdmin, isAdminPath } from './ops-admin.ts';
import type { Readiness } from './ops-readiness.ts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const ADMIN_BODY_LIMIT = 64 * 1024;
const OPS_TIMEOUT_MS = 10_000;

/** The part of a prom-client Registry the ops listener uses. */
export interface MetricsSource {
  metrics(): Promise<string>;
}

export interface OpsServerOptions {
  /** Undefined (or metrics.enabled false): /metrics answers 404. */
  metrics?: MetricsSource;
  readiness: Readiness;
  admin: AdminDeps;
  logger: Logger;
}

/** Routes one ops request to its response; exported for in-process tests. */
export async function routeOps(opts: OpsServerOptions, req: IncomingMessage): Promise<HttpResponse> {
  const method = req.method ?? 'GET';
  const { rawPath, rawQuery } = splitTarget(req.url);
  if (isAdminPath(rawPath)) {
    const body = method === 'POST' ? await readBody(req, ADMIN_BODY_LIMIT) : Buffer.alloc(0);
    return handleAdmin(opts.admin, method, rawPath, req.headers, body, rawQuery);
  }
  const probe = rawPath === '/metrics' || rawPath === '/livez' || rawPath === '/readyz';
  if (!probe) return errorResponse(aitError('AIT_ERR_NOT_FOUND', { reason: 'no such route' }));
  if (method !== 'GET' && method !== 'HEAD') {
    return errorResponse(aitError('AIT_ERR_METHOD_NOT_ALLOWED', { method, allow: 'GET, HEAD' }));
  }
  if (rawPath === '/livez') return json(200, { status: 'ok' });
  if (rawPath === '/readyz') {
    const report = await opts.readiness.evaluate();
    if (report.ready) return json(200, { status: 'ready', checks: report.checks });
    const reasons = Object.entries(report.checks).flatMap(([name, o]) => (o.ok ? [] : [`${name}: ${o.reason}`]));
    return json(503, { status: 'not_ready', reasons, checks: report.checks }, { 'Retry-After': '1' });
  }
  if (!opts.metrics) return errorResponse(aitError('AIT_ERR_NOT_FOUND', { reason: 'metrics are disabled' }));
  return { status: 200, body: await opts.metrics.metrics(), contentType: PROMETHEUS_CONTENT_TYPE };
}

export function createOpsServer(opts: OpsServerOptions): Server {
  const server = createServer({ requestTimeout: OPS_TIMEOUT_MS, headersTimeout: OPS_TIMEOUT_MS });
  server.on('clientError', answerClientError);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    routeOps(opts, req)
      .then((response) => {
        writeResponse(res, response, { headOnly: req.method === 'HEAD' });
        if (isAdminPath(splitTarget(req.url).rawPath)) {
          const line = { method: req.method, path: splitTarget(req.url).rawPath, status: response.status };
          opts.logger.info(line, 'admin request');
        }
      })
      .catch((err: unknown) => {
        const coded = toAitError(err);
        if (coded.httpStatus >= 500) opts.logger.error({ err }, 'ops request failed');
        // A body cut short by its limit: answer, then let the socket close.
        writeResponse(res, errorResponse(coded), { close: true });
      });
  });
  return server;
}
