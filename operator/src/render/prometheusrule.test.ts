import { describe, expect, it } from 'vitest';
import { METRICS } from '../../../dataplane/src/metrics/catalog.ts';
import { ALERT_NAMES } from '../api/v1alpha1/alerts.ts';
import { FACTS, loadCluster, specOf } from './fixtures.ts';
import { ALERTS, alertingRules, METRIC, renderPrometheusRule } from './prometheusrule.ts';

describe('prometheusrule', () => {
  const prod = loadCluster('cluster-production.yaml');
  const rules = alertingRules(prod).map((r) => r.rule);
  const byName = (name: string) => rules.find((r) => r.alert === name);

  it('has one expression per alert name of the API, in the same order', () => {
    expect(ALERTS.map((a) => a.name)).toEqual([...ALERT_NAMES]);
  });

  it('reads only metrics of the data plane catalog (histograms through _bucket), with the prefix', () => {
    const catalog = new Map<string, string>(METRICS.map((x) => [x.name, x.type]));
    const unknown = Object.values(METRIC).filter((name) => !catalog.has(name));
    expect(unknown).toEqual(['process_max_fds']);
    for (const r of rules) {
      for (const [, name, bucket] of r.expr.matchAll(/\bait_([a-z0-9_]+?)(_bucket)?\{/g)) {
        if (name === METRIC.maxFds) continue;
        expect(catalog.has(name as string), `${r.alert} reads ${name}`).toBe(true);
        if (bucket) expect(catalog.get(name as string), `${r.alert} reads ${name}_bucket`).toBe('histogram');
      }
    }
  });

  it('labels and annotates every alert', () => {
    for (const r of rules) {
      expect(Object.keys(r.labels)).toEqual(['team', 'severity', 'namespace', 'aitransportcluster']);
      expect(r.annotations.runbook_url).toBe(
        `https://runbooks.example.com/aitransport/alerts.md#${r.alert.toLowerCase()}`,
      );
      expect(r.annotations.summary.length).toBeGreaterThan(0);
    }
  });

  it('applies disabledAlerts, overrides and the metric prefix', () => {
    expect(byName('AITransportEventLoopLagGrowing')).toBeUndefined();
    expect(byName('AITransportPodsUnavailable')).toMatchObject({ for: '5m', labels: { severity: 'critical' } });
    expect(byName('AITransportHistoryQueueBacklog')?.expr).toContain('> 5000');
    const sockudo = loadCluster('cluster-production.yaml', (raw) => {
      (specOf(raw).config as { metrics: Record<string, unknown> }).metrics.prefix = 'sockudo';
    });
    const expr = alertingRules(sockudo).find((r) => r.rule.alert === 'AITransportHistoryResetRequired')?.rule.expr;
    expect(expr).toBe(
      'max by (namespace, app_id) (sockudo_history_reset_required_channels{namespace="apps",job="chat-metrics"}) > 0',
    );
  });

  it('derives thresholds from the cluster', () => {
    expect(byName('AITransportConnectionsNearLimit')?.expr).toContain('> 0.9 * 50000');
    // no connection budget (0 = unlimited): no near-limit alert
    expect(alertingRules(loadCluster('cluster-minimal.yaml')).map((r) => r.rule.alert)).not.toContain(
      'AITransportConnectionsNearLimit',
    );
  });

  it('sizes short rate windows to the scrape interval (at least 1m, four intervals)', () => {
    const storm = (interval: string) =>
      alertingRules(
        loadCluster('cluster-production.yaml', (raw) => {
          (specOf(raw).monitoring as { serviceMonitor: Record<string, unknown> }).serviceMonitor.interval = interval;
        }),
      ).find((r) => r.rule.alert === 'AITransportReconnectStormUnshaped')?.rule.expr;
    expect(storm('10s')).toContain('[60s]');
    expect(storm('30s')).toContain('[120s]');
    expect(storm('60s')).toContain('[240s]');
  });

  it('exposes the threshold each rule was rendered with', () => {
    const backlog = alertingRules(prod).find((r) => r.rule.alert === 'AITransportHistoryQueueBacklog');
    expect(backlog?.threshold).toBe(5000);
  });

  it('groups rules by area under aitransport.<ns>.<cluster>', () => {
    const pr = renderPrometheusRule(prod, FACTS);
    expect(pr?.spec.groups.map((g) => g.name)).toEqual([
      'aitransport.apps.chat.availability',
      'aitransport.apps.chat.operator',
      'aitransport.apps.chat.history',
      'aitransport.apps.chat.transport',
      'aitransport.apps.chat.capacity',
      'aitransport.apps.chat.latency',
      'aitransport.apps.chat.runtime',
    ]);
    expect(pr?.metadata?.labels?.release).toBe('kps');
  });
});
