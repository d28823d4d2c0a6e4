import { describe, expect, it } from 'vitest';
import { LABEL } from '../api/labels.ts';
import { loadCluster, specOf } from '../render/fixtures.ts';
import { missingSecrets, operatorSecrets, referencedSecrets } from './secrets.ts';

describe('operator-created Secrets', () => {
  it('creates the admin token (and the Redis password for managed Redis), owned by the cluster', () => {
    const minimal = operatorSecrets(loadCluster('cluster-minimal.yaml'), () => 'tok');
    expect(minimal.map((s) => s.metadata?.name)).toEqual(['demo-admin-token']);
    expect(minimal[0]?.stringData).toEqual({ token: 'tok' });
    expect(minimal[0]?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'AITransportCluster', uid: 'uid-demo' });
    expect(minimal[0]?.metadata?.labels?.[LABEL.managedBy]).toBe('aitransport-operator');
    const prod = operatorSecrets(loadCluster('cluster-production.yaml'), () => 'x');
    expect(prod.map((s) => s.metadata?.name)).toEqual(['chat-admin-token', 'chat-redis-auth']);
  });

  it('creates no admin token when the CR names its own Secret', () => {
    const c = loadCluster('cluster-minimal.yaml', (raw) => {
      specOf(raw).adminTokenSecretRef = { name: 'mine' };
    });
    expect(operatorSecrets(c, () => 'x')).toEqual([]);
  });
});

describe('referenced Secrets', () => {
  it('lists app and admin Secrets with their keys, and reports what is missing', () => {
    const c = loadCluster('cluster-production.yaml', (raw) => {
      specOf(raw).adminTokenSecretRef = { name: 'admin', key: 't' };
    });
    const refs = referencedSecrets(c);
    expect(refs.map((r) => `${r.name}:${r.keys.join('+')}`)).toEqual([
      'chat-apps:assistant-secret',
      'chat-apps:support-secret',
      'admin:t',
    ]);
    const live = new Map([
      ['chat-apps', { data: { 'assistant-secret': 'eA==' } }],
      ['admin', undefined],
    ]);
    expect(missingSecrets(refs, live)).toEqual([
      'Secret chat-apps (spec.apps[1].secretRef) has no key support-secret',
      'Secret admin (spec.adminTokenSecretRef) not found',
    ]);
  });
});
