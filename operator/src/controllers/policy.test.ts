import { describe, expect, it } from 'vitest';
import { policyHash, renderConfigMap } from '../render/configmap.ts';
import { loadCluster, loadPolicy, specOf } from '../render/fixtures.ts';
import type { KubeObject } from '../render/meta.ts';
import { configMapHolds } from './policy-reconcile.ts';
import { policiesNaming, selectPolicies } from './policy-select.ts';
import { computePolicyStatus, type PolicyObservation } from './policy-status.ts';

const cluster = () => loadCluster('cluster-production.yaml');
const policy = (name: string, patch?: (spec: Record<string, unknown>) => void) =>
  loadPolicy('channelpolicy-ai.yaml', (raw) => {
    (raw.metadata as { name: string }).name = name;
    patch?.(specOf(raw));
  }) as unknown as KubeObject;

describe('selectPolicies', () => {
  it('accepts valid policies sorted by name and rejects the rest with reasons', () => {
    const sel = selectPolicies(cluster(), [
      policy('b'),
      policy('a'),
      policy('wrong-app', (s) => {
        s.appId = 'nope';
      }),
      policy('bad-pattern', (s) => {
        s.channels = { patterns: ['no-wildcard'] };
      }),
    ]);
    expect(sel.accepted.map((p) => p.metadata.name)).toEqual(['a', 'b']);
    expect(sel.rejected.get('wrong-app')?.[0]?.message).toContain('has no app nope');
    expect(sel.rejected.get('bad-pattern')?.[0]?.field).toBe('spec.channels.patterns[0]');
  });

  it('rejects a later policy naming an exact channel an earlier one names', () => {
    const named = (n: string) =>
      policy(n, (s) => {
        s.channels = { names: ['ai:1', `ai:${n}`] };
      });
    const sel = selectPolicies(cluster(), [named('z'), named('m')]);
    expect(sel.accepted.map((p) => p.metadata.name)).toEqual(['m']);
    expect(sel.rejected.get('z')?.[0]?.message).toBe('ai:1 already named by ChannelPolicy m');
  });

  it('rejects everything against a missing cluster', () => {
    expect(selectPolicies(undefined, [policy('a')]).rejected.get('a')?.[0]?.field).toBe('spec.clusterRef.name');
  });

  it('policiesNaming picks the namespace and clusterRef, never deleting ones', () => {
    const deleting = {
      ...policy('d'),
      metadata: { ...policy('d').metadata, deletionTimestamp: 'now' },
    } as unknown as KubeObject;
    const other = policy('o', (s) => {
      s.clusterRef = { name: 'other' };
    });
    expect(policiesNaming([policy('a'), deleting, other], 'apps', 'chat').map((p) => p.metadata?.name)).toEqual(['a']);
  });
});

describe('configMapHolds', () => {
  it('is true only when the ConfigMap carries the policy exactly as rendered now', () => {
    const p = loadPolicy('channelpolicy-ai.yaml');
    const cm = renderConfigMap(cluster(), [p]);
    expect(configMapHolds(cm, p.metadata.name, policyHash(p))).toBe(true);
    const changed = loadPolicy('channelpolicy-ai.yaml', (raw) => {
      (specOf(raw).rollup as { windowMs: number }).windowMs = 100;
    });
    expect(configMapHolds(cm, p.metadata.name, policyHash(changed))).toBe(false);
    expect(configMapHolds(renderConfigMap(cluster(), []), p.metadata.name, policyHash(p))).toBe(false);
    expect(configMapHolds({ data: { 'channel-policies.json': '{not json' } }, p.metadata.name, policyHash(p))).toBe(
      false,
    );
  });
});

describe('computePolicyStatus', () => {
  const base: PolicyObservation = {
    generation: 2,
    now: '2026-01-01T00:00:00Z',
    previous: undefined,
    cluster: { kind: 'ok', configMap: 'chat-config' },
    errors: [],
    hash: 'h2',
    inConfigMap: true,
  };
  const summary = (o: Partial<PolicyObservation>) => {
    const s = computePolicyStatus({ ...base, ...o });
    return { conds: Object.fromEntries((s.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`])), s };
  };

  it('Ready and Applied with the configHash once the ConfigMap carries it', () => {
    const { conds, s } = summary({});
    expect(conds).toEqual({ Ready: 'True/Applied', Applied: 'True/ConfigMapUpdated', Stalled: 'False/AsExpected' });
    expect(s).toMatchObject({ observedGeneration: 2, configHash: 'h2' });
  });

  it('Pending while the cluster reconcile has not updated the ConfigMap; keeps the old configHash', () => {
    const { conds, s } = summary({ inConfigMap: false, previous: { configHash: 'h1' } });
    expect(conds.Applied).toBe('False/Pending');
    expect(s.configHash).toBe('h1');
  });

  it('ClusterNotFound, ClusterNotReconciled and InvalidSpec', () => {
    expect(summary({ cluster: { kind: 'missing', name: 'x' }, inConfigMap: false }).conds.Ready).toBe(
      'False/ClusterNotFound',
    );
    expect(summary({ cluster: { kind: 'notReconciled', why: 'paused' } }).conds.Applied).toBe(
      'False/ClusterNotReconciled',
    );
    const invalid = summary({ errors: [{ field: 'spec.appId', type: 'Invalid', message: 'no app' }] });
    expect(invalid.conds).toMatchObject({ Ready: 'False/InvalidSpec', Stalled: 'True/InvalidSpec' });
  });

  it('keeps conditions other features own (ResetRequired) in place', () => {
    const previous = {
      conditions: [
        {
          type: 'ResetRequired',
          status: 'True' as const,
          reason: 'Channels',
          message: '3',
          lastTransitionTime: base.now,
          observedGeneration: 1,
        },
      ],
    };
    const { s } = summary({ previous });
    expect(s.conditions?.map((c) => c.type)).toEqual(['ResetRequired', 'Ready', 'Applied', 'Stalled']);
  });

  it('reports the reset outcome: ResetRequired, Resetting, Stalled ResetFailed, and the reset fields', () => {
    const lastReset = { trigger: 'Manual' as const, token: 't', startedAt: base.now, channelsReset: 2, failed: 0 };
    const done = summary({
      reset: {
        resetRequired: 0,
        resetting: false,
        message: 'manual reset t: 2 reset',
        lastHandledResetToken: 't',
        lastReset,
      },
    });
    expect(done.conds).toMatchObject({
      ResetRequired: 'False/NoChannelsResetRequired',
      Resetting: 'False/Idle',
      Stalled: 'False/AsExpected',
    });
    expect(done.s).toMatchObject({ resetRequiredChannels: 0, lastHandledResetToken: 't', lastReset });
    const running = summary({ reset: { resetRequired: 3, resetting: true, message: 'manual reset t running' } });
    expect(running.conds).toMatchObject({
      ResetRequired: 'True/ChannelsResetRequired',
      Resetting: 'True/ResetRunning',
    });
    const failing = summary({
      reset: { resetRequired: 1, resetting: false, message: 'x', failed: 'the last run failed' },
    });
    expect(failing.conds.Stalled).toBe('True/ResetFailed');
    // an invalid spec stays the Stalled reason
    const invalid = summary({
      errors: [{ field: 'spec.appId', type: 'Invalid', message: 'no app' }],
      reset: { resetRequired: 1, resetting: false, message: 'x', failed: 'y' },
    });
    expect(invalid.conds.Stalled).toBe('True/InvalidSpec');
    const unknown = summary({ reset: { resetting: false, message: 'cannot list' } });
    expect(unknown.conds.ResetRequired).toBe('Unknown/NotListed');
  });
});
