// PrometheusRule `<name>`: the alerts of OPERATOR.md 6.7 and the OPERATIONS.md alert table for
// one cluster, grouped by area (`aitransport.<ns>.<cluster>.<area>`). Every alert carries
// severity, namespace and aitransportcluster labels plus the CR's additionalRuleLabels, and
// summary, description and runbook_url (`<runbookBaseURL>#<alert name in lower case>`).
// disabledAlerts drops alerts; overrides change `for`, severity and threshold per alert.
//
// Metric names come from the data plane's catalog (dataplane/src/metrics/catalog.ts, its
// contract with the operator), looked up by typed name, after the CR's metrics prefix.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { type MetricName, metricSpec } from '../../../dataplane/src/metrics/catalog.ts';
import type { AlertName } from '../api/v1alpha1/alerts.ts';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import { durationMs } from '../api/v1alpha1/validate.ts';
import type { ObservedFacts } from './facts.ts';
import { applyMeta, childMeta, withInputHash, withLabels } from './meta.ts';
import { dataplaneName, metricsServiceName, ruleGroupName, rulesName } from './names.ts';

type Cluster = Readonly<AITransportCluster>;

/** A catalog metric name (without prefix); a name missing from the catalog does not compile. */
const m = (name: MetricName): string => metricSpec(name).name;

/** The data-plane metrics the alerts read (all scraped as `<prefix>_<name>`). */
export const METRIC = {
  connected: m('connected'),
  newConnections: m('new_connections_total'),
  rateLimitTriggered: m('rate_limit_triggered_total'),
  broadcastLatency: m('broadcast_latency_ms'),
  flushLatency: m('flush_latency'),
  appendsReceived: m('appends_received_total'),
  appendsDelivered: m('appends_delivered_total'),
  aiActiveStreams: m('ai_active_streams'),
  historyWriteFailures: m('history_write_failures_total'),
  historyQueueDepth: m('history_queue_depth'),
  historyDegraded: m('history_degraded_channels'),
  historyResetRequired: m('history_reset_required_channels'),
  historyRecoveryFailures: m('history_recovery_failures_total'),
  transportDropped: m('horizontal_transport_messages_dropped_total'),
  transportReconnections: m('horizontal_transport_reconnections_total'),
  transportQueueDepth: m('horizontal_transport_queue_depth'),
  openFds: m('process_open_fds'),
  eventLoopLagP99: m('nodejs_eventloop_lag_p99_seconds'),
  activeHandles: m('nodejs_active_handles_total'),
  /**
   * Not in the catalog yet: prom-client's default collectors export it next to process_open_fds
   * (same prefix). Ask the data plane to list it; a test names it as the only exception.
   */
  maxFds: 'process_max_fds',
} as const;

/** Operator metrics the rules read, and the labels naming the cluster on them. */
export const OPERATOR_METRIC = {
  rolloutStalled: 'aitransport_operator_rollout_stalled',
  resetStalled: 'aitransport_operator_reset_stalled',
  reconcileErrors: 'aitransport_operator_reconcile_errors_total',
  namespaceLabel: 'cluster_namespace',
  nameLabel: 'cluster',
} as const;

export type Severity = 'critical' | 'warning' | 'info';
type Area = 'availability' | 'operator' | 'history' | 'transport' | 'capacity' | 'latency' | 'runtime';
const AREAS: readonly Area[] = ['availability', 'operator', 'history', 'transport', 'capacity', 'latency', 'runtime'];

/** What an expression needs: `m` is the label matcher of this cluster's data-plane series, `p` the prefix. */
export interface ExprContext {
  readonly m: string;
  readonly p: string;
  readonly op: string;
  readonly ksm: string;
  readonly scrapeWindow: string;
  /** Range of the short rate windows: 1m, or four scrape intervals when that is longer (a rate needs two samples). */
  readonly shortWindow: string;
  readonly maxConnectionsPerPod: number;
}

export interface AlertDef {
  readonly name: AlertName;
  readonly area: Area;
  readonly severity: Severity;
  readonly for: string;
  /** Default threshold, for alerts that have one (overridable). */
  readonly threshold?: (c: Cluster) => number;
  readonly expr: (x: ExprContext, threshold: number) => string;
  readonly summary: string;
  readonly description: string;
  /** Why the alert is left out for this cluster, if it is. */
  readonly skip?: (c: Cluster) => string | undefined;
}

const fixed = (n: number) => () => n;

export const ALERTS: readonly AlertDef[] = [
  {
    name: 'AITransportClusterDown',
    area: 'availability',
    severity: 'critical',
    for: '2m',
    expr: (x) => `(count(up{${x.m}} == 1) or on() vector(0)) == 0`,
    summary: 'No data-plane pod of the cluster is being scraped successfully.',
    // The expression keeps no labels, so the text cannot use $labels (the rule labels name the cluster).
    description: 'Every WebSocket and REST client of the cluster is affected: check the pods and the metrics Service.',
  },
  {
    name: 'AITransportPodsUnavailable',
    area: 'availability',
    severity: 'warning',
    for: '10m',
    threshold: fixed(1),
    expr: (x, t) =>
      `(max(kube_statefulset_replicas{${x.ksm}}) - max(kube_statefulset_status_replicas_ready{${x.ksm}})) >= ${t}`,
    summary: 'Data-plane pods are not ready.',
    description:
      '{{ $value }} data-plane pods are not ready (kube-state-metrics); see the pod events and the Degraded condition.',
  },
  {
    name: 'AITransportRolloutStalled',
    area: 'operator',
    severity: 'warning',
    for: '5m',
    expr: (x) => `max(${OPERATOR_METRIC.rolloutStalled}{${x.op}}) == 1`,
    summary: 'The rolling upgrade stopped at a failed health gate.',
    description:
      'See status.rollout and the Stalled condition of the AITransportCluster; fix the pod or revert the spec.',
  },
  {
    name: 'AITransportOperatorReconcileErrors',
    area: 'operator',
    severity: 'warning',
    for: '15m',
    expr: (x) => `sum(rate(${OPERATOR_METRIC.reconcileErrors}{${x.op}}[10m])) > 0`,
    summary: 'The operator keeps failing to reconcile the cluster.',
    description: 'Reconciles keep failing; the operator logs and the Kubernetes Events of the cluster name the cause.',
  },
  {
    name: 'AITransportResetStalled',
    area: 'operator',
    severity: 'warning',
    for: '5m',
    expr: (x) => `max(${OPERATOR_METRIC.resetStalled}{${x.op}}) == 1`,
    summary: 'A ChannelPolicy history reset is stalled.',
    description: 'See the Stalled condition and status.lastReset of the ChannelPolicies of the cluster.',
  },
  {
    name: 'AITransportMetricsAbsent',
    area: 'availability',
    severity: 'info',
    for: '15m',
    expr: (x) => `absent(${x.p}${METRIC.connected}{${x.m}})`,
    summary: 'Data-plane metrics are missing.',
    description:
      'No connection gauge is scraped: the ServiceMonitor, the metrics prefix or the NetworkPolicy may be wrong.',
  },
  {
    name: 'AITransportHistoryResetRequired',
    area: 'history',
    severity: 'critical',
    for: '10m',
    expr: (x) => `max by (namespace, app_id) (${x.p}${METRIC.historyResetRequired}{${x.m}}) > 0`,
    summary: 'Channels of app {{ $labels.app_id }} lost durable history and need a reset.',
    description:
      '{{ $value }} channels are reset_required: recovery fails closed on them. Reset them through a ChannelPolicy.',
  },
  {
    name: 'AITransportHistoryDegraded',
    area: 'history',
    severity: 'warning',
    for: '1m',
    expr: (x) => `max by (namespace, app_id) (${x.p}${METRIC.historyDegraded}{${x.m}}) > 0`,
    summary: 'Durable history of app {{ $labels.app_id }} is degraded.',
    description: '{{ $value }} channels cannot persist history (is Redis reachable?). Live delivery continues.',
  },
  {
    name: 'AITransportHistoryWriteFailures',
    area: 'history',
    severity: 'warning',
    for: '10m',
    expr: (x) => `sum by (namespace) (rate(${x.p}${METRIC.historyWriteFailures}{${x.m}}[5m])) > 0`,
    summary: 'History writes are failing.',
    description: '{{ $value }} history writes per second fail; messages may be missing from history and recovery.',
  },
  {
    name: 'AITransportHistoryWriteFailuresSustained',
    area: 'history',
    severity: 'critical',
    for: '1h',
    expr: (x) => `sum by (namespace) (rate(${x.p}${METRIC.historyWriteFailures}{${x.m}}[5m])) > 0`,
    summary: 'History writes keep failing.',
    description: 'Sustained history write failures ({{ $value }}/s): recovery and rewind are unreliable.',
  },
  {
    name: 'AITransportHistoryQueueBacklog',
    area: 'history',
    severity: 'warning',
    for: '10m',
    threshold: (c) => c.spec.upgrade.healthGate.maxHistoryQueueDepth,
    expr: (x, t) => `max by (namespace, pod) (${x.p}${METRIC.historyQueueDepth}{${x.m}}) > ${t}`,
    summary: 'History write queue of {{ $labels.pod }} is backing up.',
    description: '{{ $value }} pending history writes; the store is slower than the write rate. Rollouts wait for it.',
  },
  {
    name: 'AITransportHistoryRecoveryFailures',
    area: 'history',
    severity: 'warning',
    for: '15m',
    expr: (x) => `sum by (namespace, code) (rate(${x.p}${METRIC.historyRecoveryFailures}{${x.m}}[10m])) > 0`,
    summary: 'Connection recoveries fail with {{ $labels.code }}.',
    description:
      'Clients cannot resume streams ({{ $value }}/s); check retention (position_expired) and channel states.',
  },
  {
    name: 'AITransportAdapterMessagesDropped',
    area: 'transport',
    severity: 'warning',
    for: '5m',
    expr: (x) => `sum by (namespace) (rate(${x.p}${METRIC.transportDropped}{${x.m}}[5m])) > 0`,
    summary: 'The horizontal transport drops messages between pods.',
    description: 'Messages published on one pod are not reaching others ({{ $value }}/s): check Redis pub/sub.',
  },
  {
    name: 'AITransportAdapterReconnecting',
    area: 'transport',
    severity: 'warning',
    for: '0m',
    threshold: fixed(3),
    expr: (x, t) => `sum by (namespace, pod) (increase(${x.p}${METRIC.transportReconnections}{${x.m}}[10m])) > ${t}`,
    summary: '{{ $labels.pod }} keeps reconnecting to the horizontal transport.',
    description: '{{ $value }} reconnections in 10 minutes: Redis is flapping or overloaded.',
  },
  {
    name: 'AITransportAdapterQueueGrowing',
    area: 'transport',
    severity: 'warning',
    for: '0m',
    expr: (x) =>
      `max by (namespace, pod) (deriv(${x.p}${METRIC.transportQueueDepth}{${x.m}}[${x.scrapeWindow}])) > 0 and max by (namespace, pod) (min_over_time(${x.p}${METRIC.transportQueueDepth}{${x.m}}[${x.scrapeWindow}])) > 0`,
    summary: 'Horizontal transport queue of {{ $labels.pod }} keeps growing.',
    description:
      'The queue grew across three scrape intervals: the pod cannot publish to Redis as fast as it produces.',
  },
  {
    name: 'AITransportConnectionsNearLimit',
    area: 'capacity',
    severity: 'warning',
    for: '5m',
    threshold: fixed(0.9),
    expr: (x, t) => `max by (namespace, pod) (${x.p}${METRIC.connected}{${x.m}}) > ${t} * ${x.maxConnectionsPerPod}`,
    summary: '{{ $labels.pod }} is close to its connection budget.',
    description: '{{ $value }} connections, near config.websocket.maxConnections; scale out (spec.replicas).',
    skip: (c) =>
      c.spec.config.websocket.maxConnections === 0 ? 'config.websocket.maxConnections is 0 (unlimited)' : undefined,
  },
  {
    name: 'AITransportReconnectStormUnshaped',
    area: 'capacity',
    severity: 'warning',
    for: '5m',
    threshold: fixed(1000),
    expr: (x, t) =>
      `(sum by (namespace) (rate(${x.p}${METRIC.newConnections}{${x.m}}[${x.shortWindow}])) > ${t}) unless on(namespace) (sum by (namespace) (rate(${x.p}${METRIC.rateLimitTriggered}{${x.m}}[${x.shortWindow}])) > 0)`,
    summary: 'A reconnect storm is not being shaped by rate limits.',
    description: '{{ $value }} new connections per second without any rate limiting: check the connection limits.',
  },
  {
    name: 'AITransportRateLimitingSustained',
    area: 'capacity',
    severity: 'warning',
    for: '10m',
    expr: (x) => `sum by (namespace, app_id) (rate(${x.p}${METRIC.rateLimitTriggered}{${x.m}}[5m])) > 0`,
    summary: 'Rate limits of app {{ $labels.app_id }} keep triggering.',
    description: 'Rate limiting stays active ({{ $value }}/s): a client misbehaves or limits are too low.',
  },
  {
    name: 'AITransportBroadcastLatencyHigh',
    area: 'latency',
    severity: 'warning',
    for: '10m',
    threshold: (c) => (c.spec.replicas > 1 ? 25 : 10),
    expr: (x, t) =>
      `histogram_quantile(0.99, sum by (namespace, le) (rate(${x.p}${METRIC.broadcastLatency}_bucket{${x.m}}[5m]))) > ${t}`,
    summary: 'p99 broadcast latency is high.',
    description: 'p99 broadcast latency is {{ $value }} ms (budget: 25 ms multi-node, 10 ms single node).',
  },
  {
    name: 'AITransportFlushLatencyHigh',
    area: 'latency',
    severity: 'warning',
    for: '10m',
    // The catalog's flush_latency is the delay past the rollup deadline, so "window + 5 ms" is 5.
    threshold: fixed(5),
    expr: (x, t) =>
      `histogram_quantile(0.999, sum by (namespace, le) (rate(${x.p}${METRIC.flushLatency}_bucket{${x.m}}[5m]))) > ${t}`,
    summary: 'Rollup flushes run late.',
    description:
      'p99.9 of rollup flushes are {{ $value }} ms past their window: the pods are CPU-starved or the event loop lags.',
  },
  {
    name: 'AITransportRollupRatioLow',
    area: 'latency',
    severity: 'info',
    for: '30m',
    threshold: fixed(0.05),
    expr: (x, t) =>
      `(sum by (namespace) (rate(${x.p}${METRIC.appendsDelivered}{${x.m}}[10m])) / sum by (namespace) (rate(${x.p}${METRIC.appendsReceived}{${x.m}}[10m]))) < ${t}`,
    summary: 'Rollup delivers far fewer frames than appends received.',
    description: 'Delivered/received append ratio is {{ $value }}: check the rollup window of the ChannelPolicies.',
  },
  {
    name: 'AITransportActiveStreamsNotDraining',
    area: 'runtime',
    severity: 'warning',
    for: '1h',
    expr: (x) => `deriv((sum by (namespace) (${x.p}${METRIC.aiActiveStreams}{${x.m}}))[1h:5m]) > 0`,
    summary: 'Active AI streams keep growing.',
    description:
      'Active streams keep rising without returning to baseline: producers leave runs unterminated, or the janitor is not running.',
  },
  {
    name: 'AITransportFileDescriptorsNearLimit',
    area: 'runtime',
    severity: 'warning',
    for: '10m',
    threshold: fixed(0.8),
    expr: (x, t) => `max by (namespace, pod) (${x.p}${METRIC.openFds}{${x.m}} / ${x.p}${METRIC.maxFds}{${x.m}}) > ${t}`,
    summary: '{{ $labels.pod }} is running out of file descriptors.',
    description: '{{ $value | humanizePercentage }} of the file-descriptor limit is in use.',
  },
  {
    name: 'AITransportEventLoopLagGrowing',
    area: 'runtime',
    severity: 'warning',
    for: '1h',
    threshold: fixed(0.1),
    // The lag first: the value of `a and b` is a's, and the description prints the lag, not its slope.
    expr: (x, t) =>
      `max by (namespace, pod) (${x.p}${METRIC.eventLoopLagP99}{${x.m}}) > ${t} and deriv((max by (namespace, pod) (${x.p}${METRIC.eventLoopLagP99}{${x.m}}))[1h:5m]) > 0`,
    summary: 'Event-loop lag of {{ $labels.pod }} keeps rising.',
    description: 'p99 event-loop lag is {{ $value }}s and rising after warm-up: a leak or blocking work on the loop.',
  },
  {
    name: 'AITransportActiveHandlesGrowing',
    area: 'runtime',
    severity: 'warning',
    for: '1h',
    threshold: fixed(1000),
    // Every socket is a handle: what leaks is what is left beyond the connections (timers,
    // sockets to Redis, file handles), high and still rising an hour on.
    expr: (x, t) => {
      const extra = `(max by (namespace, pod) (${x.p}${METRIC.activeHandles}{${x.m}}) - sum by (namespace, pod) (${x.p}${METRIC.connected}{${x.m}}))`;
      return `${extra} > ${t} and deriv(${extra}[1h:5m]) > 0`;
    },
    summary: '{{ $labels.pod }} holds more and more handles beyond its connections.',
    description:
      '{{ $value }} active handles beyond the open connections, and rising after warm-up: a handle leak (timers, sockets, files).',
  },
];

export interface PrometheusRule {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'PrometheusRule';
  metadata?: V1ObjectMeta;
  spec: { groups: RuleGroup[] };
}

export interface RuleGroup {
  name: string;
  rules: AlertingRule[];
}

export interface AlertingRule {
  alert: AlertName;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string };
}

const seconds = (ms: number): string => `${Math.max(1, Math.round(ms / 1000))}s`;

export function exprContext(c: Cluster): ExprContext {
  const ns = c.metadata.namespace as string;
  const p = c.spec.config.metrics.prefix;
  const intervalMs = durationMs(c.spec.monitoring.serviceMonitor.interval);
  return {
    m: `namespace="${ns}",job="${metricsServiceName(c)}"`,
    p: p ? `${p}_` : '',
    op: `${OPERATOR_METRIC.namespaceLabel}="${ns}",${OPERATOR_METRIC.nameLabel}="${c.metadata.name}"`,
    ksm: `namespace="${ns}",statefulset="${dataplaneName(c)}"`,
    scrapeWindow: seconds(3 * intervalMs),
    shortWindow: seconds(Math.max(60_000, 4 * intervalMs)),
    maxConnectionsPerPod: c.spec.config.websocket.maxConnections,
  };
}

export function runbookUrl(c: Cluster, alert: AlertName): string {
  return `${c.spec.monitoring.prometheusRule.runbookBaseURL}#${alert.toLowerCase()}`;
}

/** The alerting rules of a cluster after disabledAlerts and overrides, in catalog order, with the threshold used. */
export function alertingRules(c: Cluster): Array<{ area: Area; rule: AlertingRule; threshold: number }> {
  const pr = c.spec.monitoring.prometheusRule;
  const disabled = new Set<string>(pr.disabledAlerts ?? []);
  const x = exprContext(c);
  return ALERTS.filter((a) => !disabled.has(a.name) && !a.skip?.(c)).map((a) => {
    const o = pr.overrides?.[a.name];
    const threshold = o?.threshold ?? a.threshold?.(c) ?? 0;
    return {
      area: a.area,
      threshold,
      rule: {
        alert: a.name,
        expr: a.expr(x, threshold),
        for: o?.for ?? a.for,
        labels: {
          ...pr.additionalRuleLabels,
          severity: o?.severity ?? a.severity,
          namespace: c.metadata.namespace as string,
          aitransportcluster: c.metadata.name,
        },
        annotations: { summary: a.summary, description: a.description, runbook_url: runbookUrl(c, a.name) },
      },
    };
  });
}

export function renderPrometheusRule(c: Cluster, facts: ObservedFacts): PrometheusRule | undefined {
  const pr = c.spec.monitoring.prometheusRule;
  if (!pr.enabled || !facts.monitoring.prometheusRules || !c.spec.config.metrics.enabled) return undefined;
  const rules = alertingRules(c);
  const groups = AREAS.map((area) => ({
    name: ruleGroupName(c, area),
    rules: rules.filter((r) => r.area === area).map((r) => r.rule),
  })).filter((g) => g.rules.length > 0);
  const rule: PrometheusRule = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', spec: { groups } };
  return applyMeta(rule, withLabels(pr.labels ?? {}), ...childMeta(c, rulesName(c), 'monitoring'), withInputHash());
}
