// The committed Grafana dashboards are fresh, well-formed, and every selector in them names a
// metric that exists: in the data plane's catalog (with the default prefix) or among the
// operator's metrics. Counters are only read through rate()/increase(), and every data-plane
// selector is scoped to the chosen cluster. test/integration/dashboards.test.ts parses every
// expression with promtool.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../dataplane/src/metrics/catalog.ts';
import { createMetrics } from '../../operator/src/process/metrics.ts';
import { OPERATOR_METRIC } from '../../operator/src/render/prometheusrule.ts';
import { DASHBOARD_FILES, PREFIX } from './dashboards.ts';

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Array<{ refId: string; expr: string; datasource?: { uid: string } }>;
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: unknown; definition?: string }> };
}

type Kind = 'counter' | 'gauge' | 'histogram' | 'summary';

/** Every metric a dashboard may read, with its type. */
async function knownMetrics(): Promise<Map<string, Kind>> {
  const known = new Map<string, Kind>();
  for (const m of METRICS) known.set(`${PREFIX}${m.name}`, m.type);
  const op = createMetrics();
  for (const m of await op.registry.getMetricsAsJSON()) known.set(m.name, m.type as unknown as Kind);
  // Contract names the operator's alerts already read (render/prometheusrule.ts); exported
  // by the rollout and reset controllers.
  known.set(OPERATOR_METRIC.rolloutStalled, 'gauge');
  known.set(OPERATOR_METRIC.resetStalled, 'gauge');
  return known;
}

interface Selector {
  readonly metric: string;
  readonly matchers: string;
  /** The text right after the closing brace (a range `[` for counters). */
  readonly after: string;
}

/** `name{…}` selectors of an expression (every metric in our dashboards is written with matchers). */
function selectors(expr: string): Selector[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}(.?)/g)].map((m) => ({
    metric: m[1] as string,
    matchers: m[2] as string,
    after: m[3] as string,
  }));
}

function baseOf(metric: string, known: Map<string, Kind>): { base: string; kind: Kind | undefined } {
  if (known.has(metric)) return { base: metric, kind: known.get(metric) };
  const m = /^(.*)_(bucket|sum|count)$/.exec(metric);
  if (m && known.get(m[1] as string) === 'histogram') return { base: m[1] as string, kind: 'counter' };
  return { base: metric, kind: undefined };
}

const dashboards = DASHBOARD_FILES.map(([path, render]) => ({
  path,
  render,
  committed: readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'),
}));

describe.each(dashboards)('$path', ({ path, render, committed }) => {
  const d = JSON.parse(committed) as Dashboard;
  const targets = d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, ...t })));

  it('is fresh (run npm run generate)', () => {
    expect(committed).toBe(render());
  });

  it('has unique panel ids and titles, and every query uses the datasource variable', () => {
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    const titles = d.panels.filter((p) => p.type !== 'row').map((p) => p.title);
    expect(new Set(titles).size).toBe(titles.length);
    expect(targets.length).toBeGreaterThan(8);
    for (const t of targets) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the Grafana variable
      expect(t.datasource?.uid, `${path} ${t.panel.title}`).toBe('${datasource}');
      expect(t.expr.trim()).not.toBe('');
    }
  });

  it('reads only metrics that exist, counters through rate/increase, scoped to the chosen job', async () => {
    const known = await knownMetrics();
    const queries = [
      ...targets.map((t) => ({ where: `${t.panel.title} ${t.refId}`, expr: t.expr })),
      ...d.templating.list
        .filter((v) => v.definition)
        .map((v) => ({ where: `$${v.name}`, expr: v.definition as string })),
    ];
    const unknown: string[] = [];
    for (const q of queries) {
      const bare = /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*),/.exec(q.expr)?.[1];
      const sels = bare ? [{ metric: bare, matchers: '', after: ',' }] : selectors(q.expr);
      expect(sels.length, `${q.where}: at least one selector`).toBeGreaterThan(0);
      for (const s of sels) {
        const { kind } = baseOf(s.metric, known);
        if (!kind) {
          unknown.push(`${q.where}: ${s.metric}`);
          continue;
        }
        if (q.where.startsWith('$')) continue;
        expect(s.matchers, `${q.where}: ${s.metric} is scoped to the job`).toMatch(
          /namespace="\$namespace",job="\$job"/,
        );
        if (kind === 'counter') expect(s.after, `${q.where}: counter ${s.metric} needs a range`).toBe('[');
        else expect(s.after, `${q.where}: gauge ${s.metric} read as an instant vector`).not.toBe('[');
      }
    }
    expect(unknown, 'metrics not in the catalog or the operator').toEqual([]);
  });
});

describe('selectors()', () => {
  it('finds metric selectors and leaves functions and label lists alone', () => {
    expect(
      selectors('sum by (le, pod) (rate(ait_x_bucket{a="1"}[5m])) / max(ait_y{b=~".*"})').map((s) => [
        s.metric,
        s.after,
      ]),
    ).toEqual([
      ['ait_x_bucket', '['],
      ['ait_y', ')'],
    ]);
  });

  it('an unknown metric or a bare counter is reported (the checks above can fail)', async () => {
    const known = await knownMetrics();
    expect(baseOf('ait_no_such_metric', known).kind).toBeUndefined();
    expect(baseOf('ait_broadcast_latency_ms_bucket', known).kind).toBe('counter');
    expect(baseOf('ait_connected_bucket', known).kind).toBeUndefined();
    expect(baseOf('aitransport_operator_reconcile_total', known).kind).toBe('counter');
  });
});
