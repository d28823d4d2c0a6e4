import { describe, expect, it } from 'vitest';
import { ANNOTATION } from '../api/labels.ts';
import { loadCluster } from './fixtures.ts';
import { applyMeta, childMeta, type KubeObject, ownerReference, selectorString, withInputHash } from './meta.ts';

describe('meta', () => {
  const c = loadCluster('cluster-minimal.yaml');

  it('owns children as their controller', () => {
    expect(ownerReference(c)).toMatchObject({
      kind: 'AITransportCluster',
      name: 'demo',
      uid: 'uid-demo',
      controller: true,
    });
    expect(() => ownerReference({ ...c, metadata: { ...c.metadata, uid: undefined } })).toThrow(/uid is missing/);
  });

  it('hashes the rendered content into the input-hash annotation', () => {
    const make = (value: string) =>
      applyMeta<KubeObject & { data: object }>(
        { apiVersion: 'v1', kind: 'ConfigMap', data: { k: value } },
        ...childMeta(c, 'x', 'config'),
        withInputHash(),
      );
    const a = make('1').metadata?.annotations?.[ANNOTATION.inputHash];
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(make('1').metadata?.annotations?.[ANNOTATION.inputHash]).toBe(a);
    expect(make('2').metadata?.annotations?.[ANNOTATION.inputHash]).not.toBe(a);
  });

  it('gives /scale a sorted selector string', () => {
    expect(selectorString(c)).toBe(
      'app.kubernetes.io/component=dataplane,app.kubernetes.io/instance=demo,app.kubernetes.io/name=aitransport',
    );
  });
});
