import { describe, expect, it } from 'vitest';
import { loadCluster, specOf } from './fixtures.ts';
import { renderPodDisruptionBudget } from './pdb.ts';

describe('pdb', () => {
  it('allows one pod down and never blocks on broken pods', () => {
    const pdb = renderPodDisruptionBudget(loadCluster('cluster-production.yaml'));
    expect(pdb?.spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });

  it('is left out when disabled', () => {
    const c = loadCluster('cluster-minimal.yaml', (raw) => {
      specOf(raw).disruption = { enabled: false };
    });
    expect(renderPodDisruptionBudget(c)).toBeUndefined();
  });
});
