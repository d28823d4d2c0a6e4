// A deadline for one store call (STANDARDS F1): the store may be a network hop away (Redis), and
// a publish must never wait on it forever. A timed-out call is a retryable `store_unavailable`
// error; its eventual result is ignored (a late write is harmless: writes are idempotent by
// message_id / op_id, and serials are reserved atomically with them).
import { HistoryError } from '../history/types.ts';

export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HistoryError('store_unavailable', `${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** A store error a retry may fix (the store is unreachable or timed out). */
export function isRetryableStoreError(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && 'retryable' in err && (err as { retryable: unknown }).retryable === true
  );
}
