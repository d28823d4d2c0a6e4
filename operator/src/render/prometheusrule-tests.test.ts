// The promtool test generator, without promtool (test/integration/alert-rules.test.ts runs the
// generated files through it): coverage of every rendered alert, overrides and disabledAlerts,
// clear errors for thresholds no series can satisfy, and Go's number formatting.
import { describe, expect, it } from 'vitest';
import { ALERT_NAMES } from '../api/v1alpha1/alerts.ts';
import { loadCluster, specOf } from './fixtures.ts';
import { alertingRules } from './prometheusrule.ts';
import { expandTemplate, goFloat, goG, renderRuleTests, SCENARIOS } from './prometheusrule-tests.ts';

type Raw = Record<string, unknown>;
const prometheusRule = (raw: Raw) =>
  ((specOf(raw).monitoring as Raw).prometheusRule ?? {}) as Raw & { overrides?: Raw; disabledAlerts?: string[] };
const withOverrides = (overrides: Raw) =>
  loadCluster('cluster-production.yaml', (raw) => {
    prometheusRule(raw).overrides = overrides;
  });

describe('renderRuleTests', () => {
  const prod = loadCluster('cluster-production.yaml');
  const { file, coverage } = renderRuleTests(prod);
  const groups = (alert: string) => file.tests.filter((t) => t.name.startsWith(`${alert} `));

  it('has a scenario for every alert of the API', () => {
    expect(Object.keys(SCENARIOS)).toEqual([...ALERT_NAMES]);
  });

  it('gives every rendered alert a firing group and at least one quiet group', () => {
    const rendered = alertingRules(prod).map((r) => r.rule.alert);
    expect(Object.keys(coverage)).toEqual(rendered);
    for (const alert of rendered) {
      const fires = groups(alert).filter((g) => g.name.startsWith(`${alert} fires:`));
      const quiet = groups(alert).filter((g) => g.name.startsWith(`${alert} stays quiet:`));
      expect(fires, alert).toHaveLength(1);
      expect(quiet.length, alert).toBeGreaterThanOrEqual(1);
      expect(fires[0]?.alert_rule_test.at(-1)?.exp_alerts.length, alert).toBeGreaterThan(0);
      for (const q of quiet) for (const t of q.alert_rule_test) expect(t.exp_alerts).toEqual([]);
    }
  });

  it('leaves out disabled alerts (cluster-production disables AITransportEventLoopLagGrowing)', () => {
    expect(coverage.AITransportEventLoopLagGrowing).toBeUndefined();
    expect(groups('AITransportEventLoopLagGrowing')).toEqual([]);
    expect(renderRuleTests(loadCluster('cluster-minimal.yaml')).coverage.AITransportEventLoopLagGrowing).toEqual({
      fires: 1,
      quiet: 3,
    });
  });

  it('checks the alert is still pending one evaluation before `for` ends, and fires at its end', () => {
    // cluster-production overrides AITransportPodsUnavailable to for: 5m, severity: critical.
    const [fires] = groups('AITransportPodsUnavailable');
    expect(fires?.alert_rule_test.map((t) => t.eval_time)).toEqual(['4m', '5m']);
    expect(fires?.alert_rule_test[0]?.exp_alerts).toEqual([]);
    expect(fires?.alert_rule_test[1]?.exp_alerts).toEqual([
      {
        exp_labels: { team: 'realtime', severity: 'critical', namespace: 'apps', aitransportcluster: 'chat' },
        exp_annotations: {
          summary: 'Data-plane pods are not ready.',
          description:
            '1 data-plane pods are not ready (kube-state-metrics); see the pod events and the Degraded condition.',
          runbook_url: 'https://runbooks.example.com/aitransport/alerts.md#aitransportpodsunavailable',
        },
      },
    ]);
  });

  it('follows threshold overrides into the series and the expected annotations', () => {
    // cluster-production: AITransportHistoryQueueBacklog threshold 5000.
    const [fires, atThreshold] = groups('AITransportHistoryQueueBacklog');
    expect(fires?.input_series[0]?.values.split(' ')[0]).toBe('5001');
    expect(fires?.alert_rule_test.at(-1)?.exp_alerts[0]?.exp_annotations.description).toMatch(/^5001 pending/);
    expect(atThreshold?.name).toBe('AITransportHistoryQueueBacklog stays quiet: the queue is at the threshold');
    expect(atThreshold?.input_series[0]?.values.split(' ')[0]).toBe('5000');
    const lower = renderRuleTests(withOverrides({ AITransportHistoryQueueBacklog: { threshold: 7, for: '20m' } }));
    const [f] = lower.file.tests.filter((t) => t.name.startsWith('AITransportHistoryQueueBacklog fires'));
    expect(f?.input_series[0]?.values.split(' ')[0]).toBe('8');
    expect(f?.alert_rule_test.map((t) => t.eval_time)).toEqual(['19m', '20m']);
  });

  it('reads series through the cluster matchers and prefix, at the scrape interval', () => {
    const sockudo = loadCluster('cluster-production.yaml', (raw) => {
      (specOf(raw).config as { metrics: Raw }).metrics.prefix = 'sockudo';
      (specOf(raw).monitoring as { serviceMonitor: Raw }).serviceMonitor.interval = '15s';
    });
    const [fires] = renderRuleTests(sockudo).file.tests.filter((t) =>
      t.name.startsWith('AITransportHistoryDegraded fires'),
    );
    expect(fires?.interval).toBe('15s');
    expect(fires?.input_series[0]?.series).toBe(
      'sockudo_history_degraded_channels{namespace="apps",job="chat-metrics",pod="chat-0",instance="chat-0:9601",app_id="assistant"}',
    );
  });

  it('adds a quiet case with the firing series in another namespace, except for absence alerts', () => {
    expect(groups('AITransportHistoryDegraded').map((g) => g.name)).toContain(
      'AITransportHistoryDegraded stays quiet: the firing series of another namespace',
    );
    expect(groups('AITransportMetricsAbsent').map((g) => g.name)).not.toContain(
      'AITransportMetricsAbsent stays quiet: the firing series of another namespace',
    );
  });

  it('names the alert when its threshold leaves no firing or no quiet case', () => {
    expect(() => renderRuleTests(withOverrides({ AITransportBroadcastLatencyHigh: { threshold: 6000 } }))).toThrow(
      /AITransportBroadcastLatencyHigh \(threshold 6000, for 10m\): threshold 6000 is at or above the highest finite bucket/,
    );
    expect(() => renderRuleTests(withOverrides({ AITransportPodsUnavailable: { threshold: 0 } }))).toThrow(
      /AITransportPodsUnavailable \(threshold 0, for 10m\), quiet case "all 3 pods ready": the quiet series satisfy/,
    );
    expect(() => renderRuleTests(withOverrides({ AITransportRollupRatioLow: { threshold: 0 } }))).toThrow(
      /AITransportRollupRatioLow .*never satisfy the expression/,
    );
  });

  it('renders the same file twice', () => {
    expect(JSON.stringify(renderRuleTests(prod).file)).toBe(JSON.stringify(file));
  });
});

describe('Go number formatting (as Prometheus prints $value)', () => {
  // Expected strings are what Go 1.26's text/template and fmt print for these float64 values.
  it.each([
    [1234567, '1.234567e+06'],
    [1e6, '1e+06'],
    [100000, '100000'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1e20, '1e+20'],
    [1000.9999999999999, '1000.9999999999999'],
    [49.75, '49.75'],
    [0.1 + 0.2, '0.30000000000000004'],
    [-2.5, '-2.5'],
    [0, '0'],
  ])('%s → %s', (v, s) => {
    expect(goFloat(v)).toBe(s);
  });

  it.each([
    [1234567 * 100, '1.235e+08'],
    [0.9 * 100, '90'],
    [0.955 * 100, '95.5'],
    [0.0001 * 100, '0.01'],
    [1000.9999999999999 * 100, '1.001e+05'],
    [49.75 * 100, '4975'],
  ])('%%.4g of %s → %s', (v, s) => {
    expect(goG(v, 4)).toBe(s);
  });
});

describe('expandTemplate', () => {
  it('expands $labels, $value and humanizePercentage', () => {
    expect(
      expandTemplate(
        '{{ $labels.pod }}: {{ $value }} ({{ $value | humanizePercentage }})',
        { pod: 'p-0' },
        0.5,
        true,
        'x',
      ),
    ).toBe('p-0: 0.5 (50%)');
  });

  it('refuses labels the expression drops, values it cannot know and other templates', () => {
    expect(() =>
      expandTemplate('{{ $labels.namespace }}', {}, 1, true, 'AITransportClusterDown annotation description'),
    ).toThrow(
      'AITransportClusterDown annotation description uses $labels.namespace, which the expression does not keep',
    );
    expect(() => expandTemplate('{{ $value }}', {}, 0.1, false, 'x')).toThrow(/does not compute exactly/);
    expect(() => expandTemplate('{{ $value | humanize }}', {}, 1, true, 'x')).toThrow(/not supported/);
  });
});
