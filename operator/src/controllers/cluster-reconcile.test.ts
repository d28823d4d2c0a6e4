// The cluster reconcile's wrapper and steps against a scripted API (a fake Transport behind the
// real KubeClient) and in-memory caches: which requests each situation makes, and which not.
import { describe, expect, it } from 'vitest';
import { ANNOTATION, LABEL, LABEL_VALUE } from '../api/labels.ts';
import { KubeClient } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';
import { FakeClock } from '../kube/fake-clock.ts';
import { RESOURCE, type ResourceType } from '../kube/resources.ts';
import type { RequestOptions, Transport } from '../kube/transport.ts';
import { FACTS, loadCluster } from '../render/fixtures.ts';
import { renderAll } from '../render/index.ts';
import type { KubeObject } from '../render/meta.ts';
import { reconcileCluster } from './cluster-reconcile.ts';
import type { Caches, ReconcileDeps } from './context.ts';

type Req = Pick<RequestOptions, 'method' | 'path'> & { body?: unknown };

class FakeApi implements Transport {
  requests: Req[] = [];
  /** Answers by `METHOD path` prefix; default: echo the body (applies) or 404 (gets). */
  failures = new Map<string, KubeApiError>();
  secrets = new Map<string, KubeObject & { data?: Record<string, string> }>();

  async request<T>(o: RequestOptions): Promise<T> {
    this.requests.push({ method: o.method, path: o.path, body: o.body });
    for (const [prefix, err] of this.failures) if (`${o.method} ${o.path}`.startsWith(prefix)) throw err;
    if (o.method === 'GET') {
      const secret = this.secrets.get(o.path);
      if (secret) return secret as T;
      throw new KubeApiError('GET', o.path, 404, { reason: 'NotFound' });
    }
    return (o.body ?? {}) as T;
  }
  stream(): Promise<void> {
    return Promise.resolve();
  }
  writes(): string[] {
    return this.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
  }
}

class FakeCaches implements Caches {
  readonly objects = new Map<string, KubeObject>();
  put(t: ResourceType, o: KubeObject): void {
    this.objects.set(`${t.plural}/${o.metadata?.namespace}/${o.metadata?.name}`, o);
  }
  get<T extends KubeObject>(t: ResourceType, ns: string | undefined, name: string): T | undefined {
    return this.objects.get(`${t.plural}/${ns}/${name}`) as T | undefined;
  }
  list<T extends KubeObject>(t: ResourceType, ns?: string): T[] {
    return [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(`${t.plural}/`) && (ns === undefined || o.metadata?.namespace === ns))
      .map(([, o]) => o as T);
  }
  covers(): boolean {
    return true;
  }
}

const silent = { debug() {}, info() {}, warn() {}, error() {}, child() {} } as never;

function setup(patch?: (raw: Record<string, unknown>) => void) {
  const api = new FakeApi();
  const clock = new FakeClock();
  const caches = new FakeCaches();
  const cluster = loadCluster('cluster-minimal.yaml', patch);
  caches.put(RESOURCE.cluster, cluster as unknown as KubeObject);
  api.secrets.set('/api/v1/namespaces/apps/secrets/demo-app', { data: { 'app-secret': 'eA==' } });
  const events: string[] = [];
  const deps: ReconcileDeps = {
    client: new KubeClient({ transport: api, clock, attempts: 1 }),
    caches,
    recorder: {
      normal: (_r, reason) => events.push(reason),
      warning: (_r, reason) => events.push(`Warning ${reason}`),
    },
    clock,
    facts: () => FACTS,
    randomToken: () => 'tok',
    resyncMs: 300_000,
  };
  const run = () => reconcileCluster(deps, { namespace: 'apps', name: 'demo', log: silent });
  return { api, caches, cluster, deps, run, events };
}

const statusBody = (api: FakeApi) =>
  api.requests.find((r) => r.path.endsWith('/status'))?.body as {
    status: { conditions: Array<{ type: string; status: string; reason: string }> };
  };
const cond = (api: FakeApi, type: string) => statusBody(api)?.status.conditions.find((c) => c.type === type);

describe('reconcileCluster', () => {
  it('creates the admin token Secret, applies every child in order, then writes the status', async () => {
    const { api, run, events } = setup();
    expect(await run()).toBeUndefined();
    const writes = api.writes();
    expect(writes[0]).toBe('POST /api/v1/namespaces/apps/secrets');
    expect(writes.slice(1, -1).map((w) => w.split('/').at(-2))).toEqual([
      'configmaps',
      'serviceaccounts',
      'services',
      'services',
      'services',
      'networkpolicies',
      'statefulsets',
      'poddisruptionbudgets',
      'servicemonitors',
      'prometheusrules',
    ]);
    expect(writes.at(-1)).toBe('PATCH /apis/aitransport.io/v1alpha1/namespaces/apps/aitransportclusters/demo/status');
    expect(events).toEqual(['SecretCreated', 'Applied']);
  });

  it('skips children whose live copy carries the same hash and our values', async () => {
    const { api, caches, cluster, run } = setup();
    for (const o of renderAll(cluster, [], FACTS)) {
      const t = Object.values(RESOURCE).find((r) => r.kind === o.kind) as ResourceType;
      caches.put(t, o);
    }
    caches.put(RESOURCE.secret, { metadata: { name: 'demo-admin-token', namespace: 'apps' } });
    await run();
    expect(api.writes()).toEqual([
      'PATCH /apis/aitransport.io/v1alpha1/namespaces/apps/aitransportclusters/demo/status',
    ]);
  });

  it('with an invalid spec applies nothing and writes Stalled=True InvalidSpec', async () => {
    const { api, run, events } = setup((raw) => {
      (raw.spec as Record<string, unknown>).pod = { terminationGracePeriodSeconds: 5 };
    });
    expect(await run()).toBeUndefined();
    expect(api.writes()).toEqual([
      'PATCH /apis/aitransport.io/v1alpha1/namespaces/apps/aitransportclusters/demo/status',
    ]);
    expect(cond(api, 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(events).toEqual(['Warning InvalidSpec']);
  });

  it('stops at a rejected apply: later children untouched, Stalled ApplyRejected, and throws for the backoff', async () => {
    const { api, run, events } = setup();
    api.failures.set(
      'PATCH /apis/apps/v1/namespaces/apps/statefulsets',
      new KubeApiError('PATCH', '/x', 422, {
        reason: 'Invalid',
        message: 'spec: Forbidden: updates to statefulset spec',
      }),
    );
    await expect(run()).rejects.toThrow('while applying StatefulSet apps/demo');
    const writes = api.writes();
    expect(writes.some((w) => w.includes('poddisruptionbudgets'))).toBe(false);
    expect(cond(api, 'Stalled')).toMatchObject({ status: 'True', reason: 'ApplyRejected' });
    expect(events).toContain('Warning ApplyRejected');
  });

  it('a transient apply failure is Reconciling=True ApplyFailed, not Stalled', async () => {
    const { api, run } = setup();
    api.failures.set(
      'PATCH /api/v1/namespaces/apps/configmaps',
      new KubeApiError('PATCH', '/x', 503, { reason: 'ServiceUnavailable' }),
    );
    await expect(run()).rejects.toThrow('while applying ConfigMap apps/demo-config');
    expect(cond(api, 'Reconciling')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
    expect(cond(api, 'Stalled')?.status).toBe('False');
  });

  it('reports a missing referenced Secret and looks again soon', async () => {
    const { api, run } = setup();
    api.secrets.clear();
    expect(await run()).toEqual({ requeueAfterMs: 30_000 });
    expect(cond(api, 'Stalled')).toMatchObject({ status: 'True', reason: 'SecretsMissing' });
  });

  it('deletes an owned child that is no longer rendered, by uid', async () => {
    const { api, caches, cluster, run } = setup((raw) => {
      (raw.spec as Record<string, unknown>).disruption = { enabled: false };
    });
    const pdb = renderAll(loadCluster('cluster-minimal.yaml'), [], FACTS).find(
      (o) => o.kind === 'PodDisruptionBudget',
    ) as KubeObject;
    // as the informer holds it: list items have no kind; the reconcile must not depend on it
    caches.put(RESOURCE.podDisruptionBudget, { metadata: { ...pdb.metadata, uid: 'pdb-uid' } });
    await run();
    const del = api.requests.find((r) => r.method === 'DELETE');
    expect(del?.path).toBe('/apis/policy/v1/namespaces/apps/poddisruptionbudgets/demo');
    expect(del?.body).toMatchObject({ preconditions: { uid: 'pdb-uid' }, propagationPolicy: 'Background' });
    expect(cluster.metadata.uid).toBe('uid-demo');
  });

  it('does nothing at all for reconcile: disabled, and only a status patch when paused', async () => {
    const disabled = setup((raw) => {
      (raw.metadata as Record<string, unknown>).annotations = { [ANNOTATION.reconcile]: 'disabled' };
    });
    await disabled.run();
    expect(disabled.api.requests).toEqual([]);
    const paused = setup((raw) => {
      (raw.spec as Record<string, unknown>).paused = true;
    });
    await paused.run();
    expect(paused.api.writes()).toEqual([
      'PATCH /apis/aitransport.io/v1alpha1/namespaces/apps/aitransportclusters/demo/status',
    ]);
    expect(cond(paused.api, 'ReconciliationPaused')).toMatchObject({ status: 'True', reason: 'SpecPaused' });
  });

  it('when the cluster is gone, deletes its children in other namespaces (no ownerReference there)', async () => {
    const { api, caches, run } = setup();
    caches.objects.clear();
    caches.put(RESOURCE.serviceMonitor, {
      metadata: {
        name: 'apps-demo',
        namespace: 'monitoring',
        uid: 'sm-uid',
        labels: { [LABEL.managedBy]: LABEL_VALUE.managedBy, [LABEL.cluster]: 'demo', [LABEL.clusterNamespace]: 'apps' },
      },
    });
    await run();
    expect(api.writes()).toEqual([
      'DELETE /apis/monitoring.coreos.com/v1/namespaces/monitoring/servicemonitors/apps-demo',
    ]);
  });
});
