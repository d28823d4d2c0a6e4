import { describe, expect, it } from 'vitest';
import { ChannelPolicySchema } from './channelpolicy.ts';
import { AITransportClusterSchema } from './cluster.ts';
import {
  cronProblem,
  durationMs,
  validateChannelPolicy,
  validateCluster,
  validatePolicyAgainstCluster,
  validatePolicyOverlap,
} from './validate.ts';

function cluster(spec: Record<string, unknown> = {}) {
  return AITransportClusterSchema.parse({
    apiVersion: 'aitransport.io/v1alpha1',
    kind: 'AITransportCluster',
    metadata: { name: 'c', namespace: 'ns' },
    spec: { version: '0.1.0', apps: [{ id: 'a', key: 'k', secretRef: { name: 's' } }], ...spec },
  });
}

function policy(name: string, spec: Record<string, unknown> = {}) {
  return ChannelPolicySchema.parse({
    apiVersion: 'aitransport.io/v1alpha1',
    kind: 'ChannelPolicy',
    metadata: { name, namespace: 'ns' },
    spec: { clusterRef: { name: 'c' }, appId: 'a', channels: { names: ['ai:1'] }, ...spec },
  });
}

describe('cluster validators', () => {
  it('accepts the defaults', () => {
    expect(validateCluster(cluster())).toEqual([]);
  });

  it('rejects a grace period shorter than preStop + drain + shutdown', () => {
    const errors = validateCluster(cluster({ pod: { terminationGracePeriodSeconds: 30 } }));
    expect(errors.map((e) => e.field)).toEqual(['spec.pod.terminationGracePeriodSeconds']);
    expect(errors[0]?.message).toContain('160s');
  });

  it('checks maintenance windows, scrape timeouts and forbidden overrides', () => {
    const errors = validateCluster(
      cluster({
        upgrade: { maintenanceWindows: ['* 1-4 * * *', '61 * * * *'] },
        monitoring: { serviceMonitor: { interval: '10s', scrapeTimeout: '30s' } },
        configOverrides: { apps: [], logging: { level: 'debug' } },
      }),
    );
    expect(errors.map((e) => e.field)).toEqual([
      'spec.upgrade.maintenanceWindows[1]',
      'spec.monitoring.serviceMonitor.scrapeTimeout',
      'spec.configOverrides.apps',
    ]);
  });

  it('finds duplicate app keys (ids are a list-map key, keys are not)', () => {
    const apps = [
      { id: 'a', key: 'k', secretRef: { name: 's' } },
      { id: 'b', key: 'k', secretRef: { name: 's' } },
    ];
    expect(validateCluster(cluster({ apps }))[0]?.type).toBe('Duplicate');
  });
});

describe('helpers', () => {
  it('parses cron fields and durations', () => {
    expect(cronProblem('*/15 1-4 * * 1,3,5')).toBeUndefined();
    expect(cronProblem('* * *')).toContain('3 fields');
    expect(cronProblem('* 5-2 * * *')).toContain('reversed');
    expect(durationMs('1h30m')).toBe(5_400_000);
    expect(durationMs('500ms')).toBe(500);
  });
});

describe('ChannelPolicy validators', () => {
  it('flags a pattern without wildcard and Automatic resets without history', () => {
    const p = policy('p', {
      channels: { patterns: ['exact'] },
      history: { enabled: false },
      reset: { policy: 'Automatic' },
    });
    expect(validateChannelPolicy(p).map((e) => e.field)).toEqual(['spec.channels.patterns[0]', 'spec.reset.policy']);
  });

  it('checks the cluster and app a policy names', () => {
    expect(validatePolicyAgainstCluster(policy('p'), cluster())).toEqual([]);
    expect(validatePolicyAgainstCluster(policy('p', { appId: 'zz' }), cluster())[0]?.field).toBe('spec.appId');
    expect(validatePolicyAgainstCluster(policy('p'), undefined)[0]?.field).toBe('spec.clusterRef.name');
  });

  it('finds two policies naming the same channel', () => {
    expect(validatePolicyOverlap([policy('b'), policy('a')])[0]?.message).toBe('b: channel ai:1 is also named by a');
  });
});
