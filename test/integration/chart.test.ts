// The operator's Helm chart (charts/aitransport-operator) through the real helm v4 binary:
// `helm lint --strict` and `helm template` for several values files, the values schema, the
// determinism of the output (STANDARDS O5), the least-privilege RBAC (I5), and the rendered
// manifests against a real kube-apiserver: server-side dry-run of everything (CRDs applied
// first), then the RBAC applied for real and probed with `kubectl auth can-i` as the operator's
// ServiceAccount. helm and the control-plane binaries come from scripts/k8s-tools.sh (built on
// first use).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  artifactTools,
  CHART,
  helmTemplate,
  type KubeObject,
  repoRoot,
  TOOLS_TIMEOUT_MS,
  type Tools,
} from '../helpers/artifact-tools.ts';
import { type ControlPlane, startControlPlane } from '../helpers/controlplane.ts';

const NS = 'aitransport-system';
const FULLNAME = 'aitransport-operator';
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

/** The values files of the matrix: every one lints, renders and passes the server-side dry-run. */
const VALUES: Record<string, object> = {
  defaults: {},
  watchNamespaces: { watchNamespaces: ['team-b', 'team-a', 'team-b'] },
  crdsOff: { crds: { create: false } },
  monitoring: {
    serviceMonitor: { enabled: true, labels: { release: 'kps' } },
    prometheusRule: { enabled: true, labels: { release: 'kps' }, additionalRuleLabels: { team: 'realtime' } },
  },
  digest: { image: { tag: '0.1.0', digest: DIGEST } },
};

/** OPERATOR.md / the operator's contract: the exact rules on namespaced kinds. */
const ALL = ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'];
const NAMESPACED_RULES = [
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
  { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ALL },
  { apiGroups: [''], resources: ['configmaps', 'services', 'serviceaccounts', 'secrets', 'pods'], verbs: ALL },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ALL },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ALL },
  { apiGroups: ['monitoring.coreos.com'], resources: ['servicemonitors', 'prometheusrules'], verbs: ALL },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
];
const CRD_RULES = [
  { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get', 'list', 'watch'] },
];
const LEASE_RULES = [
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  },
];
const CLUSTER_SCOPED = new Set(['CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);

let tools: Tools;
const renders = new Map<string, KubeObject[]>();

const find = (objects: KubeObject[], kind: string, name?: string) =>
  objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const one = (objects: KubeObject[], kind: string, name?: string): KubeObject => {
  const found = find(objects, kind, name);
  expect(found, `${kind}/${name ?? '*'}`).toHaveLength(1);
  return found[0] as KubeObject;
};
type Deployment = KubeObject & {
  spec: {
    replicas: number;
    template: {
      metadata: { labels: Record<string, string> };
      spec: Record<string, unknown> & {
        securityContext: Record<string, unknown>;
        containers: Array<Record<string, unknown> & { args: string[]; env: Array<{ name: string; value?: string }> }>;
      };
    };
  };
};

afterAll(() => tools?.cleanup());

beforeAll(async () => {
  tools = await artifactTools();
  for (const [name, values] of Object.entries(VALUES)) {
    const r = await helmTemplate(tools, values);
    if (r.code !== 0) throw new Error(`helm template (${name}) failed:\n${r.stderr}`);
    renders.set(name, r.objects);
  }
}, TOOLS_TIMEOUT_MS);

const rendered = (name: string): KubeObject[] => renders.get(name) as KubeObject[];

describe('helm lint --strict', () => {
  it.each(Object.keys(VALUES))('passes with the %s values', async (name) => {
    const dir = tools.tempDir('ait-lint-');
    const file = path.join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(VALUES[name]));
    const r = await tools.helm(['lint', '--strict', CHART, '--values', file]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });
});

describe('helm template: defaults', () => {
  it('renders exactly these objects', () => {
    const kinds = rendered('defaults').map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds.sort()).toEqual(
      [
        'ClusterRole/aitransport-operator',
        'ClusterRole/aitransport-operator-crds',
        'ClusterRoleBinding/aitransport-operator',
        'ClusterRoleBinding/aitransport-operator-crds',
        'CustomResourceDefinition/aitransportclusters.aitransport.io',
        'CustomResourceDefinition/channelpolicies.aitransport.io',
        'Deployment/aitransport-operator',
        'PodDisruptionBudget/aitransport-operator',
        'Role/aitransport-operator-leader-election',
        'RoleBinding/aitransport-operator-leader-election',
        'Service/aitransport-operator-metrics',
        'ServiceAccount/aitransport-operator',
      ].sort(),
    );
  });

  it('runs 2 pinned, hardened replicas with leader election, probes and resources', () => {
    const d = one(rendered('defaults'), 'Deployment') as Deployment;
    expect(d.spec.replicas).toBe(2);
    const pod = d.spec.template.spec;
    expect(pod.serviceAccountName).toBe(FULLNAME);
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const [c] = pod.containers;
    expect(pod.containers).toHaveLength(1);
    expect(c?.image).toBe('ghcr.io/aitransport/operator:0.1.0');
    expect(c?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c?.args).toEqual([
      '--watch-namespaces=',
      '--metrics-port=8080',
      '--health-port=8081',
      '--leader-elect=true',
      `--leader-election-namespace=${NS}`,
      '--leader-election-id=aitransport-operator',
      '--concurrency=2',
      '--log-level=info',
      '--resync-seconds=300',
    ]);
    expect(c?.env).toEqual([
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      {
        name: 'OPERATOR_POD_LABELS',
        value: 'app.kubernetes.io/instance=aitransport-operator,app.kubernetes.io/name=aitransport-operator',
      },
    ]);
    expect(c?.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'health' } });
    expect(c?.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'health' } });
    expect(c?.ports).toEqual([
      { name: 'metrics', containerPort: 8080, protocol: 'TCP' },
      { name: 'health', containerPort: 8081, protocol: 'TCP' },
    ]);
    expect(c?.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    // The pod's selector labels are what OPERATOR_POD_LABELS names (the NetworkPolicy peer).
    const labels = d.spec.template.metadata.labels;
    for (const pair of (c?.env[1]?.value ?? '').split(',')) {
      const [k, v] = pair.split('=');
      expect(labels[k as string]).toBe(v);
    }
  });

  it('spreads the replicas over nodes and zones', () => {
    const pod = (one(rendered('defaults'), 'Deployment') as Deployment).spec.template.spec;
    const selector = {
      'app.kubernetes.io/name': 'aitransport-operator',
      'app.kubernetes.io/instance': 'aitransport-operator',
    };
    expect(pod.affinity).toEqual({
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } },
          },
        ],
      },
    });
    const spread = pod.topologySpreadConstraints as Array<{ topologyKey: string; labelSelector: unknown }>;
    expect(spread.map((s) => s.topologyKey)).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    for (const s of spread) expect(s.labelSelector).toEqual({ matchLabels: selector });
  });

  it('grants exactly the rules the operator uses', () => {
    const objects = rendered('defaults');
    expect(one(objects, 'ClusterRole', FULLNAME).rules).toEqual(NAMESPACED_RULES);
    expect(one(objects, 'ClusterRole', `${FULLNAME}-crds`).rules).toEqual(CRD_RULES);
    const lease = one(objects, 'Role', `${FULLNAME}-leader-election`);
    expect(lease.metadata.namespace).toBe(NS);
    expect(lease.rules).toEqual(LEASE_RULES);
    for (const b of [...find(objects, 'ClusterRoleBinding'), ...find(objects, 'RoleBinding')]) {
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: FULLNAME, namespace: NS }]);
      expect((b.roleRef as { name: string }).name).toBe(b.metadata.name);
    }
  });

  it('ships the CRDs of crds/ with the keep policy', () => {
    for (const file of ['aitransport.io_aitransportclusters.yaml', 'aitransport.io_channelpolicies.yaml']) {
      const source = parse(readFileSync(path.join(repoRoot, 'crds', file), 'utf8')) as KubeObject;
      const crd = one(rendered('defaults'), 'CustomResourceDefinition', source.metadata.name);
      expect(crd.spec).toEqual(source.spec);
      expect(crd.metadata.annotations).toEqual({
        'helm.sh/resource-policy': 'keep',
        'argocd.argoproj.io/sync-options': 'Prune=false',
      });
      expect(crd.metadata.labels).toMatchObject({ ...source.metadata.labels, 'app.kubernetes.io/managed-by': 'Helm' });
    }
  });

  it('gives every namespaced object the release namespace, and labels everything', () => {
    for (const name of Object.keys(VALUES)) {
      for (const o of rendered(name)) {
        if (CLUSTER_SCOPED.has(o.kind)) expect(o.metadata.namespace, `${name}: ${o.kind}`).toBeUndefined();
        else expect(o.metadata.namespace, `${name}: ${o.kind}/${o.metadata.name}`).toBeTruthy();
        expect(o.metadata.labels?.['app.kubernetes.io/managed-by'], `${o.kind}`).toBe('Helm');
        expect(o.metadata.labels?.['helm.sh/chart']).toBe('aitransport-operator-0.1.0');
      }
    }
  });

  it('keeps one operator pod available during voluntary disruptions', () => {
    const pdb = one(rendered('defaults'), 'PodDisruptionBudget');
    expect(pdb.spec).toEqual({
      maxUnavailable: 1,
      selector: {
        matchLabels: {
          'app.kubernetes.io/name': 'aitransport-operator',
          'app.kubernetes.io/instance': 'aitransport-operator',
        },
      },
    });
  });
});

describe('helm template: values', () => {
  it('watchNamespaces: a Role and RoleBinding per watched namespace instead of the ClusterRole', () => {
    const objects = rendered('watchNamespaces');
    expect(find(objects, 'ClusterRole', FULLNAME)).toEqual([]);
    expect(find(objects, 'ClusterRoleBinding', FULLNAME)).toEqual([]);
    const roles = find(objects, 'Role', FULLNAME);
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['team-a', 'team-b']);
    for (const r of roles) expect(r.rules).toEqual(NAMESPACED_RULES);
    expect(find(objects, 'RoleBinding', FULLNAME).map((r) => r.metadata.namespace)).toEqual(['team-a', 'team-b']);
    // CRD discovery stays cluster-wide, leases stay in the release namespace.
    expect(one(objects, 'ClusterRole', `${FULLNAME}-crds`).rules).toEqual(CRD_RULES);
    expect(one(objects, 'Role', `${FULLNAME}-leader-election`).metadata.namespace).toBe(NS);
    const args = (one(objects, 'Deployment') as Deployment).spec.template.spec.containers[0]?.args;
    expect(args).toContain('--watch-namespaces=team-a,team-b');
  });

  it('crds.create=false: no CRDs, everything else unchanged', () => {
    const without = rendered('crdsOff');
    expect(find(without, 'CustomResourceDefinition')).toEqual([]);
    const others = rendered('defaults').filter((o) => o.kind !== 'CustomResourceDefinition');
    expect(without).toEqual(others);
  });

  it('monitoring: a ServiceMonitor on the metrics Service and the operator PrometheusRule', () => {
    const objects = rendered('monitoring');
    const sm = one(objects, 'ServiceMonitor');
    expect(sm.metadata.labels?.release).toBe('kps');
    expect(sm.spec).toEqual({
      namespaceSelector: { matchNames: [NS] },
      selector: {
        matchLabels: {
          'app.kubernetes.io/name': 'aitransport-operator',
          'app.kubernetes.io/instance': 'aitransport-operator',
        },
      },
      endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }],
    });
    const svc = one(objects, 'Service');
    for (const [k, v] of Object.entries((sm.spec as { selector: { matchLabels: object } }).selector.matchLabels)) {
      expect(svc.metadata.labels?.[k]).toBe(v);
    }
    const rule = one(objects, 'PrometheusRule');
    expect(rule.metadata.labels?.release).toBe('kps');
    const rules = (rule.spec as { groups: Array<{ rules: Array<{ alert: string; labels: object }> }> }).groups[0]
      ?.rules;
    expect(rules?.map((r) => r.alert)).toEqual(['AITransportOperatorDown', 'AITransportOperatorReplicasUnavailable']);
    for (const r of rules ?? []) expect(r.labels).toMatchObject({ namespace: NS, team: 'realtime' });
    expect(find(rendered('defaults'), 'ServiceMonitor')).toEqual([]);
    expect(find(rendered('defaults'), 'PrometheusRule')).toEqual([]);
  });

  it('image digest: repository:tag@digest', () => {
    const c = (one(rendered('digest'), 'Deployment') as Deployment).spec.template.spec.containers[0];
    expect(c?.image).toBe(`ghcr.io/aitransport/operator:0.1.0@${DIGEST}`);
  });

  it('renders the same bytes twice (no lookup, randomness or clock)', async () => {
    for (const values of [VALUES.defaults, VALUES.monitoring, VALUES.watchNamespaces]) {
      const a = await helmTemplate(tools, values as object);
      const b = await helmTemplate(tools, values as object);
      expect(a.code).toBe(0);
      expect(a.stdout).toBe(b.stdout);
    }
    const templates = ['_helpers.tpl', 'deployment.yaml', 'rbac.yaml', 'prometheusrule.yaml'].map((f) =>
      readFileSync(path.join(CHART, 'templates', f), 'utf8'),
    );
    const actions = templates.flatMap((t) => [...t.matchAll(/\{\{(?!\/\*)(.*?)\}\}/gs)].map((m) => m[1] as string));
    expect(actions.length).toBeGreaterThan(50);
    for (const a of actions)
      expect(a).not.toMatch(/\b(lookup|randAlphaNum|randAlpha|randNumeric|uuidv4|now|date|genCA)\b/);
  });
});

describe('values schema and template checks', () => {
  const SCHEMA_ERROR = "values don't meet the specifications of the schema";

  it.each([
    ['an unknown top-level key', { replicas: 2 }, "at '': additional properties 'replicas' not allowed"],
    ['an unknown nested key', { image: { name: 'x' } }, "at '/image': additional properties 'name' not allowed"],
    ['a string for an integer', { replicaCount: 'two' }, "at '/replicaCount': got string, want integer"],
    ['a number for a boolean', { crds: { create: 1 } }, "at '/crds/create': got number, want boolean"],
    ['the latest tag', { image: { tag: 'latest' } }, "at '/image/tag'"],
    ['a malformed digest', { image: { digest: 'sha256:abc' } }, "at '/image/digest'"],
    ['a bad namespace name', { watchNamespaces: ['Team_A'] }, "at '/watchNamespaces/0'"],
    ['an unknown log level', { logLevel: 'verbose' }, "at '/logLevel'"],
    ['zero replicas', { replicaCount: 0 }, "at '/replicaCount'"],
    ['a typo in the security context', { securityContext: { readOnlyRootFS: true } }, "at '/securityContext'"],
  ])('rejects %s', async (_what, values, message) => {
    const r = await helmTemplate(tools, values);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(SCHEMA_ERROR);
    expect(r.stderr).toContain(message);
  });

  it('refuses two replicas without leader election', async () => {
    const r = await helmTemplate(tools, { leaderElection: { enabled: false } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('leaderElection.enabled=false needs replicaCount: 1');
    const single = await helmTemplate(tools, { leaderElection: { enabled: false }, replicaCount: 1 });
    expect(single.code, single.stderr).toBe(0);
  });

  it('needs a ServiceAccount name when it does not create one', async () => {
    const r = await helmTemplate(tools, { serviceAccount: { create: false } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('serviceAccount.name is required when serviceAccount.create is false');
  });
});

describe('against a real kube-apiserver', () => {
  let cp: ControlPlane;
  const SA = `system:serviceaccount:${NS}:${FULLNAME}`;

  beforeAll(async () => {
    cp = await startControlPlane();
    for (const ns of [NS, 'team-a', 'team-b', 'elsewhere']) {
      const r = await cp.kubectl(['create', 'namespace', ns]);
      if (r.code !== 0) throw new Error(r.stderr);
    }
    // CRDs first (as helm does), so the dry-run below can resolve every kind.
    const crds = rendered('defaults').filter((o) => o.kind === 'CustomResourceDefinition');
    const applied = await cp.kubectl(['apply', '--server-side', '--field-manager=helm', '-f', '-'], {
      input: crds.map((o) => stringify(o)).join('---\n'),
    });
    if (applied.code !== 0) throw new Error(applied.stderr);
    const established = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    if (established.code !== 0) throw new Error(established.stderr);
  }, TOOLS_TIMEOUT_MS);

  afterAll(async () => {
    await cp?.stop();
  });

  const applyAll = (objects: KubeObject[], dryRun: boolean) =>
    cp.kubectl(['apply', '--server-side', '--field-manager=helm', ...(dryRun ? ['--dry-run=server'] : []), '-f', '-'], {
      input: objects.map((o) => stringify(o)).join('---\n'),
    });

  it.each(Object.keys(VALUES))('accepts the %s render (kubectl apply --server-side --dry-run=server)', async (name) => {
    onTestFailed(() => console.error(cp.logTails(30)));
    // The test API server has no Prometheus Operator CRDs: promtool checks the PrometheusRule
    // (test/integration/alert-rules.test.ts); exactly these two kinds are left out here.
    const monitoring = new Set(['ServiceMonitor', 'PrometheusRule']);
    const objects = rendered(name);
    const skipped = objects.filter((o) => monitoring.has(o.kind)).map((o) => o.kind);
    expect(skipped.sort()).toEqual(name === 'monitoring' ? ['PrometheusRule', 'ServiceMonitor'] : []);
    const r = await applyAll(
      objects.filter((o) => !monitoring.has(o.kind)),
      true,
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(objects.length - skipped.length);
    for (const line of lines) expect(line).toMatch(/serverside-applied \(server dry run\)$/);
  });

  it('the operator pod meets the restricted Pod Security Standard', async () => {
    const label = await cp.kubectl([
      'label',
      'namespace',
      NS,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/warn=restricted',
    ]);
    expect(label.code, label.stderr).toBe(0);
    const deployment = one(rendered('defaults'), 'Deployment') as Deployment;
    const ok = await applyAll([deployment], true);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).not.toContain('would violate PodSecurity');
    // The same check flags a container that keeps its capabilities.
    const weakened = structuredClone(deployment);
    const [container] = weakened.spec.template.spec.containers;
    if (!container) throw new Error('no container');
    delete (container.securityContext as { capabilities?: unknown }).capabilities;
    const flagged = await applyAll([weakened], true);
    expect(flagged.stderr).toContain('would violate PodSecurity "restricted:latest"');
  });

  it('the ServiceAccount can do what the operator needs, and no more (cluster-wide RBAC)', async () => {
    onTestFailed(() => console.error(cp.logTails(30)));
    const r = await applyAll(rendered('defaults'), false);
    expect(r.code, r.stderr).toBe(0);
    const can = async (args: string[]) => (await cp.kubectl(['auth', 'can-i', `--as=${SA}`, ...args])).stdout.trim();
    expect(await can(['watch', 'aitransportclusters.aitransport.io', '--all-namespaces'])).toBe('yes');
    expect(await can(['patch', 'aitransportclusters.aitransport.io', '--subresource=status', '-n', 'elsewhere'])).toBe(
      'yes',
    );
    expect(await can(['create', 'statefulsets.apps', '-n', 'elsewhere'])).toBe('yes');
    expect(await can(['delete', 'secrets', '-n', 'team-a'])).toBe('yes');
    expect(await can(['create', 'leases.coordination.k8s.io', '-n', NS])).toBe('yes');
    expect(await can(['list', 'customresourcedefinitions.apiextensions.k8s.io'])).toBe('yes');
    // Not granted: the operator never writes CR specs away, deletes CRs, edits CRDs or RBAC,
    // execs into pods or evicts them.
    expect(await can(['delete', 'aitransportclusters.aitransport.io', '-n', 'elsewhere'])).toBe('no');
    expect(await can(['create', 'channelpolicies.aitransport.io', '-n', 'elsewhere'])).toBe('no');
    expect(await can(['update', 'customresourcedefinitions.apiextensions.k8s.io'])).toBe('no');
    expect(await can(['create', 'roles.rbac.authorization.k8s.io', '-n', 'elsewhere'])).toBe('no');
    expect(await can(['create', 'pods', '--subresource=exec', '-n', 'elsewhere'])).toBe('no');
    expect(await can(['create', 'pods', '--subresource=eviction', '-n', 'elsewhere'])).toBe('no');
    expect(await can(['create', 'leases.coordination.k8s.io', '-n', 'elsewhere'])).toBe('no');
    expect(await can(['list', 'nodes'])).toBe('no');
  });

  it('with watchNamespaces the ServiceAccount reaches only those namespaces', async () => {
    onTestFailed(() => console.error(cp.logTails(30)));
    // Replace the cluster-wide release with the namespaced one (as `helm upgrade` would).
    const del = await cp.kubectl(['delete', `clusterrolebinding/${FULLNAME}`, `clusterrole/${FULLNAME}`]);
    expect(del.code, del.stderr).toBe(0);
    const r = await applyAll(rendered('watchNamespaces'), false);
    expect(r.code, r.stderr).toBe(0);
    const can = async (args: string[]) => (await cp.kubectl(['auth', 'can-i', `--as=${SA}`, ...args])).stdout.trim();
    for (const ns of ['team-a', 'team-b']) {
      expect(await can(['watch', 'aitransportclusters.aitransport.io', '-n', ns])).toBe('yes');
      expect(await can(['update', 'configmaps', '-n', ns])).toBe('yes');
    }
    expect(await can(['watch', 'aitransportclusters.aitransport.io', '--all-namespaces'])).toBe('no');
    expect(await can(['get', 'secrets', '-n', 'elsewhere'])).toBe('no');
    expect(await can(['get', 'secrets', '-n', NS])).toBe('no');
    expect(await can(['update', 'leases.coordination.k8s.io', '-n', NS])).toBe('yes');
    expect(await can(['watch', 'customresourcedefinitions.apiextensions.k8s.io'])).toBe('yes');
  });
});
