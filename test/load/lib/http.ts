// Loopback HTTP helpers of the benchmarks: a free port, polling, and bounded requests (every
// request has a timeout; a failed request resolves with status 0 and the error, it never
// rejects, so a burst of in-flight requests cannot crash the run with an unhandled rejection).
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { signRequest } from '../../../dataplane/src/auth/index.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface HttpResult {
  status: number;
  body: string;
  error?: string;
}

/** Keep-alive agent so a request costs the server a request, not a TCP handshake. */
export const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

export function httpRequest(
  port: number,
  method: string,
  path: string,
  body?: string,
  opts: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { ...opts.headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = request(
      { host: '127.0.0.1', port, path, method, headers, agent: keepAlive, timeout: opts.timeoutMs ?? 5_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => resolve({ status: 0, body: '', error: err.message }));
      },
    );
    req.on('error', (err) => resolve({ status: 0, body: '', error: err.message }));
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.end(body);
  });
}

export interface AppCredentials {
  id: string;
  key: string;
  secret: string;
}

/** A signed REST call (`/apps/{id}/…`), as an agent backend makes it. */
export function signedRequest(
  port: number,
  app: AppCredentials,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs?: number,
): Promise<HttpResult> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const query = signRequest(app, method, path, {}, text, Date.now());
  return httpRequest(port, method, `${path}?${query}`, text, {
    ...(timeoutMs !== undefined && { timeoutMs }),
  });
}
