import { describe, expect, it } from 'vitest';
import { LABEL } from '../api/labels.ts';
import { FACTS, loadCluster, specOf } from './fixtures.ts';
import { renderNetworkPolicy, renderRedisNetworkPolicy } from './networkpolicy.ts';

describe('networkpolicy', () => {
  const np = renderNetworkPolicy(loadCluster('cluster-production.yaml'), FACTS);

  it('opens 6001 to everyone and 9601 only to the operator and Prometheus', () => {
    const [publicRule, opsRule] = np?.spec?.ingress ?? [];
    expect(publicRule).toEqual({ ports: [{ port: 'http', protocol: 'TCP' }] });
    expect(opsRule?.ports).toEqual([{ port: 'ops', protocol: 'TCP' }]);
    expect(opsRule?.from?.[0]?.namespaceSelector?.matchLabels).toEqual({ [LABEL.namespaceName]: 'aitransport-system' });
    expect(opsRule?.from?.[1]?.podSelector?.matchLabels).toEqual({ [LABEL.name]: 'prometheus' });
  });

  it('lets only the data plane reach managed Redis, and can be turned off', () => {
    const redis = renderRedisNetworkPolicy(loadCluster('cluster-production.yaml'));
    expect(redis?.spec?.ingress?.[0]?.ports).toEqual([{ port: 6379, protocol: 'TCP' }]);
    const off = loadCluster('cluster-minimal.yaml', (raw) => {
      specOf(raw).networkPolicy = { enabled: false };
    });
    expect(renderNetworkPolicy(off, FACTS)).toBeUndefined();
  });
});
