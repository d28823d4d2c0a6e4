// Per-app REST rate limit (`limits.httpRequestsPerSecond`, STANDARDS I2): a token bucket per
// app on this node, refilled continuously, with a burst of one second's worth. Pure: the
// clock is passed in.

export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until a request would be allowed (for Retry-After); 0 when allowed. */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  /** Takes one token from `appId`'s bucket; `perSecond` 0 means unlimited. */
  check(appId: string, perSecond: number, nowMs: number): RateDecision {
    if (perSecond <= 0) return { allowed: true, retryAfterSeconds: 0 };
    let bucket = this.#buckets.get(appId);
    if (!bucket) {
      bucket = { tokens: perSecond, updatedMs: nowMs };
      this.#buckets.set(appId, bucket);
    }
    const elapsed = Math.max(0, nowMs - bucket.updatedMs);
    bucket.tokens = Math.min(perSecond, bucket.tokens + (elapsed / 1000) * perSecond);
    bucket.updatedMs = nowMs;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    const waitMs = ((1 - bucket.tokens) / perSecond) * 1000;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }
}
