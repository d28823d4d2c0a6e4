// What a reconcile may use: the API client, the informer caches, the Event recorder, the clock,
// the observed facts and a logger. The manager builds one; tests can build their own.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AdminApi } from '../dataplane/admin-client.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Clock } from '../kube/clock.ts';
import type { ObjectRef } from '../kube/events.ts';
import type { ResourceType } from '../kube/resources.ts';
import type { ObservedFacts } from '../render/facts.ts';
import type { KubeObject } from '../render/meta.ts';
import type { OperationLocks } from './locks.ts';

/** Read access to the informer caches. */
export interface Caches {
  get<T extends KubeObject>(t: ResourceType, namespace: string | undefined, name: string): T | undefined;
  /** Every cached object of the kind (in one namespace when given). */
  list<T extends KubeObject>(t: ResourceType, namespace?: string): T[];
  /** Whether the caches cover this namespace for this kind (otherwise read from the API). */
  covers(t: ResourceType, namespace: string): boolean;
}

export interface Recorder {
  normal(regarding: ObjectRef, reason: string, action: string, note: string): void;
  warning(regarding: ObjectRef, reason: string, action: string, note: string): void;
}

export type ChildAction = 'created' | 'updated' | 'unchanged' | 'deleted';

/** What the rollout and reset report to the operator's metrics (process/metrics.ts). */
export interface OperationMetrics {
  rollout(namespace: string, cluster: string, o: { stalled: boolean; step: number }): void;
  rolloutAction(namespace: string, cluster: string, action: string): void;
  resetChannels(namespace: string, cluster: string, result: string, count: number): void;
  resetStalled(namespace: string, cluster: string, policy: string, stalled: boolean): void;
  /** The cluster is gone: drop its series. */
  forgetCluster(namespace: string, cluster: string): void;
}

export interface ReconcileDeps {
  readonly client: KubeClient;
  readonly caches: Caches;
  readonly recorder: Recorder;
  readonly clock: Clock;
  /** Facts as of the last discovery; the rollout step overrides partition and replicas (rollout/planner.ts). */
  readonly facts: () => ObservedFacts;
  readonly randomToken?: () => string;
  readonly onChild?: (kind: string, action: ChildAction) => void;
  /** The data planes' admin API; without it the rollout sees no pod as healthy (it never steps). */
  readonly admin?: AdminApi;
  /** Rollout steps vs reset runs, per cluster. */
  readonly operations?: OperationLocks;
  readonly metrics?: OperationMetrics;
  /** How often everything is reconciled anyway; also the retry interval of "waiting on the user" states. */
  readonly resyncMs: number;
}

export const defaultRandomToken = (): string => randomBytes(32).toString('hex');

/** What a step or a reconcile asks of the queue: come back later, or nothing. */
export type ReconcileResult = { readonly requeueAfterMs: number } | undefined;

export interface ReconcileRequest {
  readonly namespace: string;
  readonly name: string;
  readonly log: Logger;
}

export function refOf(obj: KubeObject & { metadata: { name: string; namespace?: string; uid?: string } }): ObjectRef {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    name: obj.metadata.name,
    namespace: obj.metadata.namespace ?? '',
    ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
  };
}
