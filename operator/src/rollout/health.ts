// What "healthy" means for one data-plane pod, from the pod object and its admin API
// (GET /admin/status): the health gate of a rollout step (OPERATOR.md 6.4 steps 3 and 8). Pure.
import type { AdminStatus } from '../dataplane/admin-client.ts';

/** The pod fields the rollout reads (from the informer cache). */
export interface PodView {
  readonly name: string;
  readonly ordinal: number;
  readonly uid: string;
  /** controller-revision-hash label: the StatefulSet revision the pod runs. */
  readonly revision?: string;
  readonly ready: boolean;
  /** lastTransitionTime of the Ready condition (ms). */
  readonly readySinceMs?: number;
  /** state.running.startedAt of the data-plane container (ms): a restart moves it. */
  readonly runningSinceMs?: number;
  readonly restartCount: number;
  readonly terminating: boolean;
  readonly createdMs: number;
  /** The aitransport.io/drained-at annotation (ms): the drain and flush of THIS pod object finished. */
  readonly drainedAtMs?: number;
  readonly ip?: string;
}

/** The answer of the pod's admin API in this pass. */
export type PodHealth =
  | { readonly kind: 'ok'; readonly status: AdminStatus }
  | { readonly kind: 'error'; readonly message: string };

export interface GateLimits {
  readonly maxResetRequiredChannels: number;
  readonly maxHistoryQueueDepth: number;
}

/**
 * Why the pod's data plane is not healthy, or undefined when it is. `storeWide` adds the
 * store-wide counts (reset-required channels): a gate before a step checks them, the
 * verification of one new pod does not (they are not that pod's doing).
 */
export function adminProblem(health: PodHealth | undefined, limits: GateLimits, storeWide = true): string | undefined {
  if (!health) return 'no pod IP yet';
  if (health.kind === 'error') return `admin API: ${health.message}`;
  const s = health.status;
  if (s.draining) return 'draining';
  if (!s.ready) return 'not ready (admin status)';
  if (!s.history.reachable) return `history store (${s.history.store}) unreachable`;
  if (storeWide && s.history.resetRequiredChannels > limits.maxResetRequiredChannels) {
    return `${s.history.resetRequiredChannels} reset-required channels (max ${limits.maxResetRequiredChannels})`;
  }
  if (s.pipeline.queueDepth > limits.maxHistoryQueueDepth) {
    return `history queue depth ${s.pipeline.queueDepth} (max ${limits.maxHistoryQueueDepth})`;
  }
  return undefined;
}

/**
 * Why a pod at the new revision is not yet verified (ready and healthy, without a restart, for
 * `stableMs`), or undefined when it is. The process's own uptime is checked too: a container
 * restarted between two probes keeps its Ready condition but not its uptime.
 */
export function stabilityProblem(
  pod: PodView,
  health: PodHealth | undefined,
  limits: GateLimits,
  stableMs: number,
  now: number,
): string | undefined {
  if (pod.terminating) return 'terminating';
  if (!pod.ready) return 'not Ready';
  const problem = adminProblem(health, limits, false);
  if (problem) return problem;
  const since = Math.max(pod.readySinceMs ?? pod.createdMs, pod.runningSinceMs ?? pod.createdMs);
  const readyFor = now - since;
  const uptime = health?.kind === 'ok' ? health.status.uptimeSeconds * 1000 : 0;
  const stableFor = Math.min(readyFor, uptime);
  if (stableFor < stableMs) return `stable for ${Math.floor(stableFor / 1000)}s of ${Math.ceil(stableMs / 1000)}s`;
  return undefined;
}
