import { describe, expect, it } from 'vitest';
import { LABEL } from '../api/labels.ts';
import { isOwnedBy, keyOf, ownerCluster, parseKey } from './keys.ts';

describe('work-queue keys', () => {
  it('round-trips and rejects what is not a key', () => {
    expect(parseKey(keyOf('AITransportCluster', 'ns', 'demo'))).toEqual({
      kind: 'AITransportCluster',
      namespace: 'ns',
      name: 'demo',
    });
    expect(() => parseKey('Pod/ns/x')).toThrow(TypeError);
    expect(() => parseKey('ChannelPolicy/ns')).toThrow(TypeError);
  });
});

describe('ownerCluster', () => {
  const ref = {
    apiVersion: 'aitransport.io/v1alpha1',
    kind: 'AITransportCluster',
    name: 'demo',
    uid: 'u',
    controller: true,
  };
  it('follows the controller ownerReference, else the cluster labels', () => {
    expect(ownerCluster({ metadata: { namespace: 'ns', ownerReferences: [ref] } })).toEqual({
      namespace: 'ns',
      name: 'demo',
    });
    expect(
      ownerCluster({
        metadata: { namespace: 'mon', labels: { [LABEL.cluster]: 'demo', [LABEL.clusterNamespace]: 'ns' } },
      }),
    ).toEqual({ namespace: 'ns', name: 'demo' });
    expect(
      ownerCluster({ metadata: { namespace: 'ns', ownerReferences: [{ ...ref, kind: 'StatefulSet' }] } }),
    ).toBeUndefined();
  });

  it('isOwnedBy checks the uid, so a same-named successor does not adopt a predecessor child', () => {
    const child = { metadata: { namespace: 'ns', ownerReferences: [ref] } };
    expect(isOwnedBy(child, { uid: 'u', name: 'demo', namespace: 'ns' })).toBe(true);
    expect(isOwnedBy(child, { uid: 'other', name: 'demo', namespace: 'ns' })).toBe(false);
  });
});
