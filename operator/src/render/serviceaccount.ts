// ServiceAccount `<name>` of the data-plane pods. The node never calls the Kubernetes API, so no
// token is mounted and no Role is bound (STANDARDS.md I5).
import type { V1ServiceAccount } from '@kubernetes/client-node';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import { applyMeta, childMeta, withInputHash } from './meta.ts';
import { serviceAccountName } from './names.ts';

export function renderServiceAccount(c: Readonly<AITransportCluster>): V1ServiceAccount {
  return applyMeta(
    { apiVersion: 'v1', kind: 'ServiceAccount', automountServiceAccountToken: false },
    ...childMeta(c, serviceAccountName(c), 'dataplane'),
    withInputHash(),
  );
}
