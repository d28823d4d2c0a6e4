// Mutual exclusion of the two disruptive operations on one cluster: a rollout step and a
// ChannelPolicy reset run (OPERATOR.md 6.5: resets never run during a rollout step, and a
// rollout never starts a step while a reset runs). Both run on the leader only, in this process,
// so an in-process lock per cluster is enough; what survives a leader change is in the status
// (status.rollout.state, the policy's Resetting condition), which both sides also read.

export type Operation = 'rollout' | 'reset';

export class OperationLocks {
  readonly #held = new Map<string, Operation>();

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
