// HTTP to the API server, as plain JSON. Not client-node's generated API classes: those
// serialize through models that drop fields whose JSON name differs from the TypeScript one
// (docs/testing-k8s.md), and take no per-call deadline. client-node still provides what is hard
// to get right: the kubeconfig (in-cluster token refresh, exec/OIDC auth, TLS material).
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { type ApiStatus, KubeApiError, KubeTimeoutError } from './errors.ts';

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface RequestOptions {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Query;
  readonly body?: unknown;
  readonly contentType?: string;
  /** Deadline of this call; the caller's signal can end it earlier. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface StreamOptions extends Omit<RequestOptions, 'timeoutMs' | 'body' | 'contentType'> {
  /** Ends the stream (as a transient error) when no byte arrived for this long. */
  readonly idleTimeoutMs: number;
}

export interface Transport {
  request<T>(o: RequestOptions): Promise<T>;
  /** A streaming GET (watch): calls onLine per line; resolves when the server ends the stream. */
  stream(o: StreamOptions, onLine: (line: string) => void): Promise<void>;
}

function urlOf(server: string, path: string, query?: Query): URL {
  const url = new URL(server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const seconds = Number(v);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function toApiError(method: string, path: string, status: number, text: string, retryAfter?: number): KubeApiError {
  let body: ApiStatus | undefined;
  try {
    body = JSON.parse(text) as ApiStatus;
  } catch {
    body = undefined;
  }
  return new KubeApiError(method, path, status, body, retryAfter, text);
}

export interface TransportOptions {
  readonly userAgent: string;
}

/** A transport for the current context of `kc`; one keep-alive agent for every call. */
export async function createTransport(kc: KubeConfig, opts: TransportOptions): Promise<Transport> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('while loading the kubeconfig: no current cluster');
  const server = cluster.server;
  const tlsOpts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(tlsOpts);
  const isHttp = server.startsWith('http:');
  // A proxy needs client-node's agent; otherwise our own, with keep-alive.
  const agent: http.Agent = cluster.proxyUrl
    ? (tlsOpts.agent as http.Agent)
    : isHttp
      ? new http.Agent({ keepAlive: true })
      : new https.Agent({
          keepAlive: true,
          ca: tlsOpts.ca,
          cert: tlsOpts.cert,
          key: tlsOpts.key,
          ...(tlsOpts.rejectUnauthorized !== undefined ? { rejectUnauthorized: tlsOpts.rejectUnauthorized } : {}),
          ...(tlsOpts.servername ? { servername: tlsOpts.servername } : {}),
        });
  const send = isHttp ? http.request : https.request;

  /** Auth headers are computed per call: service-account tokens rotate, exec credentials expire. */
  async function authHeaders(): Promise<Record<string, string>> {
    const o: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(o);
    (o.agent as http.Agent | undefined)?.destroy();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    if (o.auth) headers.Authorization = `Basic ${Buffer.from(o.auth).toString('base64')}`;
    return headers;
  }

  async function open(
    method: string,
    path: string,
    query: Query | undefined,
    headers: Record<string, string>,
    signal: AbortSignal,
    body?: string,
  ): Promise<http.IncomingMessage> {
    const url = urlOf(server, path, query);
    const all = { ...(await authHeaders()), 'User-Agent': opts.userAgent, Accept: 'application/json', ...headers };
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers: all, agent, signal }, resolve);
      req.on('error', reject);
      req.end(body);
    });
  }

  return {
    async request<T>(o: RequestOptions): Promise<T> {
      const timeout = AbortSignal.timeout(o.timeoutMs);
      const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
      const body = o.body === undefined ? undefined : JSON.stringify(o.body);
      const headers: Record<string, string> = body
        ? { 'Content-Type': o.contentType ?? 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }
        : {};
      try {
        const res = await open(o.method, o.path, o.query, headers, signal, body);
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return (text ? JSON.parse(text) : {}) as T;
        throw toApiError(o.method, o.path, status, text, parseRetryAfter(res.headers['retry-after']));
      } catch (err) {
        if (timeout.aborted && !o.signal?.aborted) throw new KubeTimeoutError(o.method, o.path, o.timeoutMs);
        throw err;
      }
    },

    async stream(o: StreamOptions, onLine: (line: string) => void): Promise<void> {
      const local = new AbortController();
      const signal = o.signal ? AbortSignal.any([o.signal, local.signal]) : local.signal;
      let idle = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          idle = true;
          local.abort();
        }, o.idleTimeoutMs);
      };
      arm();
      try {
        const res = await open(o.method, o.path, o.query, {}, signal);
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Buffer[] = [];
          for await (const chunk of res) chunks.push(chunk as Buffer);
          throw toApiError(o.method, o.path, status, Buffer.concat(chunks).toString('utf8'));
        }
        res.setEncoding('utf8');
        let buffered = '';
        for await (const chunk of res) {
          arm();
          buffered += chunk as string;
          let nl = buffered.indexOf('\n');
          while (nl >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line) onLine(line);
            nl = buffered.indexOf('\n');
          }
        }
        if (buffered.trim()) onLine(buffered.trim());
      } catch (err) {
        if (idle) throw new KubeTimeoutError(o.method, o.path, o.idleTimeoutMs);
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
