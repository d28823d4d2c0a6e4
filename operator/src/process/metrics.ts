// The operator's Prometheus metrics (prom-client, its own registry), served on --metrics-port
// at /metrics. The names are a contract with the Helm chart's alerts and the rendered
// PrometheusRule (render/prometheusrule.ts OPERATOR_METRIC): change them only together.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { OPERATOR_METRIC } from '../render/prometheusrule.ts';

export interface OperatorMetrics {
  readonly registry: Registry;
  /** Reconciles by kind and result (success | error | requeue_after). */
  readonly reconcileTotal: Counter<'kind' | 'result'>;
  /** Failed reconciles; the cluster labels let the rendered AITransportOperatorReconcileErrors alert select one cluster. */
  readonly reconcileErrors: Counter<'kind' | 'cluster_namespace' | 'cluster'>;
  readonly reconcileDuration: Histogram<'kind'>;
  readonly workqueueDepth: Gauge;
  /** 1 on the replica holding the Lease. */
  readonly leader: Gauge;
  /** Child applies by child kind and action (created | updated | unchanged | deleted). */
  readonly childApplies: Counter<'kind' | 'action'>;
  /** Informer watch restarts by resource and reason (gone = 410 relist, error = backoff). */
  readonly watchRestarts: Counter<'resource' | 'reason'>;
  /** API calls retried after a transient error. */
  readonly apiRetries: Counter<'verb'>;
  /** 1 while a cluster's rollout is stalled (read by the rendered AITransportRolloutStalled alert). */
  readonly rolloutStalled: Gauge<'cluster_namespace' | 'cluster'>;
  /** The step of a rollout in progress (pods at the new revision + 1), 0 when none runs. */
  readonly rolloutStep: Gauge<'cluster_namespace' | 'cluster'>;
  /** Disruptive rollout actions (drain, restart, deletePod, scaleDown). */
  readonly rolloutActions: Counter<'cluster_namespace' | 'cluster' | 'action'>;
  /** Channels handled by ChannelPolicy reset runs, by result (reset, would_reset, skipped, failed). */
  readonly resetChannels: Counter<'cluster_namespace' | 'cluster' | 'result'>;
  /** 1 while a ChannelPolicy's resets keep failing (read by the rendered AITransportResetStalled alert). */
  readonly resetStalled: Gauge<'cluster_namespace' | 'cluster' | 'policy'>;
}

export function createMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const p = 'aitransport_operator_';
  return {
    registry,
    reconcileTotal: new Counter({
      name: `${p}reconcile_total`,
      help: 'Reconciles by kind (AITransportCluster, ChannelPolicy) and result (success, error, requeue_after).',
      labelNames: ['kind', 'result'],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: OPERATOR_METRIC.reconcileErrors,
      help: 'Reconciles that failed (and will be retried with backoff), by kind and owning cluster.',
      labelNames: ['kind', OPERATOR_METRIC.namespaceLabel, OPERATOR_METRIC.nameLabel] as [
        'kind',
        'cluster_namespace',
        'cluster',
      ],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: `${p}reconcile_duration_seconds`,
      help: 'Time of one reconcile, by kind.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    workqueueDepth: new Gauge({
      name: `${p}workqueue_depth`,
      help: 'Keys waiting in the work queue (not counting the ones being reconciled).',
      registers: [registry],
    }),
    leader: new Gauge({
      name: `${p}leader`,
      help: '1 when this replica holds the leader Lease and runs the reconcile workers.',
      registers: [registry],
    }),
    childApplies: new Counter({
      name: `${p}child_applies_total`,
      help: 'Children of clusters by kind and action (created, updated, unchanged = apply skipped by input hash, deleted).',
      labelNames: ['kind', 'action'],
      registers: [registry],
    }),
    watchRestarts: new Counter({
      name: `${p}watch_restarts_total`,
      help: 'Informer watch restarts by resource and reason (gone: 410 relist; error: after backoff).',
      labelNames: ['resource', 'reason'],
      registers: [registry],
    }),
    rolloutStalled: new Gauge({
      name: OPERATOR_METRIC.rolloutStalled,
      help: '1 while the rolling upgrade of the cluster is stalled at a failed health gate (status.rollout, Stalled condition).',
      labelNames: [OPERATOR_METRIC.namespaceLabel, OPERATOR_METRIC.nameLabel] as ['cluster_namespace', 'cluster'],
      registers: [registry],
    }),
    rolloutStep: new Gauge({
      name: `${p}rollout_step`,
      help: 'Step of the rolling upgrade in progress: pods already at the new revision + 1; 0 when no rollout runs.',
      labelNames: [OPERATOR_METRIC.namespaceLabel, OPERATOR_METRIC.nameLabel] as ['cluster_namespace', 'cluster'],
      registers: [registry],
    }),
    rolloutActions: new Counter({
      name: `${p}rollout_actions_total`,
      help: 'Disruptive rollout actions by kind: drain (admin API), restart (partition lowered), deletePod (forced rollback), scaleDown.',
      labelNames: [OPERATOR_METRIC.namespaceLabel, OPERATOR_METRIC.nameLabel, 'action'] as [
        'cluster_namespace',
        'cluster',
        'action',
      ],
      registers: [registry],
    }),
    resetChannels: new Counter({
      name: `${p}reset_channels_total`,
      help: 'Channels handled by ChannelPolicy history resets, by result: reset, would_reset (dry run), skipped (no longer reset-required), failed.',
      labelNames: [OPERATOR_METRIC.namespaceLabel, OPERATOR_METRIC.nameLabel, 'result'] as [
        'cluster_namespace',
        'cluster',
        'result',
      ],
      registers: [registry],
    }),
    resetStalled: new Gauge({
      name: OPERATOR_METRIC.resetStalled,
      help: '1 while the history resets of a ChannelPolicy keep failing (its Stalled condition).',
      labelNames: [OPERATOR_METRIC.namespaceLabel, OPERATOR_METRIC.nameLabel, 'policy'] as [
        'cluster_namespace',
        'cluster',
        'policy',
      ],
      registers: [registry],
    }),
    apiRetries: new Counter({
      name: `${p}api_retries_total`,
      help: 'Kubernetes API calls retried after a transient error (429, 5xx, timeout, network), by HTTP verb.',
      labelNames: ['verb'],
      registers: [registry],
    }),
  };
}
