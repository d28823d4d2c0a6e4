// prom-client instruments for every catalog metric, on a registry of their own (tests make
// many), plus prom-client's default process/Node metrics (event-loop lag included) under the
// same prefix. `createMetrics('ait').connected` is the `ait_connected` gauge.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { DEFAULT_BUCKETS, METRICS, type MetricSpec } from './catalog.ts';

type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type Created = Exclude<(typeof METRICS)[number], { collector: 'prom-client-default' }>;
type Instrument<T extends MetricSpec['type']> = T extends 'counter'
  ? Counter<string>
  : T extends 'gauge'
    ? Gauge<string>
    : Histogram<string>;

export type Metrics = { readonly [M in Created as Camel<M['name']>]: Instrument<M['type']> } & {
  readonly registry: Registry;
  readonly prefix: string;
};

export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export interface CreateMetricsOptions {
  /** Collect prom-client's default process and Node metrics (default true). */
  defaultMetrics?: boolean;
}

export function createMetrics(prefix: string, opts: CreateMetricsOptions = {}): Metrics {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(prefix)) throw new TypeError(`invalid metric prefix ${JSON.stringify(prefix)}`);
  const registry = new Registry();
  const p = prefix.endsWith('_') ? prefix : `${prefix}_`;
  const out: Record<string, unknown> = { registry, prefix: p };
  for (const spec of METRICS as readonly MetricSpec[]) {
    if (spec.collector) continue;
    const common = { name: p + spec.name, help: spec.help, labelNames: [...spec.labels], registers: [registry] };
    let instrument: unknown;
    if (spec.type === 'counter') instrument = new Counter(common);
    else if (spec.type === 'gauge') instrument = new Gauge(common);
    else instrument = new Histogram({ ...common, buckets: [...(spec.buckets ?? DEFAULT_BUCKETS)] });
    out[camelCase(spec.name)] = instrument;
  }
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: p, eventLoopMonitoringPrecision: 20 });
  }
  return out as Metrics;
}
