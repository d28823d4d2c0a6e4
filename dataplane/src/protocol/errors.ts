// The error catalogue: every error a client can see, with its stable code, its wire code
// (Pusher/Sockudo close or error code for WebSocket, HTTP status + JSON `code` for REST),
// and the message template. docs/errors.md documents every entry and a test fails when the
// two disagree. Retired codes are never reused: mark them `retired: true` instead.

export interface ErrorSpec {
  /** WebSocket error/close code (PROTOCOL.md 1.4), when the error can reach a socket. */
  readonly wsCode?: number;
  /** Close the socket after sending the error frame. */
  readonly fatal?: boolean;
  /** HTTP status, when the error can answer a REST request. */
  readonly httpStatus?: number;
  /** The JSON body `code` of a REST error (PROTOCOL.md 7.7). */
  readonly httpCode?: string;
  /** AI Transport registry code (PROTOCOL.md 7.7), carried as `ai_code`. */
  readonly aiCode?: number;
  /** Default message; `{name}` placeholders are filled from the details given at creation. */
  readonly message: string;
  readonly retired?: true;
}

export const ERRORS = {
  // --- connection (fatal) ---
  AIT_ERR_APP_NOT_FOUND: { wsCode: 4001, fatal: true, message: 'App key {key} not in this cluster' },
  AIT_ERR_APP_DISABLED: { wsCode: 4003, fatal: true, httpStatus: 403, httpCode: 'forbidden', message: 'App disabled' },
  AIT_ERR_APP_OVER_QUOTA: { wsCode: 4004, fatal: true, message: 'App over connection quota' },
  AIT_ERR_ORIGIN_NOT_ALLOWED: { wsCode: 4009, fatal: true, message: 'Origin not allowed' },
  AIT_ERR_NODE_OVER_CAPACITY: { wsCode: 4100, fatal: true, message: 'Over capacity' },
  AIT_ERR_CLIENT_TOO_SLOW: { wsCode: 4100, fatal: true, message: 'Client too slow: send buffer full' },
  AIT_ERR_TOKEN_INVALID: { wsCode: 4009, fatal: true, message: 'Invalid capability token: {reason}' },
  AIT_ERR_TOKEN_ON_V1: { wsCode: 4009, fatal: true, message: 'Capability tokens require protocol 2' },
  AIT_ERR_TOKEN_EXPIRED_CLOSE: { wsCode: 4009, fatal: true, message: 'capability token expired' },
  AIT_ERR_TOKEN_REVOKED_CLOSE: { wsCode: 4009, fatal: true, message: 'capability token revoked' },
  AIT_ERR_USER_AUTH_TIMEOUT: { wsCode: 4009, fatal: true, message: 'Connection not authenticated within {seconds}s' },
  AIT_ERR_RECONNECT: { wsCode: 4200, fatal: true, message: 'Reconnect: {reason}' },
  AIT_ERR_PONG_TIMEOUT: { wsCode: 4201, fatal: true, message: 'Pong reply not received in time' },
  AIT_ERR_INACTIVITY: { wsCode: 4202, fatal: true, message: 'Closed after inactivity' },
  // --- non-fatal socket errors ---
  AIT_ERR_GENERIC: { wsCode: 4000, message: '{reason}' },
  AIT_ERR_INVALID_FRAME: { wsCode: 4000, message: 'Invalid frame: {reason}' },
  AIT_ERR_UNAUTHORIZED_SUBSCRIBE: {
    wsCode: 4009,
    message: 'Authentication error: Authentication signature required for this channel',
  },
  AIT_ERR_BAD_CHANNEL_AUTH: { wsCode: 4009, message: 'Authentication error: Channel requires authentication' },
  AIT_ERR_NOT_PERMITTED: { wsCode: 4009, message: 'Not permitted: {reason}' },
  AIT_ERR_SIGNIN_FAILED: { wsCode: 4009, message: 'Sign-in failed: {reason}' },
  AIT_ERR_INVALID_CHANNEL: { wsCode: 4300, message: 'Invalid channel name: {reason}' },
  AIT_ERR_PRESENCE_FULL: { wsCode: 4300, message: 'Presence channel {channel} is full' },
  AIT_ERR_PRESENCE_DATA: { wsCode: 4300, message: 'Invalid presence channel_data: {reason}' },
  AIT_ERR_CLIENT_EVENT: { wsCode: 4301, message: 'Client event rejected: {reason}' },
  AIT_ERR_CLIENT_EVENT_RATE: { wsCode: 4301, message: 'Client event rate limit exceeded' },
  AIT_ERR_TOKEN_REFRESH_FAILED: { wsCode: 4009, message: 'Token refresh failed: {reason}' },
  AIT_ERR_TERMINATED: { wsCode: 4009, fatal: true, message: 'Connection terminated by the server' },
  AIT_ERR_HISTORY_UNAVAILABLE: { wsCode: 4300, message: 'History not available: {reason}' },
  AIT_ERR_HISTORY_CONCURRENCY: { wsCode: 4301, message: 'Too many channel_history requests in flight (at most {max})' },
  AIT_ERR_RECOVERY_DISABLED: { wsCode: 4301, message: 'Connection recovery is not enabled' },
  AIT_ERR_RECOVERY_NO_POSITIONS: { wsCode: 4302, message: 'No channel recovery positions provided' },
  // --- REST ---
  AIT_ERR_AUTH_FAILED: { httpStatus: 401, httpCode: 'auth_failed', message: '{reason}' },
  AIT_ERR_INVALID_INPUT: { httpStatus: 400, httpCode: 'invalid_input', message: '{reason}' },
  AIT_ERR_MISSING_CHANNEL_INFO: { httpStatus: 400, httpCode: 'missing_channel_info', message: '{reason}' },
  AIT_ERR_LIMIT_EXCEEDED: { httpStatus: 400, httpCode: 'limit_exceeded', message: '{reason}' },
  AIT_ERR_FORBIDDEN: { httpStatus: 403, httpCode: 'forbidden', message: '{reason}' },
  AIT_ERR_NOT_FOUND: { httpStatus: 404, httpCode: 'not_found', message: '{reason}' },
  AIT_ERR_PAYLOAD_TOO_LARGE: { httpStatus: 413, httpCode: 'payload_too_large', aiCode: 40009, message: '{reason}' },
  AIT_ERR_FEATURE_DISABLED: { httpStatus: 422, httpCode: 'feature_disabled', message: '{reason}' },
  AIT_ERR_RATE_LIMITED: { httpStatus: 429, httpCode: 'rate_limited', message: 'Rate limit exceeded' },
  AIT_ERR_BACKPRESSURE: { httpStatus: 503, httpCode: 'backpressure', message: '{reason}' },
  AIT_ERR_UNAVAILABLE: { httpStatus: 503, httpCode: 'service_unavailable', message: '{reason}' },
  AIT_ERR_INTERNAL: { httpStatus: 500, httpCode: 'internal_error', message: 'Internal error' },
  AIT_ERR_METHOD_NOT_ALLOWED: {
    httpStatus: 405,
    httpCode: 'method_not_allowed',
    message: 'Method {method} not allowed here; allowed: {allow}',
  },
  AIT_ERR_REQUEST_TIMEOUT: {
    httpStatus: 408,
    httpCode: 'request_timeout',
    message: 'Request not received within {ms} ms',
  },
  // --- AI Transport (PROTOCOL.md 7.7); on WebSocket they travel as 4000 + ai_code (decision 3) ---
  AIT_ERR_AI_INVALID_HEADER: {
    wsCode: 4000,
    httpStatus: 400,
    httpCode: 'ai_invalid_transport_header',
    aiCode: 104000,
    message: '{reason}',
  },
  AIT_ERR_AI_HEADER_TOO_LARGE: {
    wsCode: 4000,
    httpStatus: 413,
    httpCode: 'ai_header_too_large',
    aiCode: 104001,
    message: '{reason}',
  },
  AIT_ERR_AI_CLIENT_ID_SPOOF: {
    wsCode: 4000,
    httpStatus: 403,
    httpCode: 'ai_client_id_spoof',
    aiCode: 104002,
    message: '{reason}',
  },
  AIT_ERR_AI_EVENT_NOT_PERMITTED: {
    wsCode: 4000,
    httpStatus: 403,
    httpCode: 'ai_event_not_permitted',
    aiCode: 104003,
    message: '{reason}',
  },
  AIT_ERR_MUTABLE_NOT_PERMITTED: {
    httpStatus: 403,
    httpCode: 'mutable_not_permitted',
    aiCode: 93002,
    message: 'mutations not permitted on this channel',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

function fill(template: string, details: Record<string, string | number> | undefined): string {
  if (!details) return template;
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in details ? String(details[k]) : m));
}

/** An error with a stable code; the socket and HTTP layers translate it to the wire. */
export class AitError extends Error {
  readonly code: ErrorCode;
  readonly spec: ErrorSpec;
  /** Seconds for Retry-After on 429/503. */
  readonly retryAfterSeconds: number | undefined;
  readonly channel: string | undefined;
  constructor(
    code: ErrorCode,
    details?: Record<string, string | number>,
    opts: { cause?: unknown; retryAfterSeconds?: number; channel?: string } = {},
  ) {
    const spec: ErrorSpec = ERRORS[code];
    super(fill(spec.message, details), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AitError';
    this.code = code;
    this.spec = spec;
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.channel = opts.channel;
  }
  get wsCode(): number {
    return this.spec.wsCode ?? 4000;
  }
  get fatal(): boolean {
    return this.spec.fatal === true;
  }
  get httpStatus(): number {
    return this.spec.httpStatus ?? 500;
  }
  /** The JSON body of a REST error response (PROTOCOL.md 2.5, 7.7). */
  httpBody(): { error: string; code: string; status: number; ai_code?: number } {
    const body: { error: string; code: string; status: number; ai_code?: number } = {
      error: this.message,
      code: this.spec.httpCode ?? 'internal_error',
      status: this.httpStatus,
    };
    if (this.spec.aiCode !== undefined) body.ai_code = this.spec.aiCode;
    return body;
  }
}

/** The same error, naming the channel it is about (sent in the error frame's `channel`). */
export function withChannel(err: AitError, channel: string): AitError {
  if (err.channel === channel) return err;
  const copy = new AitError(err.code, undefined, {
    channel,
    cause: err.cause,
    ...(err.retryAfterSeconds !== undefined && { retryAfterSeconds: err.retryAfterSeconds }),
  });
  copy.message = err.message;
  return copy;
}

/** One factory for every coded error (STYLE.md 10). */
export function aitError(
  code: ErrorCode,
  details?: Record<string, string | number>,
  opts?: { cause?: unknown; retryAfterSeconds?: number; channel?: string },
): AitError {
  return new AitError(code, details, opts);
}
