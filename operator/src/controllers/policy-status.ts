// The status of a ChannelPolicy, computed from what the controller observed (pure). Applied
// means the policy is in the cluster's ConfigMap (channel-policies.json) with the content the
// operator rendered; the pods hot-reload that file, so no pod restarts for it.
import { type FieldError, formatFieldErrors } from '../api/field-error.ts';
import type { ChannelPolicyStatus } from '../api/v1alpha1/channelpolicy.ts';
import { type ConditionUpdate, setConditions } from './conditions.ts';
import type { ResetOutcome } from './policy-reset.ts';

export type PolicyClusterState =
  | { readonly kind: 'missing'; readonly name: string }
  | { readonly kind: 'notReconciled'; readonly why: string }
  | { readonly kind: 'ok'; readonly configMap: string };

export interface PolicyObservation {
  readonly generation: number;
  readonly now: string;
  readonly previous: ChannelPolicyStatus | undefined;
  readonly cluster: PolicyClusterState;
  readonly errors: readonly FieldError[];
  /** policyHash of the policy as it is now. */
  readonly hash: string;
  /** The ConfigMap holds the policy with that hash. */
  readonly inConfigMap: boolean;
  /** The reset step's outcome; undefined when it did not run (the reset fields are kept). */
  readonly reset?: ResetOutcome;
}

const ok = (type: string, reason: string, message: string): ConditionUpdate => ({
  type,
  status: 'True',
  reason,
  message,
});
const no = (type: string, reason: string, message: string): ConditionUpdate => ({
  type,
  status: 'False',
  reason,
  message,
});

export function computePolicyStatus(o: PolicyObservation): ChannelPolicyStatus {
  let ready: ConditionUpdate;
  let applied: ConditionUpdate;
  let stalled: ConditionUpdate = no('Stalled', 'AsExpected', '');
  const c = o.cluster;
  if (o.errors.length) {
    const msg = formatFieldErrors(o.errors);
    ready = no('Ready', 'InvalidSpec', msg);
    applied = no('Applied', 'InvalidSpec', 'not rendered into the ConfigMap: fix the spec');
    stalled = ok('Stalled', 'InvalidSpec', msg);
  } else if (c.kind === 'missing') {
    const msg = `no AITransportCluster ${c.name} in this namespace`;
    ready = no('Ready', 'ClusterNotFound', msg);
    applied = no('Applied', 'ClusterNotFound', msg);
  } else if (c.kind === 'notReconciled') {
    ready = no('Ready', 'ClusterNotReconciled', c.why);
    applied = no('Applied', 'ClusterNotReconciled', c.why);
  } else if (o.inConfigMap) {
    applied = ok(
      'Applied',
      'ConfigMapUpdated',
      `in ConfigMap ${c.configMap} (channel-policies.json); the pods reload it without a restart`,
    );
    ready = ok('Ready', 'Applied', 'the policy is applied');
  } else {
    applied = no('Applied', 'Pending', `waiting for the cluster reconcile to update ConfigMap ${c.configMap}`);
    ready = no('Ready', 'Pending', applied.message);
  }
  const updates = [ready, applied, stalled];
  const r = o.reset;
  if (r) {
    if (stalled.status === 'False' && r.failed) updates[2] = ok('Stalled', 'ResetFailed', r.failed);
    updates.push(
      r.resetRequired === undefined
        ? { type: 'ResetRequired', status: 'Unknown', reason: 'NotListed', message: r.message }
        : r.resetRequired > 0
          ? ok('ResetRequired', 'ChannelsResetRequired', `${r.resetRequired} channels: ${r.message}`)
          : no('ResetRequired', 'NoChannelsResetRequired', r.message),
      r.resetting ? ok('Resetting', 'ResetRunning', r.message) : no('Resetting', 'Idle', r.message),
    );
  }
  const status: ChannelPolicyStatus = {
    ...o.previous,
    observedGeneration: o.generation,
    conditions: setConditions(o.previous?.conditions, updates, o.generation, o.now, true),
  };
  if (applied.status === 'True') status.configHash = o.hash;
  if (r) {
    if (r.resetRequired !== undefined) status.resetRequiredChannels = r.resetRequired;
    if (r.lastHandledResetToken) status.lastHandledResetToken = r.lastHandledResetToken;
    if (r.lastReset) status.lastReset = r.lastReset;
  }
  return status;
}
