// Errors of the Kubernetes API client, and the one place that decides which are transient
// (worth a retry with backoff: 429, 5xx, network failures, our own timeouts) and which are not
// (4xx: validation, conflicts, not found, forbidden — retrying cannot fix those).

/** A metav1.Status body, as the API server sends with every error. */
export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: Array<{ reason?: string; message?: string; field?: string }> };
}

/** An HTTP error answer of the API server. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly body: ApiStatus | undefined;
  readonly method: string;
  readonly path: string;
  /** From a Retry-After header (429/503), in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(
    method: string,
    path: string,
    status: number,
    body: ApiStatus | undefined,
    retryAfterMs?: number,
    text?: string,
  ) {
    const reason = body?.reason ?? (status === 0 ? 'NetworkError' : `HTTP${status}`);
    const detail = body?.message ?? text?.slice(0, 300) ?? '';
    super(`${method} ${path}: ${status} ${reason}${detail ? `: ${detail}` : ''}`);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.body = body;
    this.method = method;
    this.path = path;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The per-call deadline passed before the API server answered. */
export class KubeTimeoutError extends Error {
  constructor(method: string, path: string, timeoutMs: number) {
    super(`${method} ${path}: no answer within ${timeoutMs}ms`);
    this.name = 'KubeTimeoutError';
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: unknown } | undefined;
  if (typeof e?.code === 'string') return e.code;
  if (e?.cause) return codeOf(e.cause);
  return undefined;
}

/** Worth retrying: throttling, server errors, timeouts and broken connections. */
export function isTransient(err: unknown): boolean {
  if (err instanceof KubeApiError) return err.status === 429 || err.status >= 500 || err.status === 0;
  if (err instanceof KubeTimeoutError) return true;
  const code = codeOf(err);
  if (code && NETWORK_CODES.has(code)) return true;
  return /socket hang up|other side closed|premature close/i.test((err as Error | undefined)?.message ?? '');
}

const hasStatus = (err: unknown, status: number) => err instanceof KubeApiError && err.status === status;

export const isNotFound = (err: unknown): boolean => hasStatus(err, 404);
export const isGone = (err: unknown): boolean => hasStatus(err, 410);
export const isInvalid = (err: unknown): boolean => hasStatus(err, 422);
export const isConflict = (err: unknown): boolean =>
  err instanceof KubeApiError && err.status === 409 && err.reason !== 'AlreadyExists';
export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof KubeApiError && err.status === 409 && err.reason === 'AlreadyExists';

/** The message of any thrown value, with its causes (for logs, Events and conditions). */
export function errorMessage(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && depth < 5; depth++) {
    parts.push(cur instanceof Error ? cur.message : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(': ');
}
