import { describe, expect, it } from 'vitest';
import { ANNOTATION, LABEL, LABEL_VALUE } from '../api/labels.ts';
import type { KubeObject } from '../render/meta.ts';
import { driftPath, planApply, planPrune } from './children.ts';

const hashed = (h: string, o: Record<string, unknown> = {}): KubeObject & Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 's', namespace: 'ns', annotations: { [ANNOTATION.inputHash]: h } },
  ...o,
});

describe('driftPath', () => {
  it('accepts extra fields the server or other managers added', () => {
    const desired = { spec: { ports: [{ name: 'http', port: 80 }], type: 'ClusterIP' } };
    const live = {
      spec: {
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }],
        type: 'ClusterIP',
        clusterIP: '10.0.0.1',
      },
      status: {},
    };
    expect(driftPath(desired, live)).toBeUndefined();
  });

  it('names the first field whose value is not ours', () => {
    expect(driftPath({ spec: { minReadySeconds: 15 } }, { spec: { minReadySeconds: 99 } })).toBe(
      'spec.minReadySeconds',
    );
    expect(driftPath({ data: { a: '1' } }, { data: {} })).toBe('data.a');
  });

  it('matches lists of named items by name, and ignores others items', () => {
    const desired = { env: [{ name: 'A', value: '1' }] };
    expect(
      driftPath(desired, {
        env: [
          { name: 'B', value: 'x' },
          { name: 'A', value: '1' },
        ],
      }),
    ).toBeUndefined();
    expect(driftPath(desired, { env: [{ name: 'A', value: '2' }] })).toBe('env[name=A].value');
    expect(driftPath(desired, { env: [] })).toBe('env[name=A]');
  });

  it('compares other lists item by item, length included', () => {
    expect(driftPath({ args: ['a', 'b'] }, { args: ['a', 'b'] })).toBeUndefined();
    expect(driftPath({ args: ['a', 'b'] }, { args: ['a'] })).toBe('args[length]');
    expect(driftPath({ args: ['a', 'b'] }, { args: ['a', 'c'] })).toBe('args[1]');
  });

  it('treats an absent live value as equal to an empty desired one', () => {
    expect(driftPath({ spec: { selector: {}, list: [] } }, { spec: {} })).toBeUndefined();
  });
});

describe('planApply', () => {
  it('creates what is missing, updates on a new hash, skips on the same hash', () => {
    expect(planApply(hashed('a'), undefined).action).toBe('create');
    expect(planApply(hashed('b'), hashed('a'))).toMatchObject({ action: 'update', reason: 'input hash a → b' });
    expect(planApply(hashed('a', { spec: { x: 1 } }), hashed('a', { spec: { x: 1, y: 2 } })).action).toBe('unchanged');
  });

  it('updates when another manager changed a field we render, even with the same hash', () => {
    const p = planApply(hashed('a', { spec: { x: 1 } }), hashed('a', { spec: { x: 2 } }));
    expect(p).toMatchObject({ action: 'update', reason: 'spec.x was changed by another field manager' });
  });
});

describe('planPrune', () => {
  const cluster = { uid: 'u1', name: 'demo', namespace: 'ns' };
  const child = (
    kind: string,
    name: string,
    owner: { uid: string } | undefined,
    labels: Record<string, string> = {},
    namespace = 'ns',
  ): KubeObject => ({
    apiVersion: 'v1',
    kind,
    metadata: {
      name,
      namespace,
      labels: { [LABEL.managedBy]: LABEL_VALUE.managedBy, ...labels },
      ...(owner
        ? {
            ownerReferences: [
              {
                apiVersion: 'aitransport.io/v1alpha1',
                kind: 'AITransportCluster',
                name: 'demo',
                uid: owner.uid,
                controller: true,
              },
            ],
          }
        : {}),
    },
  });

  it('deletes owned children that are no longer rendered, nothing else', () => {
    const desired = [child('Service', 'demo', { uid: 'u1' })];
    const live = [
      child('Service', 'demo', { uid: 'u1' }), // still rendered
      child('PodDisruptionBudget', 'demo', { uid: 'u1' }), // no longer rendered
      child('Service', 'other', { uid: 'u2' }), // another cluster (or a predecessor with the same name)
      { ...child('ConfigMap', 'x', { uid: 'u1' }), metadata: { name: 'x', namespace: 'ns' } }, // not managed-by us
      child(
        'ServiceMonitor',
        'ns-demo',
        undefined,
        { [LABEL.cluster]: 'demo', [LABEL.clusterNamespace]: 'ns' },
        'monitoring',
      ),
    ];
    expect(planPrune(live, desired, cluster).map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      'PodDisruptionBudget/demo',
      'ServiceMonitor/ns-demo',
    ]);
  });
});
