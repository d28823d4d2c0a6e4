// What the controllers read from the data plane: the cluster's pods (from the Pod informer, by
// the data-plane selector labels), their admin API (GET /admin/status at the pod IP, with the
// admin token from its Secret), and the summary that goes into status.dataPlane. The pure parts
// (podView, summarizeDataPlane) are unit-tested; the rest is thin I/O.
import { isDeepStrictEqual } from 'node:util';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { ANNOTATION, LABEL } from '../api/labels.ts';
import type { AITransportCluster, ClusterStatus } from '../api/v1alpha1/cluster.ts';
import type { AdminApi, AdminTarget } from '../dataplane/admin-client.ts';
import { errorMessage } from '../kube/errors.ts';
import { RESOURCE } from '../kube/resources.ts';
import { selectorLabels } from '../render/meta.ts';
import { adminTokenMount } from '../render/mounts.ts';
import { adminTokenSecretName, CONTAINER, dataplaneName, PORT } from '../render/names.ts';
import type { PodHealth, PodView } from '../rollout/health.ts';
import type { ReconcileDeps } from './context.ts';

type Cluster = Readonly<AITransportCluster>;
export type DataPlaneStatus = NonNullable<ClusterStatus['dataPlane']>;

/** Without a change, status.dataPlane.lastCheckTime is refreshed at most this often (a quiet status). */
export const DATAPLANE_REFRESH_MS = 10 * 60_000;
/** Admin calls of the health probe: short, one retry (a reconcile must not hang on a dead pod). */
export const PROBE_CALL = { timeoutMs: 2_000, attempts: 2 } as const;

const ms = (t: string | Date | undefined): number | undefined => {
  if (t === undefined) return undefined;
  const v = typeof t === 'string' ? Date.parse(t) : t.getTime();
  return Number.isFinite(v) ? v : undefined;
};

/** The rollout's view of a pod; undefined when the name carries no ordinal (not a StatefulSet pod). */
export function podView(pod: V1Pod, stsName: string): PodView | undefined {
  const name = pod.metadata?.name ?? '';
  const m = new RegExp(`^${stsName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`).exec(name);
  if (!m) return undefined;
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const container = pod.status?.containerStatuses?.find((c) => c.name === CONTAINER.dataplane);
  const drained = pod.metadata?.annotations?.[ANNOTATION.drainedAt];
  const revision = pod.metadata?.labels?.[LABEL.revisionHash];
  const readySince = ms(ready?.lastTransitionTime);
  const runningSince = ms(container?.state?.running?.startedAt);
  const drainedAt = ms(drained);
  const ip = pod.status?.podIP;
  return {
    name,
    ordinal: Number(m[1]),
    uid: pod.metadata?.uid ?? '',
    ...(revision ? { revision } : {}),
    ready: ready?.status === 'True',
    ...(readySince !== undefined ? { readySinceMs: readySince } : {}),
    ...(runningSince !== undefined ? { runningSinceMs: runningSince } : {}),
    restartCount: container?.restartCount ?? 0,
    terminating: pod.metadata?.deletionTimestamp !== undefined && pod.metadata?.deletionTimestamp !== null,
    createdMs: ms(pod.metadata?.creationTimestamp) ?? 0,
    ...(drainedAt !== undefined ? { drainedAtMs: drainedAt } : {}),
    ...(ip ? { ip } : {}),
  };
}

/** The data-plane pods of the cluster, from the informer cache, by ordinal. */
export function dataPlanePods(deps: ReconcileDeps, c: Cluster): { raw: Map<string, V1Pod>; views: PodView[] } {
  const want = selectorLabels(c, 'dataplane');
  const raw = new Map<string, V1Pod>();
  const views: PodView[] = [];
  for (const p of deps.caches.list<V1Pod>(RESOURCE.pod, c.metadata.namespace)) {
    const labels = p.metadata?.labels ?? {};
    if (!Object.entries(want).every(([k, v]) => labels[k] === v)) continue;
    const v = podView(p, dataplaneName(c));
    if (!v) continue;
    raw.set(v.name, p);
    views.push(v);
  }
  views.sort((a, b) => a.ordinal - b.ordinal);
  return { raw, views };
}

/** The admin token: the operator's own Secret from the cache, the user's by a GET. */
export async function adminToken(deps: ReconcileDeps, c: Cluster): Promise<string | undefined> {
  const m = adminTokenMount(c);
  const ns = c.metadata.namespace ?? '';
  const own = m.secretName === adminTokenSecretName(c);
  const secret = own
    ? (deps.caches.get<V1Secret>(RESOURCE.secret, ns, m.secretName) ??
      (await deps.client.get<V1Secret>(RESOURCE.secret, ns, m.secretName)))
    : await deps.client.get<V1Secret>(RESOURCE.secret, ns, m.secretName);
  const b64 = secret?.data?.[m.keys[0] ?? 'token'];
  if (!b64) return undefined;
  return Buffer.from(b64, 'base64').toString('utf8').trim() || undefined;
}

export function adminTarget(pod: PodView, token: string): AdminTarget | undefined {
  return pod.ip ? { host: pod.ip, port: PORT.ops, token } : undefined;
}

/** GET /admin/status of every pod with an IP (not terminating), in parallel. */
export async function probePods(
  admin: AdminApi,
  pods: readonly PodView[],
  token: string | undefined,
): Promise<Map<string, PodHealth>> {
  const out = new Map<string, PodHealth>();
  await Promise.all(
    pods.map(async (p) => {
      if (p.terminating) return;
      if (!token) {
        out.set(p.name, { kind: 'error', message: 'no admin token (Secret missing or empty)' });
        return;
      }
      const t = adminTarget(p, token);
      if (!t) return;
      try {
        out.set(p.name, { kind: 'ok', status: await admin.status(t, PROBE_CALL) });
      } catch (err) {
        out.set(p.name, { kind: 'error', message: errorMessage(err) });
      }
    }),
  );
  return out;
}

/**
 * status.dataPlane from this pass's answers. Connections are summed over the pods; channel
 * counts are store-wide (every pod reports the same store), so the largest answer is taken.
 * lastCheckTime moves only when a number changed or DATAPLANE_REFRESH_MS passed, so a steady
 * cluster's status is not rewritten on every pass. Undefined when no pod was asked.
 */
export function summarizeDataPlane(
  health: ReadonlyMap<string, PodHealth>,
  previous: DataPlaneStatus | undefined,
  now: number,
  rfc3339: (ms: number) => string,
): DataPlaneStatus | undefined {
  if (health.size === 0) return previous;
  let connections = 0;
  let reset = 0;
  let degraded = 0;
  let reachable = 0;
  const problems: string[] = [];
  for (const [pod, h] of [...health.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (h.kind === 'error') {
      problems.push(`${pod}: ${h.message}`);
      continue;
    }
    reachable++;
    connections += h.status.connections;
    reset = Math.max(reset, h.status.history.resetRequiredChannels);
    degraded = Math.max(degraded, h.status.history.degradedChannels);
    if (!h.status.history.reachable) problems.push(`${pod}: history store (${h.status.history.store}) unreachable`);
  }
  const next: DataPlaneStatus = {
    ...(reachable ? { connections, resetRequiredChannels: reset, degradedChannels: degraded } : {}),
    reachablePods: reachable,
    ...(problems.length ? { message: problems.join('; ') } : {}),
  };
  const { lastCheckTime, ...prevRest } = previous ?? {};
  const last = lastCheckTime ? Date.parse(lastCheckTime) : undefined;
  if (previous && isDeepStrictEqual(prevRest, next) && last !== undefined && now - last < DATAPLANE_REFRESH_MS) {
    return previous;
  }
  return { ...next, lastCheckTime: rfc3339(now) };
}
