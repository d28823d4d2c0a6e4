import { describe, expect, it } from 'vitest';
import { FACTS, loadCluster, specOf } from './fixtures.ts';
import { KIND_ORDER, renderAll, validateDesired } from './index.ts';

describe('renderAll', () => {
  it('returns objects in apply order, Redis before the data plane within a kind', () => {
    const objects = renderAll(loadCluster('cluster-production.yaml'), [], FACTS);
    const ranks = objects.map((o) => (KIND_ORDER as readonly string[]).indexOf(o.kind ?? ''));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(objects.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata?.name)).toEqual([
      'chat-redis',
      'chat',
    ]);
  });

  it('leaves out monitoring objects when their CRDs are missing', () => {
    const facts = { ...FACTS, monitoring: { serviceMonitors: false, prometheusRules: false } };
    const kinds = renderAll(loadCluster('cluster-production.yaml'), [], facts).map((o) => o.kind);
    expect(kinds).not.toContain('ServiceMonitor');
    expect(kinds).not.toContain('PrometheusRule');
  });
});

describe('validateDesired', () => {
  it('passes the examples and collects errors from every layer', () => {
    expect(validateDesired(loadCluster('cluster-production.yaml'))).toEqual([]);
    const bad = loadCluster('cluster-minimal.yaml', (raw) => {
      specOf(raw).pod = { terminationGracePeriodSeconds: 5, extraEnv: [{ name: 'AIT_NODE_ID', value: 'x' }] };
      specOf(raw).configOverrides = { shutdown: { gracePeriodSeconds: 0 } };
    });
    expect(validateDesired(bad).map((e) => e.field)).toEqual([
      'spec.pod.terminationGracePeriodSeconds',
      'spec.pod.extraEnv[0].name',
      'spec.configOverrides',
    ]);
  });
});
