import { describe, expect, it } from 'vitest';
import { loadCluster } from './fixtures.ts';
import { renderClientService, renderHeadlessService, renderMetricsService } from './service.ts';

describe('services', () => {
  const prod = loadCluster('cluster-production.yaml');

  it('client Service: the CR type, port and annotations', () => {
    const s = renderClientService(prod);
    expect(s.spec).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: 'Local' });
    expect(s.spec?.ports).toEqual([{ name: 'http', port: 6001, targetPort: 'http', protocol: 'TCP' }]);
    expect(s.metadata?.annotations?.['service.beta.kubernetes.io/aws-load-balancer-type']).toBe('nlb');
  });

  it('headless Service publishes draining pods; metrics Service exposes 9601 only', () => {
    expect(renderHeadlessService(prod).spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(renderMetricsService(prod).spec?.ports?.map((p) => p.port)).toEqual([9601]);
  });
});
