import { describe, expect, it } from 'vitest';
import { LABEL } from '../api/labels.ts';
import { FACTS, loadCluster, specOf } from './fixtures.ts';
import { renderServiceMonitor } from './servicemonitor.ts';

describe('servicemonitor', () => {
  it('scrapes the metrics Service with the CR interval and labels', () => {
    const sm = renderServiceMonitor(loadCluster('cluster-production.yaml'), FACTS);
    expect(sm?.spec.endpoints).toEqual([
      { port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s', scrapeTimeout: '10s' },
    ]);
    expect(sm?.metadata?.labels?.release).toBe('kps');
  });

  it('in another namespace: no ownerReference, a namespaceSelector and owner labels', () => {
    const c = loadCluster('cluster-production.yaml', (raw) => {
      (specOf(raw).monitoring as { serviceMonitor: Record<string, unknown> }).serviceMonitor.namespace = 'monitoring';
    });
    const sm = renderServiceMonitor(c, FACTS);
    expect(sm?.metadata).toMatchObject({ name: 'apps-chat', namespace: 'monitoring' });
    expect(sm?.metadata?.ownerReferences).toBeUndefined();
    expect(sm?.metadata?.labels?.[LABEL.cluster]).toBe('chat');
    expect(sm?.spec.namespaceSelector).toEqual({ matchNames: ['apps'] });
  });

  it('is skipped while the Prometheus Operator CRDs are missing', () => {
    const facts = { ...FACTS, monitoring: { serviceMonitors: false, prometheusRules: false } };
    expect(renderServiceMonitor(loadCluster('cluster-production.yaml'), facts)).toBeUndefined();
  });
});
