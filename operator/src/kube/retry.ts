// Exponential backoff with full jitter (delay = random(0, min(max, base·2^attempt))), for
// transient errors only, bounded in attempts. Time comes from an injected Clock.
import type { Clock } from './clock.ts';
import { isTransient, KubeApiError } from './errors.ts';

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Full-jitter delay before retry number `attempt` (0-based). */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

export interface RetryOptions extends BackoffOptions {
  /** Total tries, the first included. */
  readonly attempts: number;
  readonly clock: Clock;
  readonly random?: () => number;
  readonly retryable?: (err: unknown) => boolean;
  readonly signal?: AbortSignal;
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export const DEFAULT_RETRY = { attempts: 5, baseMs: 200, maxMs: 5_000 } as const;

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const retryable = o.retryable ?? isTransient;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt + 1 >= o.attempts || !retryable(err) || o.signal?.aborted) throw err;
      let delay = backoffDelay(attempt, o, o.random);
      // A Retry-After from the server (429/503) is a floor, still capped by maxMs.
      if (err instanceof KubeApiError && err.retryAfterMs !== undefined) {
        delay = Math.max(delay, Math.min(err.retryAfterMs, o.maxMs));
      }
      o.onRetry?.(err, attempt + 1, delay);
      await o.clock.sleep(delay, o.signal);
      if (o.signal?.aborted) throw err;
    }
  }
}
