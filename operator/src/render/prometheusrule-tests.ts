// promtool unit tests (`promtool test rules`) for the PrometheusRule of one cluster, generated
// from the same render function the operator uses (OPERATOR.md 6.7, OPERATIONS.md): for every
// alert left after disabledAlerts, one test group where it fires and at least one where it stays
// quiet, with the cluster's thresholds, `for` durations and severities (overrides included).
//
// Each alert has a scenario: input series that should make it fire or keep it quiet, and a small
// model of its expression (the PromQL functions it uses, written after Prometheus 3's
// promql/functions.go and quantile.go). The model finds when the firing series first satisfy the
// expression, so the tests know when the alert turns pending and when it fires, and what `$value`
// and `$labels` the annotations expand to; promtool then checks the rendered expressions agree.
// A scenario that cannot fire or cannot stay quiet with the cluster's threshold is an error
// naming the alert, not a silently skipped case.
import { metricSpec } from '../../../dataplane/src/metrics/catalog.ts';
import type { AlertName } from '../api/v1alpha1/alerts.ts';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import { durationMs } from '../api/v1alpha1/validate.ts';
import { podName } from './names.ts';
import {
  type AlertingRule,
  alertingRules,
  type ExprContext,
  exprContext,
  METRIC,
  OPERATOR_METRIC,
} from './prometheusrule.ts';

type Cluster = Readonly<AITransportCluster>;
type Labels = Readonly<Record<string, string>>;

// ---------------------------------------------------------------- the promtool test file

export interface PromtoolSeries {
  series: string;
  values: string;
}

export interface PromtoolAlert {
  exp_labels: Record<string, string>;
  exp_annotations: Record<string, string>;
}

export interface PromtoolAlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: PromtoolAlert[];
}

export interface PromtoolTestGroup {
  name: string;
  interval: string;
  input_series: PromtoolSeries[];
  alert_rule_test: PromtoolAlertTest[];
}

export interface PromtoolTestFile {
  rule_files: string[];
  evaluation_interval: string;
  tests: PromtoolTestGroup[];
}

export interface RuleTests {
  file: PromtoolTestFile;
  /** Per generated alert: how many firing and quiet test groups it got. */
  coverage: Record<string, { fires: number; quiet: number }>;
}

/** Rule evaluation interval of the tests (a typical Prometheus evaluation_interval). */
export const EVAL_INTERVAL_MS = 60_000;

// ---------------------------------------------------------------- a tiny PromQL model

/** One input series: `at(i)` is the value of the i-th sample (time i × step), undefined for none. */
interface SeriesDef {
  readonly name: string;
  readonly labels: Labels;
  readonly at: (i: number) => number | undefined;
}

interface Db {
  readonly series: readonly SeriesDef[];
  readonly stepMs: number;
}

/** A result sample; `exact` is false when the model only knows its sign (deriv). */
interface Sample {
  readonly labels: Labels;
  readonly v: number;
  readonly exact: boolean;
}

interface Point {
  readonly t: number;
  readonly v: number;
}

const LOOKBACK_MS = 5 * 60_000;

function matches(s: SeriesDef, name: string, matchers: Labels): boolean {
  return s.name === name && Object.entries(matchers).every(([k, v]) => s.labels[k] === v);
}

/** Samples with from < t <= to (Prometheus 3 ranges are left-open). */
function points(db: Db, s: SeriesDef, from: number, to: number): Point[] {
  const out: Point[] = [];
  const first = Math.max(0, Math.floor(from / db.stepMs) + 1);
  for (let i = first; i * db.stepMs <= to; i++) {
    const v = s.at(i);
    if (v !== undefined) out.push({ t: i * db.stepMs, v });
  }
  return out;
}

function instant(db: Db, name: string, matchers: Labels, at: number): Sample[] {
  return db.series
    .filter((s) => matches(s, name, matchers))
    .flatMap((s) => {
      const last = points(db, s, at - LOOKBACK_MS, at).at(-1);
      return last ? [{ labels: s.labels, v: last.v, exact: true }] : [];
    });
}

/** rate() / increase() as promql/functions.go extrapolatedRate computes them (float series). */
function extrapolated(pts: Point[], rangeStart: number, rangeEnd: number, isRate: boolean): number | undefined {
  const first = pts[0];
  const last = pts.at(-1);
  if (!first || !last || pts.length < 2) return undefined;
  let result = last.v - first.v;
  for (let i = 1; i < pts.length; i++) {
    const prev = pts[i - 1] as Point;
    if ((pts[i] as Point).v < prev.v) result += prev.v;
  }
  let durationToStart = (first.t - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - last.t) / 1000;
  const sampledInterval = (last.t - first.t) / 1000;
  const average = sampledInterval / (pts.length - 1);
  const threshold = average * 1.1;
  if (durationToStart >= threshold) durationToStart = average / 2;
  let durationToZero = durationToStart;
  if (result > 0 && first.v >= 0) durationToZero = sampledInterval * (first.v / result);
  if (durationToZero < durationToStart) durationToStart = durationToZero;
  if (durationToEnd >= threshold) durationToEnd = average / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= (rangeEnd - rangeStart) / 1000;
  return result * factor;
}

function overRange(
  db: Db,
  name: string,
  matchers: Labels,
  at: number,
  rangeMs: number,
  fn: (pts: Point[]) => { v: number; exact: boolean } | undefined,
): Sample[] {
  return db.series
    .filter((s) => matches(s, name, matchers))
    .flatMap((s) => {
      const r = fn(points(db, s, at - rangeMs, at));
      return r ? [{ labels: s.labels, ...r }] : [];
    });
}

const rate = (db: Db, name: string, m: Labels, at: number, rangeMs: number, isRate = true) =>
  overRange(db, name, m, at, rangeMs, (pts) => {
    const v = extrapolated(pts, at - rangeMs, at, isRate);
    return v === undefined ? undefined : { v, exact: true };
  });

/** The sign of deriv(): a constant series has slope 0 (as in promql linearRegression). */
function slope(pts: Point[]): { v: number; exact: boolean } | undefined {
  if (pts.length < 2) return undefined;
  const first = (pts[0] as Point).v;
  if (pts.every((p) => p.v === first)) return { v: 0, exact: true };
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p.t / 1000, 0) / n;
  const my = pts.reduce((a, p) => a + p.v, 0) / n;
  const num = pts.reduce((a, p) => a + (p.t / 1000 - mx) * (p.v - my), 0);
  const den = pts.reduce((a, p) => a + (p.t / 1000 - mx) ** 2, 0);
  return { v: num / den, exact: false };
}

const key = (l: Labels) => JSON.stringify(Object.entries(l).sort(([a], [b]) => a.localeCompare(b)));
const pick = (l: Labels, names: readonly string[]): Labels =>
  Object.fromEntries(names.filter((n) => l[n] !== undefined).map((n) => [n, l[n] as string]));

/** sum/max/min/count by (labels); `by` undefined aggregates everything into one sample. */
function aggregate(op: 'sum' | 'max' | 'min' | 'count', samples: Sample[], by?: readonly string[]): Sample[] {
  const groups = new Map<string, { labels: Labels; vs: Sample[] }>();
  for (const s of samples) {
    const labels = by ? pick(s.labels, by) : {};
    const k = key(labels);
    const g = groups.get(k) ?? { labels, vs: [] };
    g.vs.push(s);
    groups.set(k, g);
  }
  return [...groups.values()].map(({ labels, vs }) => {
    const values = vs.map((s) => s.v);
    // More than one series per group would need Prometheus' Kahan summation to match exactly.
    if (op === 'sum' && vs.length > 1) throw new Error('model: sum over several series is not modelled');
    const v =
      op === 'sum'
        ? (values[0] as number)
        : op === 'max'
          ? Math.max(...values)
          : op === 'min'
            ? Math.min(...values)
            : values.length;
    return { labels, v, exact: op === 'count' || vs.every((s) => s.exact) };
  });
}

const filter = (samples: Sample[], test: (v: number) => boolean) => samples.filter((s) => test(s.v));

/** Vector/vector arithmetic, one-to-one on all labels (the left side's labels). */
function binary(a: Sample[], b: Sample[], op: (x: number, y: number) => number): Sample[] {
  return a.flatMap((x) => {
    const y = b.find((s) => key(s.labels) === key(x.labels));
    return y ? [{ labels: x.labels, v: op(x.v, y.v), exact: x.exact && y.exact }] : [];
  });
}

/** `a and b` (on all labels, or on `on`), `a unless on(...) b`. */
const and = (a: Sample[], b: Sample[]) => a.filter((x) => b.some((y) => key(y.labels) === key(x.labels)));
const unlessOn = (a: Sample[], b: Sample[], on: readonly string[]) =>
  a.filter((x) => !b.some((y) => key(pick(y.labels, on)) === key(pick(x.labels, on))));

/** histogram_quantile over classic buckets (promql/quantile.go bucketQuantile). */
function histogramQuantile(q: number, samples: Sample[]): Sample[] {
  const groups = new Map<string, { labels: Labels; buckets: Array<{ upper: number; count: number }> }>();
  for (const s of samples) {
    const { le, ...rest } = s.labels;
    if (le === undefined) continue;
    const k = key(rest);
    const g = groups.get(k) ?? { labels: rest, buckets: [] };
    g.buckets.push({ upper: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count: s.v });
    groups.set(k, g);
  }
  return [...groups.values()].flatMap(({ labels, buckets }) => {
    buckets.sort((a, b) => a.upper - b.upper);
    if (buckets.at(-1)?.upper !== Number.POSITIVE_INFINITY || buckets.length < 2) return [];
    let prev = (buckets[0] as { count: number }).count;
    for (let i = 1; i < buckets.length; i++) {
      const b = buckets[i] as { count: number };
      const delta = Math.abs(b.count - prev);
      if (delta === 0) continue;
      if (delta / b.count <= 1e-12) b.count = prev;
      else prev = b.count;
    }
    let max = (buckets[0] as { count: number }).count;
    for (const b of buckets) {
      if (b.count > max) max = b.count;
      else if (b.count < max) b.count = max;
    }
    const observations = (buckets.at(-1) as { count: number }).count;
    if (observations === 0) return [];
    let rank = q * observations;
    const i = buckets.findIndex((b, j) => j < buckets.length - 1 && b.count >= rank);
    const b = i < 0 ? buckets.length - 1 : i;
    if (b === buckets.length - 1) return [{ labels, v: (buckets[b - 1] as { upper: number }).upper, exact: true }];
    const bucket = buckets[b] as { upper: number; count: number };
    if (b === 0 && bucket.upper <= 0) return [{ labels, v: bucket.upper, exact: true }];
    let start = 0;
    let count = bucket.count;
    if (b > 0) {
      const below = buckets[b - 1] as { upper: number; count: number };
      start = below.upper;
      count -= below.count;
      rank -= below.count;
    }
    return [{ labels, v: start + (bucket.upper - start) * (rank / count), exact: true }];
  });
}

/** deriv((inner)[rangeMs:stepMs]): inner evaluated at absolute multiples of the step. */
function derivSubquery(inner: (at: number) => Sample[], at: number, rangeMs: number, stepMs: number): Sample[] {
  const series = new Map<string, { labels: Labels; pts: Point[] }>();
  for (let t = Math.floor((at - rangeMs) / stepMs + 1) * stepMs; t <= at; t += stepMs) {
    if (t < 0) continue;
    for (const s of inner(t)) {
      const g = series.get(key(s.labels)) ?? { labels: s.labels, pts: [] };
      g.pts.push({ t, v: s.v });
      series.set(key(s.labels), g);
    }
  }
  return [...series.values()].flatMap(({ labels, pts }) => {
    const r = slope(pts);
    return r ? [{ labels, ...r }] : [];
  });
}

// ---------------------------------------------------------------- annotations

/** Go's %v of a float64 (strconv 'g', shortest): exponent form below 1e-4 and from 1e6. */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  return goG(v, -1);
}

/** strconv.FormatFloat(v, 'g', prec, 64); prec -1 is the shortest representation. */
export function goG(v: number, prec: number): string {
  const [mantissa, e] = (prec < 0 ? v.toExponential() : v.toExponential(prec - 1)).split('e') as [string, string];
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace(/^-/, '').replace('.', '').replace(/0+$/, '') || '0';
  const exp = Number(e);
  let eprec = prec < 0 ? 6 : prec;
  if (prec >= 0 && eprec > digits.length && digits.length >= exp + 1) eprec = digits.length;
  let out: string;
  if (exp < -4 || exp >= eprec) {
    const frac = digits.slice(1);
    out = `${digits[0]}${frac ? `.${frac}` : ''}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  } else if (exp < 0) {
    out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else {
    const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = digits.slice(exp + 1);
    out = frac ? `${int}.${frac}` : int;
  }
  return negative ? `-${out}` : out;
}

/** Expands the template constructs our annotations use, as Prometheus would for one alert. */
export function expandTemplate(text: string, labels: Labels, value: number, exact: boolean, where: string): string {
  return text.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
    const label = /^\$labels\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
    if (label) {
      const v = labels[label[1] as string];
      if (v === undefined) {
        throw new Error(`${where} uses $labels.${label[1]}, which the expression does not keep`);
      }
      return v;
    }
    if (expr !== '$value' && expr !== '$value | humanizePercentage') {
      throw new Error(`${where}: template {{ ${expr} }} is not supported by the test generator`);
    }
    if (!exact) throw new Error(`${where} prints $value, which the test model does not compute exactly`);
    return expr === '$value' ? goFloat(value) : `${goG(value * 100, 4)}%`;
  });
}

// ---------------------------------------------------------------- scenarios

/** What the scenarios build series from: the rendered matchers, names and sample step. */
interface Ctx {
  readonly x: ExprContext;
  /** Data-plane matchers (namespace, job), operator matchers, kube-state-metrics matchers. */
  readonly m: Labels;
  readonly op: Labels;
  readonly ksm: Labels;
  readonly ns: string;
  readonly stepMs: number;
  /** A data-plane series `<prefix><metric>` with the catalog's labels. */
  dp(metric: string, at: (i: number) => number | undefined, extra?: Labels): SeriesDef;
  /** The bucket series of a data-plane histogram; `count(le, i)` is the cumulative count. */
  histogram(metric: string, count: (le: number, i: number) => number): SeriesDef[];
  opSeries(metric: string, at: (i: number) => number | undefined): SeriesDef;
  ksmSeries(metric: string, at: (i: number) => number | undefined): SeriesDef;
  up(at: (i: number) => number | undefined): SeriesDef;
  /** Data-plane metric name with the prefix. */
  name(metric: string): string;
  ms(d: string): number;
}

interface Case {
  readonly why: string;
  readonly series: readonly SeriesDef[];
}

interface Scenario {
  /** The expression of the alert, as the model evaluates it. */
  readonly model: (k: Ctx, t: number) => (db: Db, at: number) => Sample[];
  readonly fires: (k: Ctx, t: number) => Case;
  readonly quiet: (k: Ctx, t: number) => readonly Case[];
  /** The firing series moved to another namespace stay quiet (false for alerts on absence). */
  readonly scoped?: boolean;
}

const constant = (v: number) => () => v;
/** A counter or gauge growing by `perStep` each sample from `base`. */
const linear = (base: number, perStep: number) => (i: number) => base + i * perStep;
const sec = (k: Ctx) => k.stepMs / 1000;

const gaugeAbove = (
  metric: string,
  by: readonly string[],
  fireValue: (t: number) => number,
  quietValue: (t: number) => number,
  why: [string, string],
): Scenario => ({
  model: (k, t) => (db, at) => filter(aggregate('max', instant(db, k.name(metric), k.m, at), by), (v) => v > t),
  fires: (k, t) => ({ why: why[0], series: [k.dp(metric, constant(fireValue(t)))] }),
  quiet: (k, t) => [{ why: why[1], series: [k.dp(metric, constant(quietValue(t)))] }],
});

/** `sum by (by) (rate(counter[window])) > 0` alerts: a counter growing 1/s fires, a flat one does not. */
const ratePositive = (metric: string, by: readonly string[], window: string, perSecond: number): Scenario => ({
  model: (k) => (db, at) => filter(aggregate('sum', rate(db, k.name(metric), k.m, at, k.ms(window)), by), (v) => v > 0),
  fires: (k) => ({
    why: `${metric} grows by ${perSecond}/s`,
    series: [k.dp(metric, linear(1000, perSecond * sec(k)))],
  }),
  quiet: (k) => [{ why: `${metric} stays flat`, series: [k.dp(metric, constant(1000))] }],
});

const operatorFlag = (metric: string): Scenario => ({
  model: (k) => (db, at) => filter(aggregate('max', instant(db, metric, k.op, at)), (v) => v === 1),
  fires: (k) => ({ why: `${metric} is 1 for the cluster`, series: [k.opSeries(metric, constant(1))] }),
  quiet: (k) => [{ why: `${metric} is 0`, series: [k.opSeries(metric, constant(0))] }],
});

function latency(metric: string, q: number): Scenario {
  const bounds = [...(metricSpec(metric as never).buckets ?? DEFAULT_BUCKET_BOUNDS)];
  const highest = bounds.at(-1) as number;
  const perSecond = 10;
  /** 10 observations/s, all in the bucket with upper bound `upper` (cumulative buckets from it up grow); NaN: none. */
  const observedIn = (k: Ctx, upper: number) =>
    k.histogram(metric, (le, i) => (le >= upper ? 100 + i * perSecond * sec(k) : 100));
  return {
    model: (k, t) => (db, at) => {
      const buckets = rate(db, `${k.name(metric)}_bucket`, k.m, at, 5 * 60_000);
      return filter(histogramQuantile(q, aggregate('sum', buckets, ['namespace', 'le'])), (v) => v > t);
    },
    fires: (k, t) => {
      // The first bucket whose lower bound is at or above the threshold: any quantile in it is > t.
      const b = bounds.findIndex((_, i) => (i === 0 ? 0 : (bounds[i - 1] as number)) >= t);
      if (b >= 0)
        return { why: `every observation in bucket le=${bounds[b]}`, series: observedIn(k, bounds[b] as number) };
      // Above every finite bucket histogram_quantile answers the highest finite bound.
      if (highest > t) {
        return { why: `every observation above le=${highest}`, series: observedIn(k, Number.POSITIVE_INFINITY) };
      }
      throw new Error(`threshold ${t} is at or above the highest finite bucket (${highest} ms): it can never fire`);
    },
    quiet: (k, t) => {
      const upper = bounds.findLast((u) => u <= t);
      if (upper === undefined) return [{ why: 'no traffic (no observations)', series: observedIn(k, Number.NaN) }];
      return [{ why: `every observation in bucket le=${upper}`, series: observedIn(k, upper) }];
    },
  };
}

const DEFAULT_BUCKET_BOUNDS = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

/** Scenarios of every alert; a new alert without one does not compile. */
export const SCENARIOS: Record<AlertName, Scenario> = {
  AITransportClusterDown: {
    model: (k) => (db, at) => {
      const up = aggregate(
        'count',
        filter(instant(db, 'up', k.m, at), (v) => v === 1),
      );
      return filter(up.length > 0 ? up : [{ labels: {}, v: 0, exact: true }], (v) => v === 0);
    },
    fires: (k) => ({ why: 'the only pod reports up=0', series: [k.up(constant(0))] }),
    quiet: (k) => [{ why: 'the pod reports up=1', series: [k.up(constant(1))] }],
    scoped: false,
  },
  AITransportPodsUnavailable: {
    model: (k, t) => (db, at) =>
      filter(
        binary(
          aggregate('max', instant(db, 'kube_statefulset_replicas', k.ksm, at)),
          aggregate('max', instant(db, 'kube_statefulset_status_replicas_ready', k.ksm, at)),
          (a, b) => a - b,
        ),
        (v) => v >= t,
      ),
    fires: (k, t) => {
      const missing = Math.max(1, Math.ceil(t));
      return {
        why: `${missing} of ${missing + 2} pods not ready`,
        series: [
          k.ksmSeries('kube_statefulset_replicas', constant(missing + 2)),
          k.ksmSeries('kube_statefulset_status_replicas_ready', constant(2)),
        ],
      };
    },
    quiet: (k) => [
      {
        why: 'all 3 pods ready',
        series: [
          k.ksmSeries('kube_statefulset_replicas', constant(3)),
          k.ksmSeries('kube_statefulset_status_replicas_ready', constant(3)),
        ],
      },
    ],
  },
  AITransportRolloutStalled: operatorFlag(OPERATOR_METRIC.rolloutStalled),
  AITransportOperatorReconcileErrors: {
    model: (k) => (db, at) =>
      filter(aggregate('sum', rate(db, OPERATOR_METRIC.reconcileErrors, k.op, at, 10 * 60_000)), (v) => v > 0),
    fires: (k) => ({
      why: 'a reconcile error every minute',
      series: [k.opSeries(OPERATOR_METRIC.reconcileErrors, linear(10, sec(k) / 60))],
    }),
    quiet: (k) => [{ why: 'no reconcile errors', series: [k.opSeries(OPERATOR_METRIC.reconcileErrors, constant(10))] }],
  },
  AITransportResetStalled: operatorFlag(OPERATOR_METRIC.resetStalled),
  AITransportMetricsAbsent: {
    model: (k) => (db, at) =>
      instant(db, k.name(METRIC.connected), k.m, at).length > 0 ? [] : [{ labels: k.m, v: 1, exact: true }],
    fires: (k) => ({ why: 'pods are scraped but export no connection gauge', series: [k.up(constant(1))] }),
    quiet: (k) => [
      { why: 'the connection gauge is scraped', series: [k.up(constant(1)), k.dp(METRIC.connected, constant(5))] },
    ],
    scoped: false,
  },
  AITransportHistoryResetRequired: gaugeAbove(
    METRIC.historyResetRequired,
    ['namespace', 'app_id'],
    () => 2,
    () => 0,
    ['2 channels are reset_required', 'no channel is reset_required'],
  ),
  AITransportHistoryDegraded: gaugeAbove(
    METRIC.historyDegraded,
    ['namespace', 'app_id'],
    () => 3,
    () => 0,
    ['3 channels are degraded', 'no channel is degraded'],
  ),
  AITransportHistoryWriteFailures: ratePositive(METRIC.historyWriteFailures, ['namespace'], '5m', 1),
  AITransportHistoryWriteFailuresSustained: ratePositive(METRIC.historyWriteFailures, ['namespace'], '5m', 1),
  AITransportHistoryQueueBacklog: gaugeAbove(
    METRIC.historyQueueDepth,
    ['namespace', 'pod'],
    (t) => t + 1,
    (t) => t,
    ['the queue is one above the threshold', 'the queue is at the threshold'],
  ),
  AITransportHistoryRecoveryFailures: ratePositive(METRIC.historyRecoveryFailures, ['namespace', 'code'], '10m', 0.5),
  AITransportAdapterMessagesDropped: ratePositive(METRIC.transportDropped, ['namespace'], '5m', 2),
  AITransportAdapterReconnecting: {
    model: (k, t) => (db, at) =>
      filter(
        aggregate('sum', rate(db, k.name(METRIC.transportReconnections), k.m, at, 10 * 60_000, false), [
          'namespace',
          'pod',
        ]),
        (v) => v > t,
      ),
    fires: (k, t) => {
      const perStep = Math.max(1, Math.ceil(((t + 1) * 2 * k.stepMs) / (10 * 60_000)));
      return {
        why: `${perStep} reconnection(s) per scrape`,
        series: [k.dp(METRIC.transportReconnections, linear(5, perStep))],
      };
    },
    quiet: (k) => [{ why: 'no reconnections', series: [k.dp(METRIC.transportReconnections, constant(5))] }],
  },
  AITransportAdapterQueueGrowing: {
    model: (k) => (db, at) => {
      const w = k.ms(k.x.scrapeWindow);
      const name = k.name(METRIC.transportQueueDepth);
      const growing = filter(
        aggregate('max', overRange(db, name, k.m, at, w, slope), ['namespace', 'pod']),
        (v) => v > 0,
      );
      const nonEmpty = filter(
        aggregate(
          'max',
          overRange(db, name, k.m, at, w, (pts) =>
            pts.length ? { v: Math.min(...pts.map((p) => p.v)), exact: true } : undefined,
          ),
          ['namespace', 'pod'],
        ),
        (v) => v > 0,
      );
      return and(growing, nonEmpty);
    },
    fires: (k) => ({ why: 'the queue grows every scrape', series: [k.dp(METRIC.transportQueueDepth, linear(1, 1))] }),
    quiet: (k) => [{ why: 'the queue is long but steady', series: [k.dp(METRIC.transportQueueDepth, constant(50))] }],
  },
  AITransportConnectionsNearLimit: {
    model: (k, t) => (db, at) =>
      filter(
        aggregate('max', instant(db, k.name(METRIC.connected), k.m, at), ['namespace', 'pod']),
        (v) => v > t * k.x.maxConnectionsPerPod,
      ),
    fires: (k, t) => ({
      why: 'one connection above the threshold',
      series: [k.dp(METRIC.connected, constant(Math.floor(t * k.x.maxConnectionsPerPod) + 1))],
    }),
    quiet: (k, t) => [
      {
        why: 'connections at the threshold',
        series: [k.dp(METRIC.connected, constant(Math.floor(t * k.x.maxConnectionsPerPod)))],
      },
    ],
  },
  AITransportReconnectStormUnshaped: {
    model: (k, t) => (db, at) => {
      const w = k.ms(k.x.shortWindow);
      const storm = filter(
        aggregate('sum', rate(db, k.name(METRIC.newConnections), k.m, at, w), ['namespace']),
        (v) => v > t,
      );
      const shaped = filter(
        aggregate('sum', rate(db, k.name(METRIC.rateLimitTriggered), k.m, at, w), ['namespace']),
        (v) => v > 0,
      );
      return unlessOn(storm, shaped, ['namespace']);
    },
    fires: (k, t) => ({
      why: `${t + 1} new connections/s and no rate limiting`,
      series: [
        k.dp(METRIC.newConnections, linear(1000, (t + 1) * sec(k))),
        k.dp(METRIC.rateLimitTriggered, constant(7)),
      ],
    }),
    quiet: (k, t) => [
      {
        why: `${t + 1} new connections/s, shaped by rate limits`,
        series: [
          k.dp(METRIC.newConnections, linear(1000, (t + 1) * sec(k))),
          k.dp(METRIC.rateLimitTriggered, linear(7, sec(k))),
        ],
      },
    ],
  },
  AITransportRateLimitingSustained: ratePositive(METRIC.rateLimitTriggered, ['namespace', 'app_id'], '5m', 1),
  AITransportBroadcastLatencyHigh: latency(METRIC.broadcastLatency, 0.99),
  AITransportFlushLatencyHigh: latency(METRIC.flushLatency, 0.999),
  AITransportRollupRatioLow: {
    model: (k, t) => (db, at) =>
      filter(
        binary(
          aggregate('sum', rate(db, k.name(METRIC.appendsDelivered), k.m, at, 10 * 60_000), ['namespace']),
          aggregate('sum', rate(db, k.name(METRIC.appendsReceived), k.m, at, 10 * 60_000), ['namespace']),
          (a, b) => a / b,
        ),
        (v) => v < t,
      ),
    fires: (k, t) => ({
      why: `${t / 2} frames delivered per append received`,
      series: [
        k.dp(METRIC.appendsReceived, linear(1000, 100 * sec(k))),
        k.dp(METRIC.appendsDelivered, linear(1000, (t / 2) * 100 * sec(k))),
      ],
    }),
    quiet: (k, t) => {
      const ratio = Math.max(1, 2 * t);
      return [
        {
          why: `${ratio} frames delivered per append received`,
          series: [
            k.dp(METRIC.appendsReceived, linear(1000, 100 * sec(k))),
            k.dp(METRIC.appendsDelivered, linear(1000, ratio * 100 * sec(k))),
          ],
        },
      ];
    },
  },
  AITransportActiveStreamsNotDraining: {
    model: (k) => (db, at) =>
      filter(
        derivSubquery(
          (t) => aggregate('sum', instant(db, k.name(METRIC.aiActiveStreams), k.m, t), ['namespace']),
          at,
          60 * 60_000,
          5 * 60_000,
        ),
        (v) => v > 0,
      ),
    fires: (k) => ({ why: 'active streams keep rising', series: [k.dp(METRIC.aiActiveStreams, linear(10, 1))] }),
    quiet: (k) => [{ why: 'active streams stay at 40', series: [k.dp(METRIC.aiActiveStreams, constant(40))] }],
  },
  AITransportFileDescriptorsNearLimit: {
    model: (k, t) => (db, at) =>
      filter(
        aggregate(
          'max',
          binary(
            instant(db, k.name(METRIC.openFds), k.m, at),
            instant(db, k.name(METRIC.maxFds), k.m, at),
            (a, b) => a / b,
          ),
          ['namespace', 'pod'],
        ),
        (v) => v > t,
      ),
    fires: (k, t) => {
      const open = Math.max(Math.floor(t * 1000) + 1, Math.floor(((1 + t) / 2) * 1000));
      return {
        why: `${open} of 1000 descriptors open`,
        series: [k.dp(METRIC.openFds, constant(open)), k.dp(METRIC.maxFds, constant(1000))],
      };
    },
    quiet: (k, t) => [
      {
        why: `${Math.floor(t * 1000)} of 1000 descriptors open`,
        series: [k.dp(METRIC.openFds, constant(Math.floor(t * 1000))), k.dp(METRIC.maxFds, constant(1000))],
      },
    ],
  },
  AITransportEventLoopLagGrowing: {
    model: (k, t) => (db, at) => {
      const lag = (when: number) =>
        aggregate('max', instant(db, k.name(METRIC.eventLoopLagP99), k.m, when), ['namespace', 'pod']);
      const rising = filter(derivSubquery(lag, at, 60 * 60_000, 5 * 60_000), (v) => v > 0);
      return and(
        filter(lag(at), (v) => v > t),
        rising,
      );
    },
    fires: (k, t) => ({
      why: 'the lag is above the threshold and rising',
      series: [k.dp(METRIC.eventLoopLagP99, linear(t + 0.05, 0.001))],
    }),
    quiet: (k, t) => [
      { why: 'the lag is high but flat', series: [k.dp(METRIC.eventLoopLagP99, constant(t + 0.5))] },
      {
        why: 'the lag rises but stays below the threshold',
        series: [k.dp(METRIC.eventLoopLagP99, (i) => t / 4 + Math.min(i, 100_000) * (t / 1_000_000))],
      },
    ],
  },
  AITransportActiveHandlesGrowing: {
    model: (k, t) => (db, at) => {
      const extra = (when: number) =>
        binary(
          aggregate('max', instant(db, k.name(METRIC.activeHandles), k.m, when), ['namespace', 'pod']),
          aggregate('sum', instant(db, k.name(METRIC.connected), k.m, when), ['namespace', 'pod']),
          (a, b) => a - b,
        );
      const rising = filter(derivSubquery(extra, at, 60 * 60_000, 5 * 60_000), (v) => v > 0);
      return and(
        filter(extra(at), (v) => v > t),
        rising,
      );
    },
    fires: (k, t) => ({
      why: 'handles beyond the connections above the threshold and rising',
      series: [k.dp(METRIC.activeHandles, linear(t + 500, 2)), k.dp(METRIC.connected, constant(400))],
    }),
    quiet: (k, t) => [
      {
        why: 'handles rise with the connections (sockets, not a leak)',
        series: [k.dp(METRIC.activeHandles, linear(t + 1500, 5)), k.dp(METRIC.connected, linear(100, 5))],
      },
      {
        why: 'many handles beyond the connections, but flat',
        series: [k.dp(METRIC.activeHandles, constant(t * 3)), k.dp(METRIC.connected, constant(10))],
      },
    ],
  },
};

// ---------------------------------------------------------------- generation

function parseMatchers(m: string): Labels {
  return Object.fromEntries([...m.matchAll(/([A-Za-z_][A-Za-z0-9_]*)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
}

/** Values of the catalog's labels in the generated series. */
const LABEL_VALUES: Record<string, (c: Cluster) => string> = {
  app_id: (c) => c.spec.apps[0]?.id ?? 'app',
  driver: () => 'redis',
  code: () => 'position_expired',
  limiter_type: () => 'client_events',
  request_context: () => 'websocket',
  channel_type: () => 'private',
  recipient_count_bucket: () => '1-10',
};

function catalogLabels(c: Cluster, metric: string): Labels {
  if (metric === METRIC.maxFds) return {};
  return Object.fromEntries(
    metricSpec(metric as never).labels.map((l) => {
      const value = LABEL_VALUES[l];
      if (!value) throw new Error(`no test value for label ${l} of ${metric}`);
      return [l, value(c)];
    }),
  );
}

function context(c: Cluster): Ctx {
  const x = exprContext(c);
  const m = parseMatchers(x.m);
  const ns = c.metadata.namespace as string;
  const pod = podName(c, 0);
  const name = (metric: string) => `${x.p}${metric}`;
  const target = { ...m, pod, instance: `${pod}:9601` };
  const operator = {
    namespace: 'aitransport-system',
    job: 'aitransport-operator-metrics',
    pod: 'aitransport-operator-0',
  };
  return {
    x,
    m,
    op: parseMatchers(x.op),
    ksm: parseMatchers(x.ksm),
    ns,
    stepMs: durationMs(c.spec.monitoring.serviceMonitor.interval),
    name,
    ms: durationMs,
    dp: (metric, at, extra = {}) => ({
      name: name(metric),
      labels: { ...target, ...catalogLabels(c, metric), ...extra },
      at,
    }),
    histogram: (metric, count) => {
      const bounds = [...(metricSpec(metric as never).buckets ?? DEFAULT_BUCKET_BOUNDS), Number.POSITIVE_INFINITY];
      return bounds.map((le) => ({
        name: `${name(metric)}_bucket`,
        labels: { ...target, ...catalogLabels(c, metric), le: le === Number.POSITIVE_INFINITY ? '+Inf' : String(le) },
        at: (i: number) => count(le, i),
      }));
    },
    opSeries: (metric, at) => ({ name: metric, labels: { ...operator, ...parseMatchers(x.op) }, at }),
    ksmSeries: (metric, at) => ({
      name: metric,
      labels: { ...parseMatchers(x.ksm), job: 'kube-state-metrics', instance: 'kube-state-metrics:8080' },
      at,
    }),
    up: (at) => ({ name: 'up', labels: target, at }),
  };
}

/** The firing series moved to another namespace (every label value equal to the namespace). */
function elsewhere(series: readonly SeriesDef[], ns: string): SeriesDef[] {
  const other = `${ns}-other`;
  return series.map((s) => ({
    ...s,
    labels: Object.fromEntries(Object.entries(s.labels).map(([k, v]) => [k, v === ns ? other : v])),
  }));
}

function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}

function seriesText(s: SeriesDef): string {
  const labels = Object.entries(s.labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return `${s.name}{${labels}}`;
}

function materialize(db: Db, until: number): PromtoolSeries[] {
  const n = Math.floor(until / db.stepMs) + 1;
  return db.series.map((s) => ({
    series: seriesText(s),
    values: Array.from({ length: n }, (_, i) => {
      const v = s.at(i);
      return v === undefined ? '_' : String(v);
    }).join(' '),
  }));
}

interface Timeline {
  activeAt: number;
  firesAt: number;
}

/** When the model first holds, and the first evaluation `for` later; it must hold throughout. */
function timeline(model: (db: Db, at: number) => Sample[], db: Db, forMs: number, what: string): Timeline {
  const limit = forMs + 3 * 3_600_000;
  let activeAt: number | undefined;
  for (let at = 0; at <= limit; at += EVAL_INTERVAL_MS) {
    const holds = model(db, at).length > 0;
    if (activeAt === undefined) {
      if (!holds) continue;
      activeAt = at;
    } else if (!holds) {
      throw new Error(`${what}: the expression stops holding at ${formatDuration(at)} before firing`);
    }
    if (at - activeAt >= forMs) return { activeAt, firesAt: at };
  }
  throw new Error(`${what}: the firing series never satisfy the expression (within ${formatDuration(limit)})`);
}

function assertQuiet(model: (db: Db, at: number) => Sample[], db: Db, until: number, what: string): void {
  for (let at = 0; at <= until; at += EVAL_INTERVAL_MS) {
    if (model(db, at).length > 0)
      throw new Error(`${what}: the quiet series satisfy the expression at ${formatDuration(at)}`);
  }
}

/**
 * The promtool test file of a cluster's rules (written next to `ruleFile`, which holds the
 * `groups` of renderPrometheusRule). Throws, naming the alert, when a scenario cannot fire or
 * cannot stay quiet under the cluster's thresholds.
 */
export function renderRuleTests(c: Cluster, ruleFile = 'rules.yaml'): RuleTests {
  const k = context(c);
  const tests: PromtoolTestGroup[] = [];
  const coverage: RuleTests['coverage'] = {};
  const interval = formatDuration(k.stepMs);
  for (const { rule, threshold } of alertingRules(c)) {
    const scenario = SCENARIOS[rule.alert];
    const where = `${rule.alert} (threshold ${threshold}, for ${rule.for})`;
    const model = scenario.model(k, threshold);
    const forMs = durationMs(rule.for);
    const fire = (() => {
      try {
        return scenario.fires(k, threshold);
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`);
      }
    })();
    const fireDb: Db = { series: fire.series, stepMs: k.stepMs };
    const { activeAt, firesAt } = timeline(model, fireDb, forMs, where);
    const expAlerts = model(fireDb, firesAt).map((s) => expected(rule, s, where));
    const checks: PromtoolAlertTest[] = [];
    if (firesAt > activeAt)
      checks.push({ eval_time: formatDuration(firesAt - EVAL_INTERVAL_MS), alertname: rule.alert, exp_alerts: [] });
    checks.push({ eval_time: formatDuration(firesAt), alertname: rule.alert, exp_alerts: expAlerts });
    tests.push({
      name: `${rule.alert} fires: ${fire.why}`,
      interval,
      input_series: materialize(fireDb, firesAt),
      alert_rule_test: checks,
    });
    const quiet = [...scenario.quiet(k, threshold)];
    if (scenario.scoped !== false) {
      quiet.push({ why: `the firing series of another namespace`, series: elsewhere(fire.series, k.ns) });
    }
    for (const q of quiet) {
      const db: Db = { series: q.series, stepMs: k.stepMs };
      assertQuiet(model, db, firesAt, `${where}, quiet case "${q.why}"`);
      tests.push({
        name: `${rule.alert} stays quiet: ${q.why}`,
        interval,
        input_series: materialize(db, firesAt),
        alert_rule_test: [{ eval_time: formatDuration(firesAt), alertname: rule.alert, exp_alerts: [] }],
      });
    }
    coverage[rule.alert] = { fires: 1, quiet: quiet.length };
  }
  return {
    file: { rule_files: [ruleFile], evaluation_interval: formatDuration(EVAL_INTERVAL_MS), tests },
    coverage,
  };
}

function expected(rule: AlertingRule, s: Sample, where: string): PromtoolAlert {
  const { __name__: _, ...labels } = s.labels;
  return {
    exp_labels: { ...labels, ...rule.labels },
    exp_annotations: Object.fromEntries(
      Object.entries(rule.annotations).map(([k, text]) => [
        k,
        expandTemplate(text, labels, s.v, s.exact, `${where} annotation ${k}`),
      ]),
    ),
  };
}
