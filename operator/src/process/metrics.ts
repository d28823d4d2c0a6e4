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
    apiRetries: new Counter({
      name: `${p}api_retries_total`,
      help: 'Kubernetes API calls retried after a transient error (429, 5xx, timeout, network), by HTTP verb.',
      labelNames: ['verb'],
      registers: [registry],
    }),
  };
}
