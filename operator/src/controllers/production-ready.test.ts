import { describe, expect, it } from 'vitest';
import { FACTS, loadCluster, loadPolicy, specOf } from '../render/fixtures.ts';
import { PRODUCTION_CHECKS, productionReadiness } from './production-ready.ts';

const prod = () => loadCluster('cluster-production.yaml');
const aiPolicy = () => loadPolicy('channelpolicy-ai.yaml');
const names = (missing: string[]) => missing.map((m) => m.split(':')[0]);

describe('productionReadiness', () => {
  it('passes examples/cluster-production.yaml with its ChannelPolicy and the monitoring CRDs', () => {
    expect(productionReadiness({ cluster: prod(), policies: [aiPolicy()], facts: FACTS })).toEqual({
      ready: true,
      missing: [],
    });
  });

  it('lists what the minimal example lacks, in table order', () => {
    const r = productionReadiness({ cluster: loadCluster('cluster-minimal.yaml'), policies: [], facts: FACTS });
    expect(r.ready).toBe(false);
    expect(names(r.missing)).toEqual(['at least 2 replicas', 'AI Transport enabled']);
    expect(r.missing[0]).toBe('at least 2 replicas: spec.replicas is 1: one pod is a single point of failure');
  });

  const cases: Array<[string, Parameters<typeof productionReadiness>[0], string]> = [
    [
      'no ChannelPolicy gives the AI channels history',
      { cluster: prod(), policies: [], facts: FACTS },
      'durable history for the AI channels',
    ],
    [
      'a broad AI prefix',
      {
        cluster: loadCluster('cluster-production.yaml', (raw) => {
          (specOf(raw).config as { aiTransport: { channelPrefixes: string[] } }).aiTransport.channelPrefixes = [
            'private-',
            'ai:',
          ];
        }),
        policies: [aiPolicy()],
        facts: FACTS,
      },
      'narrow AI channel prefixes',
    ],
    [
      'retention shorter than the recovery window',
      {
        cluster: prod(),
        policies: [
          loadPolicy('channelpolicy-ai.yaml', (raw) => {
            (specOf(raw).history as { retention: { maxAgeSeconds: number } }).retention.maxAgeSeconds = 60;
          }),
        ],
        facts: FACTS,
      },
      'retention covers the recovery window',
    ],
    [
      'Prometheus Operator CRDs missing',
      {
        cluster: prod(),
        policies: [aiPolicy()],
        facts: { ...FACTS, monitoring: { serviceMonitors: false, prometheusRules: false } },
      },
      'metrics scraped (ServiceMonitor)',
    ],
    [
      'an essential alert disabled',
      {
        cluster: loadCluster('cluster-production.yaml', (raw) => {
          (specOf(raw).monitoring as { prometheusRule: { disabledAlerts: string[] } }).prometheusRule.disabledAlerts = [
            'AITransportHistoryResetRequired',
          ];
        }),
        policies: [aiPolicy()],
        facts: FACTS,
      },
      'alerts on (PrometheusRule)',
    ],
    [
      'no PodDisruptionBudget',
      {
        cluster: loadCluster('cluster-production.yaml', (raw) => {
          specOf(raw).disruption = { enabled: false };
        }),
        policies: [aiPolicy()],
        facts: FACTS,
      },
      'PodDisruptionBudget on',
    ],
    [
      'no memory limit',
      {
        cluster: loadCluster('cluster-production.yaml', (raw) => {
          (specOf(raw).pod as { resources: unknown }).resources = { requests: { cpu: '1', memory: '1Gi' } };
        }),
        policies: [aiPolicy()],
        facts: FACTS,
      },
      'resources set',
    ],
    [
      'Redis without persistence',
      {
        cluster: loadCluster('cluster-production.yaml', (raw) => {
          (specOf(raw).redis as { managed: { persistence: boolean } }).managed.persistence = false;
        }),
        policies: [aiPolicy()],
        facts: FACTS,
      },
      'Redis persistence',
    ],
  ];

  it.each(cases)('flags %s', (_name, input, check) => {
    const r = productionReadiness(input);
    expect(r.ready).toBe(false);
    expect(names(r.missing)).toContain(check);
  });

  it('every check is named and passes on the production example', () => {
    const input = { cluster: prod(), policies: [aiPolicy()], facts: FACTS };
    for (const [name, check] of Object.entries(PRODUCTION_CHECKS)) {
      expect(name.length).toBeGreaterThan(5);
      expect(check(input), name).toBeUndefined();
    }
  });
});
