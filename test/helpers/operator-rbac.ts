// The operator under test runs with the RBAC the Helm chart grants it, not as an admin: a
// service account bound to CHART_RULES, with a TokenRequest token in a kubeconfig of its own.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { Transport } from '../../operator/src/kube/transport.ts';
import { type ControlPlane, serverSideApply } from './controlplane.ts';

/**
 * The RBAC the Helm chart grants the operator (kept in step with docs/controller.md): the
 * processes under test run as a service account bound to exactly this, not as an admin.
 */
export const CHART_RULES = [
  {
    apiGroups: ['aitransport.io'],
    resources: ['aitransportclusters', 'channelpolicies'],
    verbs: ['get', 'list', 'watch', 'patch', 'update'],
  },
  {
    apiGroups: ['aitransport.io'],
    resources: ['aitransportclusters/status', 'channelpolicies/status'],
    verbs: ['get', 'patch', 'update'],
  },
  {
    apiGroups: ['apps'],
    resources: ['statefulsets'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'],
  },
  {
    apiGroups: [''],
    resources: ['configmaps', 'services', 'serviceaccounts', 'secrets', 'pods'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'],
  },
  { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  {
    apiGroups: ['policy', 'networking.k8s.io', 'monitoring.coreos.com'],
    resources: ['poddisruptionbudgets', 'networkpolicies', 'servicemonitors', 'prometheusrules'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'],
  },
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get', 'list', 'watch'] },
];

/** A kubeconfig for service account ait-system/aitransport-operator bound to CHART_RULES. */
export async function restrictedKubeconfig(
  cp: ControlPlane,
  transport: Transport,
  opNamespace: string,
): Promise<string> {
  await serverSideApply(
    cp.kubeConfig,
    [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'aitransport-operator', namespace: opNamespace } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'aitransport-operator' },
        rules: CHART_RULES,
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'aitransport-operator' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'aitransport-operator' },
        subjects: [{ kind: 'ServiceAccount', name: 'aitransport-operator', namespace: opNamespace }],
      },
    ],
    'aitransport-test',
  );
  const tr = await transport.request<{ status: { token: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${opNamespace}/serviceaccounts/aitransport-operator/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    timeoutMs: 10_000,
  });
  const kc = parse(readFileSync(cp.kubeconfigPath, 'utf8')) as { users: Array<{ user: { token: string } }> };
  for (const u of kc.users) u.user.token = tr.status.token;
  const file = path.join(cp.dir, 'operator-kubeconfig');
  writeFileSync(file, stringify(kc), { mode: 0o600 });
  return file;
}
