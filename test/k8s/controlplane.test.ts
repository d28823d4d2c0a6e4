// The local control plane itself (test/helpers/controlplane.ts): the checks every operator test
// relies on. Binaries come from scripts/k8s-tools.sh (built on first use: minutes when cold,
// hence the long hook timeouts; `make k8s-tools` builds them ahead). See docs/testing-k8s.md.
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  makeInformer,
  type V1ConfigMap,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { type ControlPlane, serverSideApply, startControlPlane } from '../helpers/controlplane.ts';
import { waitFor } from '../helpers/controlplane-process.ts';

/** First use on a machine without the binary cache builds them from the Go module proxy. */
const START_TIMEOUT = Number(process.env.AIT_K8S_BUILD_TIMEOUT_MS ?? 45 * 60_000) + 120_000;
const FIELD_MANAGER = 'aitransport-test';

const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.test.aitransport.io' },
  spec: {
    group: 'test.aitransport.io',
    scope: 'Namespaced',
    names: { kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget' },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['min', 'max'],
                properties: { min: { type: 'integer' }, max: { type: 'integer' } },
                'x-kubernetes-validations': [
                  { rule: 'self.min <= self.max', message: 'spec.min must not exceed spec.max' },
                ],
              },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

const widget = (namespace: string, name: string, min: number, max: number) => ({
  apiVersion: 'test.aitransport.io/v1alpha1',
  kind: 'Widget',
  metadata: { name, namespace },
  spec: { min, max },
});

/** Keeps the temp dir and prints every component's log tail when a test in the file fails. */
function debugOnFailure(get: () => ControlPlane | undefined, failed: { value: boolean }) {
  onTestFailed(() => {
    failed.value = true;
    const cp = get();
    if (cp) process.stderr.write(`control plane logs (kept in ${cp.dir}):\n${cp.logTails(60)}\n`);
  });
}

describe('control plane: etcd + kube-apiserver', () => {
  let cp: ControlPlane | undefined;
  const failed = { value: false };
  const ns = 'ait-cel';

  beforeAll(async () => {
    cp = await startControlPlane();
  }, START_TIMEOUT);
  afterAll(async () => {
    await cp?.stop({ keepDir: failed.value });
  });

  it('serves the pinned version and a usable kubeconfig', async () => {
    debugOnFailure(() => cp, failed);
    const { stdout, code, stderr } = await cp!.kubectl(['version', '-o', 'json']);
    expect(code, stderr).toBe(0);
    const v = JSON.parse(stdout) as { serverVersion: { gitVersion: string }; clientVersion: { gitVersion: string } };
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(v.clientVersion.gitVersion).toBe(v.serverVersion.gitVersion);
    await cp!.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    const got = await cp!.kubectl(['get', 'namespace', ns, '-o', 'jsonpath={.status.phase}']);
    expect(got.stdout).toBe('Active');
  });

  it('enforces a CRD CEL rule on objects applied server-side', async () => {
    debugOnFailure(() => cp, failed);
    const apply = (obj: object) => serverSideApply(cp!.kubeConfig, obj, FIELD_MANAGER);

    await apply(widgetCrd);
    const ext = cp!.kubeConfig.makeApiClient(ApiextensionsV1Api);
    // the rule reached the server (a plain object through KubernetesObjectApi.patch would lose it)
    const stored = await ext.readCustomResourceDefinition({ name: widgetCrd.metadata.name });
    expect(stored.spec.versions[0]?.schema?.openAPIV3Schema?.properties?.spec?.x_kubernetes_validations).toEqual([
      { rule: 'self.min <= self.max', message: 'spec.min must not exceed spec.max' },
    ]);
    await waitFor(
      async () => {
        const crd = await ext.readCustomResourceDefinition({ name: widgetCrd.metadata.name });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
      },
      { what: 'CRD Established', timeoutMs: 20_000 },
    );

    // valid object: accepted (retry briefly: the new resource can take a moment to be served)
    await waitFor(
      async () => {
        await apply(widget(ns, 'ok', 1, 2));
        return true;
      },
      { what: 'valid Widget applied', timeoutMs: 20_000 },
    );

    // invalid object through the client: 422 Invalid carrying the rule's message
    const err = await apply(widget(ns, 'bad', 3, 1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiException);
    const apiErr = err as ApiException<unknown>;
    expect(apiErr.code).toBe(422);
    expect(String(apiErr.body)).toContain('spec.min must not exceed spec.max');

    // and through kubectl's server-side apply
    const res = await cp!.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], {
      input: JSON.stringify(widget(ns, 'bad2', 5, 4)),
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('spec.min must not exceed spec.max');

    const list = await cp!.kubectl(['get', 'widgets', '-n', ns, '-o', 'name']);
    expect(list.stdout.trim().split('\n')).toEqual(['widget.test.aitransport.io/ok']);
  });
});

describe('control plane: + kube-controller-manager, kube-scheduler, kwok', () => {
  let cp: ControlPlane | undefined;
  const failed = { value: false };
  const ns = 'ait-sts';

  beforeAll(async () => {
    cp = await startControlPlane({ withControllerManager: true, withScheduler: true, withKwok: true });
    await cp.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
  }, START_TIMEOUT);
  afterAll(async () => {
    await cp?.stop({ keepDir: failed.value });
  });

  it('runs a StatefulSet to 2 Ready pods on a kwok node', async () => {
    debugOnFailure(() => cp, failed);
    const apps = cp!.kubeConfig.makeApiClient(AppsV1Api);
    const core = cp!.kubeConfig.makeApiClient(CoreV1Api);
    const labels = { app: 'web' };
    const sts: V1StatefulSet = {
      metadata: { name: 'web', namespace: ns },
      spec: {
        serviceName: 'web',
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'web', image: 'registry.invalid/aitransport/fake:1' }] },
        },
      },
    };
    await apps.createNamespacedStatefulSet({ namespace: ns, body: sts });
    await waitFor(
      async () => {
        const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
        const ready = pods.items.filter((p) =>
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready.length === 2;
      },
      { what: '2 Ready pods of StatefulSet web', timeoutMs: 60_000, intervalMs: 250 },
    );
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
    expect(pods.items.map((p) => p.metadata?.name).sort()).toEqual(['web-0', 'web-1']);
    expect(pods.items.every((p) => p.spec?.nodeName === 'kwok-node-0')).toBe(true);
    await waitFor(
      async () => (await apps.readNamespacedStatefulSet({ name: 'web', namespace: ns })).status?.readyReplicas === 2,
      { what: 'StatefulSet status.readyReplicas == 2', timeoutMs: 30_000 },
    );
  }, 120_000);

  it('reconnects clients and watches after an apiserver restart', async () => {
    debugOnFailure(() => cp, failed);
    const kc = cp!.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1ConfigMap>(kc, `/api/v1/namespaces/${ns}/configmaps`, () =>
      core.listNamespacedConfigMap({ namespace: ns }),
    );
    const seen = new Set<string>();
    let running = true;
    informer.on('add', (cm) => seen.add(cm.metadata?.name ?? ''));
    // client-node's informer stops on a watch error; restarting it is the caller's job (as in the operator)
    informer.on('error', () => {
      if (running) setTimeout(() => running && informer.start().catch(() => {}), 500);
    });
    try {
      await informer.start();
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'before' } } });
      await waitFor(async () => seen.has('before'), { what: 'informer sees ConfigMap before', timeoutMs: 10_000 });

      await cp!.restartApiserver();

      // the same client objects work again (the first call may hit a dead keep-alive socket)
      await waitFor(
        async () => {
          await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'after' } } });
          return true;
        },
        { what: 'create ConfigMap after restart', timeoutMs: 30_000, intervalMs: 500 },
      );
      await waitFor(async () => seen.has('after'), { what: 'informer sees ConfigMap after', timeoutMs: 30_000 });

      // and after a crash (SIGKILL: connections reset instead of closed)
      await cp!.restartApiserver({ kill: true });
      await waitFor(
        async () => {
          await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'after-kill' } } });
          return true;
        },
        { what: 'create ConfigMap after kill', timeoutMs: 30_000, intervalMs: 500 },
      );
      await waitFor(async () => seen.has('after-kill'), {
        what: 'informer sees ConfigMap after-kill',
        timeoutMs: 30_000,
      });
      const res = await cp!.kubectl(['get', 'configmap', 'after', '-n', ns, '-o', 'name']);
      expect(res.stdout.trim()).toBe('configmap/after');
      // the StatefulSet survived in etcd and is still reported Ready
      const sts = await kc.makeApiClient(AppsV1Api).readNamespacedStatefulSet({ name: 'web', namespace: ns });
      expect(sts.status?.readyReplicas).toBe(2);
    } finally {
      running = false;
      await informer.stop();
    }
  }, 120_000);
});
