// The retryable error of the shared-state stores that have no error type of their own (publish
// claims, claims, active streams, revocations, the HTTP idempotency cache). The history and
// version stores use HistoryError('store_unavailable') instead. Callers map it to 503
// service_unavailable with Retry-After (STANDARDS F3, F8) and may retry with backoff (F2).

/** The backing store could not be reached in time; the call may or may not have taken effect. */
export class StoreUnavailableError extends Error {
  readonly code = 'store_unavailable' as const;
  /** Always true: a later attempt may succeed. */
  readonly retryable = true as const;
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'StoreUnavailableError';
  }
}

export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return err instanceof StoreUnavailableError;
}
