// Mutual exclusion of the two disruptive operations on one cluster: a rollout step and a
// ChannelPolicy reset run (OPERATOR.md 6.5: resets never run during a rollout step, and a
// rollout never starts a step while a reset runs). Both run on the leader only, in this process,
// so an in-process lock per cluster is enough; what survives a leader change is in the status
// (status.rollout.state, the policy's Resetting condition), which both sides also read.

export type Operation = 'rollout' | 'reset';

/** What a reset run recorded in a ChannelPolicy's status (kept here too: see OperationLocks.recentReset). */
export interface ResetRecord {
  readonly lastHandledResetToken?: string;
  readonly lastReset?: { readonly startedAt?: string } & Record<string, unknown>;
}

export class OperationLocks {
  readonly #held = new Map<string, Operation>();
  readonly #resets = new Map<string, ResetRecord>();

  /**
   * The outcome of the last reset run this process made for a policy. The informer cache lags
   * behind our own status writes (the event of the Resetting=True write may be reconciled before
   * the final one arrives): the reset step prefers this record, so a handled token is never run
   * twice.
   */
  recentReset(policy: string): ResetRecord | undefined {
    return this.#resets.get(policy);
  }

  noteReset(policy: string, r: ResetRecord): void {
    this.#resets.set(policy, r);
    // bounded: policies come and go
    if (this.#resets.size > 10_000) this.#resets.delete(this.#resets.keys().next().value as string);
  }

  /** Who holds the cluster's lock, if anyone. */
  holder(cluster: string): Operation | undefined {
    return this.#held.get(cluster);
  }

  /** Takes the lock (re-entrant for the same operation); returns the release, or undefined when the other holds it. */
  tryAcquire(cluster: string, op: Operation): (() => void) | undefined {
    const cur = this.#held.get(cluster);
    if (cur !== undefined && cur !== op) return undefined;
    if (cur === op) return () => {};
    this.#held.set(cluster, op);
    return () => {
      if (this.#held.get(cluster) === op) this.#held.delete(cluster);
    };
  }
}

export const clusterLockKey = (namespace: string, name: string): string => `${namespace}/${name}`;
