// The generated alert rules through the real promtool (3.15, built by scripts/k8s-tools.sh):
// for every example cluster and a few variants (every override set, other scrape intervals, a
// metrics prefix), the PrometheusRule groups of renderPrometheusRule pass `promtool check rules`,
// and the unit tests generated from the same render (operator/src/render/prometheusrule-tests.ts)
// pass `promtool test rules`: each alert fires on its firing series after its `for`, and stays
// quiet on the others. The chart's own PrometheusRule is checked against test/rules/.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ALERT_NAMES } from '../../operator/src/api/v1alpha1/alerts.ts';
import type { AITransportCluster } from '../../operator/src/api/v1alpha1/cluster.ts';
import { FACTS, loadCluster, specOf } from '../../operator/src/render/fixtures.ts';
import { alertingRules, renderPrometheusRule } from '../../operator/src/render/prometheusrule.ts';
import { renderRuleTests } from '../../operator/src/render/prometheusrule-tests.ts';
import { artifactTools, helmTemplate, repoRoot, TOOLS_TIMEOUT_MS, type Tools } from '../helpers/artifact-tools.ts';

let tools: Tools;

beforeAll(async () => {
  tools = await artifactTools();
}, TOOLS_TIMEOUT_MS);

afterAll(() => tools?.cleanup());

type Raw = Record<string, unknown>;
const monitoring = (raw: Raw) => specOf(raw).monitoring as Raw & { prometheusRule: Raw; serviceMonitor: Raw };
const withMonitoring = (raw: Raw) => {
  specOf(raw).monitoring ??= {};
  const m = specOf(raw).monitoring as Raw;
  m.prometheusRule ??= {};
  m.serviceMonitor ??= {};
  return monitoring(raw);
};

/** Thresholds that keep every alert able to fire and to stay quiet, all different from the defaults. */
const EVERY_OVERRIDE = {
  AITransportClusterDown: { for: '4m', severity: 'warning' },
  AITransportPodsUnavailable: { for: '3m', threshold: 2 },
  AITransportRolloutStalled: { for: '0m', severity: 'critical' },
  AITransportOperatorReconcileErrors: { for: '30m', severity: 'info' },
  AITransportResetStalled: { for: '2m' },
  AITransportMetricsAbsent: { for: '5m', severity: 'warning' },
  AITransportHistoryResetRequired: { for: '1m', severity: 'warning' },
  AITransportHistoryDegraded: { for: '3m', severity: 'critical' },
  AITransportHistoryWriteFailures: { for: '2m' },
  AITransportHistoryWriteFailuresSustained: { for: '2h' },
  AITransportHistoryQueueBacklog: { threshold: 12, for: '1m' },
  AITransportHistoryRecoveryFailures: { for: '20m', severity: 'critical' },
  AITransportAdapterMessagesDropped: { for: '1m' },
  AITransportAdapterReconnecting: { threshold: 25, for: '2m' },
  AITransportAdapterQueueGrowing: { for: '3m', severity: 'info' },
  AITransportConnectionsNearLimit: { threshold: 0.5, for: '1m' },
  AITransportReconnectStormUnshaped: { threshold: 50, for: '2m', severity: 'critical' },
  AITransportRateLimitingSustained: { for: '30m' },
  AITransportBroadcastLatencyHigh: { threshold: 100, for: '5m' },
  AITransportFlushLatencyHigh: { threshold: 2, for: '15m', severity: 'critical' },
  AITransportRollupRatioLow: { threshold: 0.5, for: '10m' },
  AITransportActiveStreamsNotDraining: { for: '30m' },
  AITransportFileDescriptorsNearLimit: { threshold: 0.95, for: '2m', severity: 'critical' },
  AITransportEventLoopLagGrowing: { threshold: 0.25, for: '20m' },
  AITransportActiveHandlesGrowing: { threshold: 5000, for: '30m' },
};

const CLUSTERS: Array<[string, () => AITransportCluster]> = [
  ['cluster-minimal', () => loadCluster('cluster-minimal.yaml')],
  ['cluster-production', () => loadCluster('cluster-production.yaml')],
  [
    'cluster-production, every alert overridden, scraped every 15s',
    () =>
      loadCluster('cluster-production.yaml', (raw) => {
        const m = monitoring(raw);
        m.prometheusRule.overrides = EVERY_OVERRIDE;
        m.prometheusRule.disabledAlerts = [];
        m.serviceMonitor.interval = '15s';
        m.serviceMonitor.scrapeTimeout = '10s';
      }),
  ],
  [
    'cluster-minimal, prefix sockudo, scraped every 60s, two alerts disabled',
    () =>
      loadCluster('cluster-minimal.yaml', (raw) => {
        const m = withMonitoring(raw);
        m.serviceMonitor.interval = '60s';
        m.prometheusRule.disabledAlerts = ['AITransportMetricsAbsent', 'AITransportRollupRatioLow'];
        specOf(raw).config = { metrics: { prefix: 'sockudo' } };
      }),
  ],
];

interface Files {
  dir: string;
  rules: number;
}

function writeRuleFiles(c: AITransportCluster): Files {
  const pr = renderPrometheusRule(c, FACTS);
  if (!pr) throw new Error('no PrometheusRule rendered');
  const dir = tools.tempDir('ait-rules-');
  writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups: pr.spec.groups }, { lineWidth: 0 }));
  writeFileSync(path.join(dir, 'tests.yaml'), stringify(renderRuleTests(c, 'rules.yaml').file, { lineWidth: 0 }));
  return { dir, rules: pr.spec.groups.reduce((n, g) => n + g.rules.length, 0) };
}

describe.each(CLUSTERS)('%s', (_name, load) => {
  it('passes promtool check rules', async () => {
    const { dir, rules } = writeRuleFiles(load());
    const r = await tools.promtool(['check', 'rules', 'rules.yaml'], dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${rules} rules found`);
  });

  it('passes promtool test rules: every alert fires on its series and stays quiet on the others', async () => {
    const c = load();
    const { dir } = writeRuleFiles(c);
    const r = await tools.promtool(['test', 'rules', 'tests.yaml'], dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
    const { coverage } = renderRuleTests(c);
    const generated = alertingRules(c).map((x) => x.rule.alert);
    expect(Object.keys(coverage)).toEqual(generated);
    for (const alert of generated) {
      expect(coverage[alert]?.fires, alert).toBeGreaterThanOrEqual(1);
      expect(coverage[alert]?.quiet, alert).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('the generated tests bind to the rendered rules', () => {
  it('every alert name of the API is exercised by some variant', () => {
    const seen = new Set(CLUSTERS.flatMap(([, load]) => Object.keys(renderRuleTests(load()).coverage)));
    expect([...ALERT_NAMES].filter((a) => !seen.has(a))).toEqual([]);
  });

  it('fail when a rendered threshold changes behind their back', async () => {
    const { dir } = writeRuleFiles(loadCluster('cluster-production.yaml'));
    const file = path.join(dir, 'rules.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('> 5000');
    writeFileSync(file, text.replace('> 5000', '> 5001'));
    const r = await tools.promtool(['test', 'rules', 'tests.yaml'], dir);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('alertname: AITransportHistoryQueueBacklog');
  });

  it('fail when a `for` is shortened', async () => {
    const { dir } = writeRuleFiles(loadCluster('cluster-minimal.yaml'));
    const file = path.join(dir, 'rules.yaml');
    const rules = parse(readFileSync(file, 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; for: string }> }>;
    };
    const down = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === 'AITransportClusterDown');
    if (!down) throw new Error('no AITransportClusterDown');
    down.for = '1m';
    writeFileSync(file, stringify(rules, { lineWidth: 0 }));
    const r = await tools.promtool(['test', 'rules', 'tests.yaml'], dir);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('alertname: AITransportClusterDown, time: 1m');
  });
});

describe('the chart PrometheusRule (alerts about the operator)', () => {
  it('passes promtool check rules and the tests of test/rules/operator-alerts.test.yaml', async () => {
    const r = await helmTemplate(tools, {
      prometheusRule: { enabled: true, additionalRuleLabels: { team: 'realtime' } },
    });
    expect(r.code, r.stderr).toBe(0);
    const rule = r.objects.find((o) => o.kind === 'PrometheusRule') as { spec: { groups: unknown[] } } | undefined;
    if (!rule) throw new Error('no PrometheusRule rendered');
    const dir = tools.tempDir('ait-operator-rules-');
    writeFileSync(path.join(dir, 'operator-rules.yaml'), stringify({ groups: rule.spec.groups }, { lineWidth: 0 }));
    copyFileSync(path.join(repoRoot, 'test/rules/operator-alerts.test.yaml'), path.join(dir, 'tests.yaml'));
    const check = await tools.promtool(['check', 'rules', 'operator-rules.yaml'], dir);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('SUCCESS: 2 rules found');
    const test = await tools.promtool(['test', 'rules', 'tests.yaml'], dir);
    expect(test.code, test.stdout + test.stderr).toBe(0);
    // docs/alerts.md shows these expressions as this render writes them.
    const docs = readFileSync(path.join(repoRoot, 'docs/alerts.md'), 'utf8');
    for (const g of rule.spec.groups as Array<{ rules: Array<{ alert: string; expr: string }> }>) {
      for (const x of g.rules) expect(docs, x.alert).toContain(`\`\`\`promql\n${x.expr}\n\`\`\``);
    }
  });
});
