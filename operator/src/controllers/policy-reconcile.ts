// Reconcile of one ChannelPolicy. The policy itself is rendered by its cluster's reconcile (into
// channel-policies.json of the cluster's ConfigMap, which the pods hot-reload: a policy change
// never rolls pods); the watch of ChannelPolicies queues that cluster. Here: check the
// clusterRef and the policy's own rules, see whether the ConfigMap carries the policy as
// rendered now, and report that in the status. Steps:
//   observe → resets (policy-reset.ts: list, plan, run; owns ResetRequired/Resetting) → writeStatus
import { isDeepStrictEqual } from 'node:util';
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { FieldError } from '../api/field-error.ts';
import { ANNOTATION } from '../api/labels.ts';
import type { ChannelPolicy, ChannelPolicyStatus } from '../api/v1alpha1/channelpolicy.ts';
import type { AITransportCluster, ClusterStatus } from '../api/v1alpha1/cluster.ts';
import { rfc3339 } from '../kube/clock.ts';
import { isNotFound } from '../kube/errors.ts';
import { RESOURCE } from '../kube/resources.ts';
import { type ChannelPolicyDocument, policyHash } from '../render/configmap.ts';
import { sha256Hex, stableJson } from '../render/hash.ts';
import type { KubeObject } from '../render/meta.ts';
import { CONFIG_KEY, configMapName } from '../render/names.ts';
import type { ReconcileDeps, ReconcileRequest, ReconcileResult } from './context.ts';
import { parseCluster, parsePolicy } from './parse.ts';
import { type ResetOutcome, runResets } from './policy-reset.ts';
import { policiesNaming, selectPolicies } from './policy-select.ts';
import { computePolicyStatus, type PolicyClusterState, type PolicyObservation } from './policy-status.ts';

type RawPolicy = KubeObject & {
  metadata: { name: string; namespace: string; generation?: number; annotations?: Record<string, string> };
  spec?: { clusterRef?: { name?: string } };
  status?: ChannelPolicyStatus;
};

type RawCluster = KubeObject & {
  metadata: { name: string; namespace: string; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec?: { paused?: boolean };
  status?: ClusterStatus;
};

/** Whether channel-policies.json of the ConfigMap holds policy `name` with this hash. */
export function configMapHolds(cm: V1ConfigMap | undefined, name: string, hash: string): boolean {
  const text = cm?.data?.[CONFIG_KEY.policies];
  if (!text) return false;
  try {
    const doc = JSON.parse(text) as ChannelPolicyDocument;
    const entry = doc.policies?.find((p) => p.name === name);
    return entry !== undefined && sha256Hex(stableJson(entry)) === hash;
  } catch {
    return false;
  }
}

function whyNotReconciled(c: RawCluster): string | undefined {
  const a = c.metadata.annotations ?? {};
  if (c.metadata.deletionTimestamp) return `AITransportCluster ${c.metadata.name} is being deleted`;
  if (a[ANNOTATION.reconcile] === 'disabled')
    return `AITransportCluster ${c.metadata.name} has reconciliation disabled`;
  if (c.spec?.paused === true || a[ANNOTATION.pauseReconciliation] === 'true') {
    return `AITransportCluster ${c.metadata.name} is paused`;
  }
  return undefined;
}

export async function reconcilePolicy(deps: ReconcileDeps, req: ReconcileRequest): Promise<ReconcileResult> {
  const raw = deps.caches.get<RawPolicy>(RESOURCE.channelPolicy, req.namespace, req.name);
  if (!raw || raw.metadata.deletionTimestamp) return undefined;
  if (raw.metadata.annotations?.[ANNOTATION.reconcile] === 'disabled') {
    req.log.debug('reconcile disabled by annotation');
    return undefined;
  }
  const generation = raw.metadata.generation ?? 0;
  const parsed = parsePolicy(raw);
  const clusterName = raw.spec?.clusterRef?.name ?? '';
  const rawCluster = deps.caches.get<RawCluster>(RESOURCE.cluster, req.namespace, clusterName);

  let errors: FieldError[] = parsed.ok ? [] : parsed.errors;
  let cluster: PolicyClusterState;
  let inConfigMap = false;
  let accepted: ChannelPolicy[] = [];
  let parsedCluster: AITransportCluster | undefined;
  const hash = parsed.ok ? policyHash(parsed.value) : '';
  if (!rawCluster) {
    cluster = { kind: 'missing', name: clusterName };
  } else {
    const pc = parseCluster(rawCluster);
    const selection = selectPolicies(
      pc.ok ? pc.value : undefined,
      policiesNaming(deps.caches.list(RESOURCE.channelPolicy, req.namespace), req.namespace, clusterName),
    );
    if (parsed.ok) errors = selection.rejected.get(req.name) ?? [];
    accepted = selection.accepted;
    if (pc.ok) parsedCluster = pc.value;
    const why =
      whyNotReconciled(rawCluster) ?? (pc.ok ? undefined : `AITransportCluster ${clusterName} has an invalid spec`);
    const cmName = configMapName(rawCluster);
    if (why) cluster = { kind: 'notReconciled', why };
    else cluster = { kind: 'ok', configMap: cmName };
    inConfigMap = configMapHolds(
      deps.caches.get<V1ConfigMap>(RESOURCE.configMap, req.namespace, cmName),
      req.name,
      hash,
    );
  }
  const observation = (reset?: ResetOutcome): PolicyObservation => ({
    generation,
    now: rfc3339(deps.clock.now()),
    previous: raw.status,
    cluster,
    errors,
    hash,
    inConfigMap,
    ...(reset ? { reset } : {}),
  });
  let stored: unknown = JSON.parse(JSON.stringify(raw.status ?? {}));
  const write = async (status: ChannelPolicyStatus): Promise<void> => {
    const next: unknown = JSON.parse(JSON.stringify(status));
    if (isDeepStrictEqual(next, stored)) return;
    try {
      await deps.client.applyStatus(RESOURCE.channelPolicy, req.namespace, req.name, status);
      stored = next;
    } catch (err) {
      if (isNotFound(err)) return;
      throw new Error(`while writing the status of ChannelPolicy ${req.namespace}/${req.name}`, { cause: err });
    }
  };
  // Resets run only for an accepted policy of a reconciled cluster (leader only, like every reconcile).
  const me = accepted.find((p) => p.metadata.name === req.name);
  let reset: ResetOutcome | undefined;
  if (me && parsedCluster && cluster.kind === 'ok' && errors.length === 0) {
    reset = await runResets({
      deps,
      req,
      policy: me,
      previous: raw.status,
      cluster: parsedCluster,
      clusterStatus: rawCluster?.status,
      accepted,
      markResetting: (o) => write(computePolicyStatus(observation(o))),
    });
    deps.metrics?.resetStalled(req.namespace, clusterName, req.name, reset.failed !== undefined);
  }
  await write(computePolicyStatus(observation(reset)));
  // A cluster created later queues its policies (manager.ts). A policy that can reset looks at its
  // channels again soon: a channel turning reset_required raises no Kubernetes event.
  if (!reset) return undefined;
  return { requeueAfterMs: Math.min(reset.requeueAfterMs ?? POLICY_POLL_MS, POLICY_POLL_MS) };
}

/** How often a policy that can reset re-lists its reset-required channels. */
export const POLICY_POLL_MS = 30_000;
