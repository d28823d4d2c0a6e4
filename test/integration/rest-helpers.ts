// Helpers for the REST, ops and process integration tests: a raw HTTP client (exact paths,
// headers and bodies), a signer written independently of auth/ (so the tests check the wire
// format, not the implementation against itself), and config builders on loopback port 0.
import { createHash, createHmac } from 'node:crypto';
import { request } from 'node:http';
import { type ResolvedConfig, resolveConfig } from '../../dataplane/src/config/load.ts';
import { createLogger } from '../../dataplane/src/logger.ts';

export const APP = { id: 'app-1', key: 'key-1', secret: 'secret-1' };
export const OTHER_APP = { id: 'app-2', key: 'key-2', secret: 'secret-2' };
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => Record<string, unknown>;
}

export interface HttpCall {
  /** Default 127.0.0.1 (pod IPs elsewhere in 127.0.0.0/8 for the k8s tests). */
  host?: string;
  port: number;
  method?: string;
  path: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  /** Write the body in chunks with pauses (chunked encoding when no content-length is set). */
  chunks?: Buffer[];
  chunkDelayMs?: number;
  /** Fail when the whole exchange takes longer (default 30 s): a test never hangs on a dead peer. */
  timeoutMs?: number;
}

/** One HTTP/1.1 request on a fresh connection; resolves with the response even if the upload was cut. */
export function http(call: HttpCall): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: call.host ?? '127.0.0.1',
      port: call.port,
      method: call.method ?? 'GET',
      path: call.path,
      headers: call.headers,
      agent: false,
    });
    let answered = false;
    let cut: Error | undefined;
    const timer = setTimeout(
      () =>
        req.destroy(
          new Error(`${call.method ?? 'GET'} ${call.path}: no response within ${call.timeoutMs ?? 30_000} ms`),
        ),
      call.timeoutMs ?? 30_000,
    );
    req.on('close', () => {
      clearTimeout(timer);
      // Cut before any response (the peer died): a failure, not a hang.
      if (!answered)
        reject(cut ?? new Error(`${call.method ?? 'GET'} ${call.path}: connection closed without a response`));
    });
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The server may answer and close while we still upload (413): EPIPE/ECONNRESET after the
      // response are expected; before it, they are failures.
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
      else cut = err;
    });
    if (call.chunks) {
      let i = 0;
      const next = () => {
        if (req.destroyed) return;
        const chunk = call.chunks?.[i++];
        if (!chunk) return void req.end();
        req.write(chunk);
        setTimeout(next, call.chunkDelayMs ?? 0);
      };
      next();
    } else {
      req.end(call.body);
    }
  });
}

/** Pusher-style signed query (PROTOCOL.md 2.5), independent of dataplane/src/auth. */
export function signedQuery(
  app: { key: string; secret: string },
  method: string,
  path: string,
  body: string,
  params: Record<string, string> = {},
  nowSeconds = Math.floor(Date.now() / 1000),
): string {
  const all: Record<string, string> = {
    ...params,
    auth_key: app.key,
    auth_timestamp: String(nowSeconds),
    auth_version: '1.0',
  };
  if (body.length > 0) all.body_md5 = createHash('md5').update(body).digest('hex');
  const canonical = Object.keys(all)
    .sort()
    .map((k) => `${k}=${all[k]}`)
    .join('&');
  const signature = createHmac('sha256', app.secret).update(`${method}\n${path}\n${canonical}`).digest('hex');
  const encoded = Object.keys(all)
    .sort()
    .map((k) => `${k}=${encodeURIComponent(all[k] as string)}`)
    .join('&');
  return `${encoded}&auth_signature=${signature}`;
}

/** A signed request with a JSON (or raw string) body. */
export function signed(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  opts: {
    app?: typeof APP;
    params?: Record<string, string>;
    headers?: Record<string, string>;
    nowSeconds?: number;
    timeoutMs?: number;
    host?: string;
  } = {},
): Promise<HttpResult> {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const query = signedQuery(opts.app ?? APP, method, path, text, opts.params, opts.nowSeconds);
  return http({
    ...(opts.host ? { host: opts.host } : {}),
    port,
    method,
    path: `${path}?${query}`,
    body: text,
    headers: { 'content-type': 'application/json', ...opts.headers },
    ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }),
  });
}

/** A resolved config on loopback with free ports; `overrides` merge per top-level section. */
export function testConfig(overrides: Record<string, unknown> = {}): ResolvedConfig {
  const { server, ops, apps, ...rest } = overrides as {
    server?: object;
    ops?: object;
    apps?: unknown[];
  };
  return resolveConfig(
    {
      nodeId: 'test-node',
      server: { host: '127.0.0.1', port: 0, ...server },
      ops: { host: '127.0.0.1', port: 0, adminToken: ADMIN_TOKEN, ...ops },
      logging: { level: 'silent' },
      shutdown: { gracePeriodSeconds: 5, drainBatchIntervalMs: 0 },
      apps: apps ?? [APP, OTHER_APP],
      ...rest,
    },
    { env: {} },
  );
}

export const silentLogger = () => createLogger({ level: 'silent', format: 'json' });
