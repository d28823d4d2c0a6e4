import { describe, expect, it } from 'vitest';
import { loadCluster } from './fixtures.ts';
import { renderServiceAccount } from './serviceaccount.ts';

describe('serviceaccount', () => {
  it('mounts no API token', () => {
    const sa = renderServiceAccount(loadCluster('cluster-minimal.yaml'));
    expect(sa.metadata?.name).toBe('demo');
    expect(sa.automountServiceAccountToken).toBe(false);
  });
});
