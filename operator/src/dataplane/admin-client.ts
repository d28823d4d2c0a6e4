// The operator's client of the data plane's admin API (ops port 9601, bearer token; the types
// are the data plane's contract, dataplane/src/server/admin-types.ts). Every call has a deadline
// and is retried with full-jitter backoff, bounded, for transient failures only (connection
// errors, timeouts, 5xx); a 4xx (bad token, bad request) is never retried (STANDARDS F1, F2).
// Pod addresses are pod IPs: the caller passes them in.
import http from 'node:http';
import type {
  AdminChannelPage,
  AdminResetRequest,
  AdminResetResult,
  AdminStatus,
  DrainRequest,
  DrainStatus,
  FlushResult,
} from '../../../dataplane/src/server/admin-types.ts';
import type { Clock } from '../kube/clock.ts';
import { withRetry } from '../kube/retry.ts';

export type {
  AdminChannel,
  AdminChannelPage,
  AdminResetRequest,
  AdminResetResult,
  AdminStatus,
  DrainRequest,
  DrainStatus,
  FlushResult,
} from '../../../dataplane/src/server/admin-types.ts';

/** One pod's admin API. */
export interface AdminTarget {
  /** Pod IP (IPv6 without brackets is fine). */
  readonly host: string;
  readonly port: number;
  readonly token: string;
}

/** A failed admin call: `status` 0 for network errors and timeouts. */
export class AdminApiError extends Error {
  readonly status: number;
  /** The data plane's error code (`auth_failed`, `invalid_input`, …), or a network code. */
  readonly code: string;
  constructor(what: string, status: number, code: string, detail: string) {
    super(`${what}: ${status === 0 ? code : `${status} ${code}`}${detail ? `: ${detail}` : ''}`);
    this.name = 'AdminApiError';
    this.status = status;
    this.code = code;
  }
  get transient(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

export interface AdminClientOptions {
  readonly clock: Clock;
  /** Deadline per attempt (default 3 s). */
  readonly timeoutMs?: number;
  /** Tries per call, the first included (default 3). */
  readonly attempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly random?: () => number;
  readonly onRetry?: (what: string, err: unknown, attempt: number, delayMs: number) => void;
}

export interface CallOptions {
  readonly timeoutMs?: number;
  readonly attempts?: number;
  readonly signal?: AbortSignal;
}

const MAX_BODY = 4 * 1024 * 1024;

function hostPart(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** What the controllers use (AdminClient; tests may pass their own). */
export interface AdminApi {
  status(t: AdminTarget, call?: CallOptions): Promise<AdminStatus>;
  drain(t: AdminTarget, req: DrainRequest, call?: CallOptions): Promise<DrainStatus>;
  flush(t: AdminTarget, waitMs: number, call?: CallOptions): Promise<FlushResult>;
  channels(
    t: AdminTarget,
    q: { state: 'reset_required' | 'degraded' | 'non_healthy'; appId?: string; limit?: number; cursor?: string },
    call?: CallOptions,
  ): Promise<AdminChannelPage>;
  reset(t: AdminTarget, req: AdminResetRequest, call?: CallOptions): Promise<AdminResetResult>;
}

export class AdminClient implements AdminApi {
  readonly #o: AdminClientOptions;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 4, timeout: 30_000 });

  constructor(o: AdminClientOptions) {
    this.#o = o;
  }

  /** Closes idle keep-alive sockets (process shutdown, tests). */
  close(): void {
    this.#agent.destroy();
  }

  #once<T>(t: AdminTarget, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<T> {
    const what = `${method} ${hostPart(t.host)}:${t.port}${path}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = http.request(
        {
          host: t.host,
          port: t.port,
          method,
          path,
          agent: this.#agent,
          headers: {
            Authorization: `Bearer ${t.token}`,
            Accept: 'application/json',
            ...(payload !== undefined
              ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) }
              : {}),
          },
          signal: AbortSignal.timeout(timeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) {
              res.destroy(new AdminApiError(what, 0, 'EBODYTOOLARGE', `answer over ${MAX_BODY} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on('error', (err) => reject(toAdminError(what, err, timeoutMs)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : null;
            } catch {
              reject(new AdminApiError(what, status || 0, 'EBADJSON', text.slice(0, 200)));
              return;
            }
            if (status >= 200 && status < 300) {
              resolve(json as T);
              return;
            }
            const e = (json ?? {}) as { code?: string; error?: string };
            reject(new AdminApiError(what, status, e.code ?? `HTTP${status}`, e.error ?? ''));
          });
        },
      );
      req.on('error', (err) => reject(toAdminError(what, err, timeoutMs)));
      req.end(payload);
    });
  }

  #call<T>(t: AdminTarget, method: 'GET' | 'POST', path: string, body?: unknown, call: CallOptions = {}): Promise<T> {
    const timeoutMs = call.timeoutMs ?? this.#o.timeoutMs ?? 3_000;
    return withRetry(() => this.#once<T>(t, method, path, body, timeoutMs), {
      attempts: call.attempts ?? this.#o.attempts ?? 3,
      baseMs: this.#o.baseDelayMs ?? 100,
      maxMs: this.#o.maxDelayMs ?? 1_000,
      clock: this.#o.clock,
      retryable: (err) => err instanceof AdminApiError && err.transient,
      ...(this.#o.random ? { random: this.#o.random } : {}),
      ...(call.signal ? { signal: call.signal } : {}),
      onRetry: (err, attempt, delay) => this.#o.onRetry?.(`${method} ${path}`, err, attempt, delay),
    });
  }

  /** GET /admin/status: connections, drain, history health, pipeline, policies. */
  status(t: AdminTarget, call?: CallOptions): Promise<AdminStatus> {
    return this.#call(t, 'GET', '/admin/status', undefined, call);
  }

  /** POST /admin/drain: readiness off, 4200 closes in batches (idempotent: one drain per process). */
  drain(t: AdminTarget, req: DrainRequest, call?: CallOptions): Promise<DrainStatus> {
    return this.#call(t, 'POST', '/admin/drain', req, call);
  }

  /** POST /admin/flush: held rollups out now, queued writes waited for up to `waitMs`. */
  flush(t: AdminTarget, waitMs: number, call?: CallOptions): Promise<FlushResult> {
    // The data plane waits up to waitMs itself: the deadline must outlast it.
    return this.#call(t, 'POST', '/admin/flush', { timeoutMs: waitMs }, { timeoutMs: waitMs + 3_000, ...call });
  }

  /** GET /admin/channels: one page of non-healthy channels. */
  channels(
    t: AdminTarget,
    q: { state: 'reset_required' | 'degraded' | 'non_healthy'; appId?: string; limit?: number; cursor?: string },
    call?: CallOptions,
  ): Promise<AdminChannelPage> {
    const params = new URLSearchParams({ state: q.state });
    if (q.appId !== undefined) params.set('app_id', q.appId);
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    if (q.cursor) params.set('cursor', q.cursor);
    return this.#call(t, 'GET', `/admin/channels?${params.toString()}`, undefined, call);
  }

  /** POST /admin/history/reset: with expectState the data plane re-checks the state right before the reset. */
  reset(t: AdminTarget, req: AdminResetRequest, call?: CallOptions): Promise<AdminResetResult> {
    return this.#call(t, 'POST', '/admin/history/reset', req, call);
  }
}

function toAdminError(what: string, err: unknown, timeoutMs: number): AdminApiError {
  if (err instanceof AdminApiError) return err;
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.code === 'ABORT_ERR') {
    return new AdminApiError(what, 0, 'ETIMEDOUT', `no answer within ${timeoutMs}ms`);
  }
  return new AdminApiError(what, 0, e?.code ?? e?.cause?.code ?? 'ENETWORK', e?.message ?? String(err));
}
