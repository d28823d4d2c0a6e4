// What a reconcile may use: the API client, the informer caches, the Event recorder, the clock,
// the observed facts and a logger. The manager builds one; tests can build their own.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';
import type { Clock } from '../kube/clock.ts';
import type { ObjectRef } from '../kube/events.ts';
import type { ResourceType } from '../kube/resources.ts';
import type { ObservedFacts } from '../render/facts.ts';
import type { KubeObject } from '../render/meta.ts';

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

export interface ReconcileDeps {
  readonly client: KubeClient;
  readonly caches: Caches;
  readonly recorder: Recorder;
  readonly clock: Clock;
  /** Facts as of the last discovery (partition 0 until the rollout planner exists). */
  readonly facts: () => ObservedFacts;
  readonly randomToken?: () => string;
  readonly onChild?: (kind: string, action: ChildAction) => void;
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
