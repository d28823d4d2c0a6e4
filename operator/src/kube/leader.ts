// Lease leader election (coordination.k8s.io/v1), the client-go algorithm: lease 15 s, renew
// deadline 10 s, retry period 2 s. Expiry is judged by the LOCAL time at which we last saw the
// record change (never by the holder's renewTime), so clock skew between replicas cannot make a
// follower take a live lease. A leader that cannot renew within the renew deadline stops leading
// (before the lease can expire for the others); the process then exits and Kubernetes restarts it.
import { type Clock, microTime } from './clock.ts';

export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** Reads and writes one Lease; writes are conditional on the resourceVersion read (409 otherwise). */
export interface LeaseClient {
  get(timeoutMs: number): Promise<{ record: LeaseRecord; resourceVersion: string } | undefined>;
  create(record: LeaseRecord, timeoutMs: number): Promise<string>;
  update(record: LeaseRecord, resourceVersion: string, timeoutMs: number): Promise<string>;
}

export interface LeaderElectorOptions {
  readonly identity: string;
  readonly client: LeaseClient;
  readonly clock: Clock;
  readonly random?: () => number;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  /** Lease API errors (logged by the caller; the elector just tries again). */
  readonly onError?: (err: unknown) => void;
  readonly onNewLeader?: (identity: string) => void;
}

export const LEASE_DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

/** client-go's JitterFactor for the retry period. */
const JITTER = 1.2;

export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  #observed: { record: LeaseRecord; resourceVersion: string; at: number } | undefined;
  #leader = false;
  #lastLeader = '';

  constructor(o: LeaderElectorOptions) {
    this.#o = o;
  }

  get identity(): string {
    return this.#o.identity;
  }

  isLeader(): boolean {
    return this.#leader;
  }

  get #leaseMs(): number {
    return this.#o.leaseDurationMs ?? LEASE_DEFAULTS.leaseDurationMs;
  }
  get #renewMs(): number {
    return this.#o.renewDeadlineMs ?? LEASE_DEFAULTS.renewDeadlineMs;
  }
  get #retryMs(): number {
    return this.#o.retryPeriodMs ?? LEASE_DEFAULTS.retryPeriodMs;
  }

  #noteLeader(record: LeaseRecord): void {
    const holder = record.holderIdentity ?? '';
    if (holder && holder !== this.#lastLeader) {
      this.#lastLeader = holder;
      this.#o.onNewLeader?.(holder);
    }
  }

  /** One attempt to take or keep the lease; true when we hold it afterwards. */
  async tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const now = this.#o.clock.now();
    const mine: LeaseRecord = {
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: Math.round(this.#leaseMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      const got = await this.#o.client.get(timeoutMs);
      if (!got) {
        const rv = await this.#o.client.create(mine, timeoutMs);
        this.#observed = { record: mine, resourceVersion: rv, at: this.#o.clock.now() };
        this.#noteLeader(mine);
        return true;
      }
      const { record } = got;
      if (!this.#observed || JSON.stringify(this.#observed.record) !== JSON.stringify(record)) {
        this.#observed = { record, resourceVersion: got.resourceVersion, at: this.#o.clock.now() };
      }
      this.#noteLeader(record);
      const holder = record.holderIdentity ?? '';
      const durationMs = (record.leaseDurationSeconds ?? Math.round(this.#leaseMs / 1000)) * 1000;
      const held = holder !== '' && holder !== this.#o.identity;
      if (held && this.#observed.at + durationMs > this.#o.clock.now()) return false;
      const next: LeaseRecord =
        holder === this.#o.identity
          ? {
              ...mine,
              acquireTime: record.acquireTime ?? mine.acquireTime,
              leaseTransitions: record.leaseTransitions ?? 0,
            }
          : { ...mine, leaseTransitions: (record.leaseTransitions ?? 0) + (holder ? 1 : 0) };
      const rv = await this.#o.client.update(next, got.resourceVersion, timeoutMs);
      this.#observed = { record: next, resourceVersion: rv, at: this.#o.clock.now() };
      this.#noteLeader(next);
      return true;
    } catch (err) {
      this.#o.onError?.(err);
      return false;
    }
  }

  #jittered(): number {
    return this.#retryMs * (1 + (this.#o.random ?? Math.random)() * (JITTER - 1));
  }

  /**
   * Blocks until this replica leads (resolves true) or `signal` aborts (false).
   */
  async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(this.#retryMs)) {
        this.#leader = true;
        return true;
      }
      await this.#o.clock.sleep(this.#jittered(), signal);
    }
    return false;
  }

  /**
   * Renews every retry period while leading. Resolves 'lost' when no renewal succeeded within
   * the renew deadline, 'stopped' when `signal` aborts.
   */
  async hold(signal: AbortSignal): Promise<'lost' | 'stopped'> {
    let lastRenew = this.#o.clock.now();
    while (!signal.aborted) {
      await this.#o.clock.sleep(this.#retryMs, signal);
      if (signal.aborted) break;
      const remaining = lastRenew + this.#renewMs - this.#o.clock.now();
      if (remaining <= 0) {
        this.#leader = false;
        return 'lost';
      }
      if (await this.tryAcquireOrRenew(Math.min(remaining, this.#retryMs * 2))) {
        lastRenew = this.#o.clock.now();
      } else if (this.#observed && (this.#observed.record.holderIdentity ?? '') !== this.#o.identity) {
        // Someone else holds the lease now: we are not the leader, whatever the deadline says.
        this.#leader = false;
        return 'lost';
      }
    }
    return 'stopped';
  }

  /**
   * Gives the lease up (holder cleared, 1 s duration) so another replica takes over at once
   * instead of waiting for expiry. Only when we hold it; errors are reported, not thrown.
   */
  async release(timeoutMs = 2_000): Promise<boolean> {
    const observed = this.#observed;
    if (!this.#leader || !observed || observed.record.holderIdentity !== this.#o.identity) return false;
    this.#leader = false;
    const now = microTime(this.#o.clock.now());
    try {
      await this.#o.client.update(
        {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: observed.record.leaseTransitions ?? 0,
        },
        observed.resourceVersion,
        timeoutMs,
      );
      return true;
    } catch (err) {
      this.#o.onError?.(err);
      return false;
    }
  }
}
