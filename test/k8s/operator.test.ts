// The operator process against a real kube-apiserver (+ controller-manager for garbage
// collection and StatefulSets, kwok for Ready pods): CRDs enforce schema and CEL; a cluster is
// reconciled into its children; spec changes, foreign edits, deleted children, invalid specs
// and ChannelPolicies behave as docs/controller.md says; leadership moves between two
// processes; an API-server restart is survived. One control plane for the whole file.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { parse } from 'yaml';
import { ANNOTATION, LABEL } from '../../operator/src/api/labels.ts';
import { ChannelPolicySchema } from '../../operator/src/api/v1alpha1/channelpolicy.ts';
import { AITransportClusterSchema } from '../../operator/src/api/v1alpha1/cluster.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import { realClock } from '../../operator/src/kube/clock.ts';
import { KubeApiError } from '../../operator/src/kube/errors.ts';
import { RESOURCE, type ResourceType, resourcePath } from '../../operator/src/kube/resources.ts';
import { createTransport, type Transport } from '../../operator/src/kube/transport.ts';
import { policyHash } from '../../operator/src/render/configmap.ts';
import { renderAll } from '../../operator/src/render/index.ts';
import type { KubeObject } from '../../operator/src/render/meta.ts';
import { type ControlPlane, loopbackPodCidr, serverSideApply, startControlPlane } from '../helpers/controlplane.ts';
import { waitFor } from '../helpers/controlplane-process.ts';
import { type OperatorProcess, startOperator } from '../helpers/operator-process.ts';
import { restrictedKubeconfig } from '../helpers/operator-rbac.ts';

const START_TIMEOUT = Number(process.env.AIT_K8S_BUILD_TIMEOUT_MS ?? 45 * 60_000) + 120_000;
const NS = 'apps';
const OP_NS = 'ait-system';
const OP_LABELS = { [LABEL.name]: 'aitransport-operator' };
const ROOT = new URL('../../', import.meta.url);

type Obj = KubeObject & {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
};
type Cond = { type: string; status: string; reason: string; message: string; observedGeneration?: number };

let cp: ControlPlane | undefined;
let transport: Transport;
let api: KubeClient;
const operators: OperatorProcess[] = [];
const failed = { value: false };

function debugOnFailure() {
  onTestFailed(() => {
    failed.value = true;
    if (!cp) return;
    for (const op of operators) process.stderr.write(`---- ${op.name} log ----\n${op.logTail(80)}\n`);
    process.stderr.write(`control plane logs (kept in ${cp.dir}):\n${cp.logTails(30)}\n`);
  });
}

const example = (file: string) => parse(readFileSync(new URL(`examples/${file}`, ROOT), 'utf8')) as Obj;
const get = <T extends Obj = Obj>(t: ResourceType, name: string, ns = NS) => api.get<T>(t, ns, name);
const cluster = (name = 'demo') => get(RESOURCE.cluster, name);
const conditions = (o: Obj | undefined) => (o?.status?.conditions ?? []) as Cond[];
const condition = (o: Obj | undefined, type: string) => conditions(o).find((c) => c.type === type);

/** A write by another field manager (kubectl, Helm, a human): merge patch or server-side apply. */
async function foreignPatch(t: ResourceType, name: string, body: unknown, manager = 'intruder', ns = NS) {
  await transport.request({
    method: 'PATCH',
    path: resourcePath(t, ns, name),
    query: { fieldManager: manager },
    body,
    contentType: 'application/merge-patch+json',
    timeoutMs: 10_000,
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  let value: T | undefined | false;
  await waitFor(
    async () => {
      value = await fn();
      return value !== undefined && value !== false;
    },
    { what, timeoutMs, intervalMs: 250 },
  );
  return value as T;
}

/** The children the operator renders for the live CR (same render, same facts as the process). */
function expectedChildren(cr: Obj, policies: Obj[] = []): KubeObject[] {
  const { status: _s, ...rest } = cr;
  const parsed = AITransportClusterSchema.parse(rest);
  return renderAll(
    parsed,
    policies.map((p) => ChannelPolicySchema.parse({ ...p, status: undefined })),
    {
      partition: 0,
      monitoring: { serviceMonitors: false, prometheusRules: false },
      operator: { namespace: OP_NS, podLabels: OP_LABELS },
    },
  );
}

beforeAll(async () => {
  // Pod IPs on loopback: the operator's admin-API probes of these (process-less) pods are refused
  // at once instead of waiting for a timeout on an unroutable address.
  cp = await startControlPlane({
    withControllerManager: true,
    withScheduler: true,
    withKwok: true,
    kwokPodCidr: loopbackPodCidr(),
  });
  transport = await createTransport(cp.kubeConfig, { userAgent: 'operator-test' });
  api = new KubeClient({ transport, clock: realClock });
  const crds = ['aitransport.io_aitransportclusters.yaml', 'aitransport.io_channelpolicies.yaml'].map((f) =>
    readFileSync(new URL(`crds/${f}`, ROOT), 'utf8'),
  );
  await serverSideApply(cp.kubeConfig, crds.join('\n---\n'), 'aitransport-test');
  for (const ns of [NS, OP_NS]) await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await api.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'demo-app', namespace: NS },
    stringData: { 'app-secret': 'a'.repeat(32) },
  } as Obj);
  opEnv.KUBECONFIG = await restrictedKubeconfig(cp, transport, OP_NS);
  await until('CRDs served', async () => {
    await api.list(RESOURCE.cluster, { namespace: NS });
    await api.list(RESOURCE.channelPolicy, { namespace: NS });
    return true;
  });
}, START_TIMEOUT);

afterAll(async () => {
  for (const op of operators) await op.stop(2_000);
  await cp?.stop({ keepDir: failed.value });
});

function opArgs(resync = 5): string[] {
  return [`--resync-seconds=${resync}`, '--log-level=debug'];
}
const opEnv: Record<string, string> = {
  POD_NAMESPACE: OP_NS,
  OPERATOR_POD_LABELS: `${LABEL.name}=aitransport-operator`,
};

describe('CRDs', () => {
  const rejection = async (obj: Obj) => {
    const err = await api.create(obj).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'the API server accepted an invalid object').toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(422);
    return (err as KubeApiError).message;
  };

  it('reject objects that break the schema or a CEL rule', async () => {
    debugOnFailure();
    const base = { ...example('cluster-minimal.yaml'), metadata: { name: 'bad', namespace: NS } };
    // schema: a negative replica count, a value outside an enum
    expect(await rejection({ ...base, spec: { ...base.spec, replicas: -1 } })).toContain('spec.replicas');
    expect(await rejection({ ...base, spec: { ...base.spec, upgrade: { strategy: 'Yolo' } } })).toContain(
      'spec.upgrade.strategy',
    );
    // CEL: Redis mode Managed with an external block
    const redisMismatch = await rejection({
      ...base,
      spec: { ...base.spec, redis: { mode: 'Managed', managed: {}, external: { host: 'r' } } },
    });
    expect(redisMismatch).toContain('set redis.managed when mode is Managed');
    // CEL: more than one replica without Redis
    expect(await rejection({ ...base, spec: { ...base.spec, replicas: 3 } })).toContain(
      'replicas above 1 need spec.redis',
    );
    // CEL on ChannelPolicy: a rollup window outside the allowed set
    const policy = { ...example('channelpolicy-ai.yaml'), metadata: { name: 'bad', namespace: NS } };
    expect(await rejection({ ...policy, spec: { ...policy.spec, rollup: { windowMs: 30 } } })).toContain(
      'rollup.windowMs must be one of',
    );
    const names = await api.list(RESOURCE.cluster, { namespace: NS });
    expect(names.items).toEqual([]);
  });
});

describe('operator process', () => {
  it('reconciles examples/cluster-minimal.yaml into every child, with status', async () => {
    debugOnFailure();
    operators.push(
      await startOperator(cp!, { name: 'operator-a', leaseNamespace: OP_NS, extraArgs: opArgs(), env: opEnv }),
    );
    await until('operator-a leads', async () => (await operators[0]!.gauge('aitransport_operator_leader')) === 1);
    // No data plane runs behind these kwok pods, so the drain-aware rollout (which needs each
    // pod's admin API) would wait forever: this file tests the children, with plain rolling
    // restarts; test/k8s/rollout.test.ts tests the rollout against real data-plane processes.
    const minimal = example('cluster-minimal.yaml');
    await api.create({
      ...minimal,
      metadata: { name: 'demo', namespace: NS },
      spec: { ...minimal.spec, upgrade: { strategy: 'Restart' } },
    });
    const cr = await until(
      'demo Ready',
      async () => {
        const c = await cluster();
        return condition(c, 'Ready')?.status === 'True' ? c : undefined;
      },
      60_000,
    );
    const uid = cr.metadata?.uid;
    for (const want of expectedChildren(cr)) {
      const live = await api.get(RESOURCE[kindKey(want.kind)], want.metadata?.namespace, want.metadata?.name ?? '');
      expect(live, `${want.kind} ${want.metadata?.name}`).toBeDefined();
      expect(live?.metadata?.annotations?.[ANNOTATION.inputHash]).toBe(
        want.metadata?.annotations?.[ANNOTATION.inputHash],
      );
      expect(live?.metadata?.ownerReferences?.[0]).toMatchObject({ uid, controller: true, kind: 'AITransportCluster' });
    }
    const token = await get(RESOURCE.secret, 'demo-admin-token');
    expect(Buffer.from(token?.data?.token ?? '', 'base64').toString().length).toBeGreaterThanOrEqual(32);
    expect(cr.status).toMatchObject({
      observedGeneration: cr.metadata?.generation,
      phase: 'Running',
      replicas: 1,
      readyReplicas: 1,
      updatedReplicas: 1,
      targetVersion: '0.1.0',
      currentVersion: '0.1.0',
      selector: `${LABEL.component}=dataplane,${LABEL.instance}=demo,${LABEL.name}=aitransport`,
    });
    expect(condition(cr, 'Reconciling')).toMatchObject({ status: 'False' });
    expect(condition(cr, 'Stalled')).toMatchObject({ status: 'False' });
    expect(condition(cr, 'MonitoringReady')).toMatchObject({ status: 'False', reason: 'CRDsMissing' });
    expect(condition(cr, 'ProductionReady')?.status).toBe('False');
    expect(condition(cr, 'ProductionReady')?.message).toContain('at least 2 replicas');
    for (const c of conditions(cr)) expect(c.observedGeneration).toBe(cr.metadata?.generation);
  }, 120_000);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every child of demo the operator renders, as `Kind/name` → a version that changes on every spec or data write. */
async function childVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of [
    RESOURCE.configMap,
    RESOURCE.serviceAccount,
    RESOURCE.service,
    RESOURCE.networkPolicy,
    RESOURCE.statefulSet,
    RESOURCE.podDisruptionBudget,
  ]) {
    const list = await api.list(t, { namespace: NS, labelSelector: `${LABEL.instance}=demo` });
    for (const o of list.items) {
      const hash = o.metadata?.annotations?.[ANNOTATION.inputHash] ?? '';
      // generation where the kind has one (status updates do not count), else resourceVersion
      out[`${t.kind}/${o.metadata?.name}`] = `${hash}@${o.metadata?.generation ?? o.metadata?.resourceVersion}`;
    }
  }
  return out;
}

async function eventsFor(name: string, reason: string): Promise<Array<{ note?: string; series?: { count: number } }>> {
  const list = await api.list<Obj & { note?: string; reason?: string; regarding?: { name?: string } }>(RESOURCE.event, {
    namespace: NS,
  });
  return list.items.filter((e) => e.reason === reason && e.regarding?.name === name) as never;
}

describe('reconcile behaviour (operator-a leading)', () => {
  it('is quiet in steady state: no child or status write across a resync', async () => {
    debugOnFailure();
    const before = await childVersions();
    const crBefore = (await cluster())?.metadata?.resourceVersion;
    expect(Object.keys(before)).toHaveLength(8); // ConfigMap, ServiceAccount, 3 Services, NetworkPolicy, StatefulSet, PDB
    await sleep(6_000); // > --resync-seconds=5
    expect(await childVersions()).toEqual(before);
    expect((await cluster())?.metadata?.resourceVersion).toBe(crBefore);
    expect(await operators[0]!.metrics()).toMatch(
      /aitransport_operator_child_applies_total\{kind="StatefulSet",action="unchanged"\} [1-9]/,
    );
  }, 30_000);

  it('restores a field it owns that another manager changed, and leaves the fields it does not own', async () => {
    debugOnFailure();
    const cm = await get(RESOURCE.configMap, 'demo-config');
    const config = cm?.data?.['config.json'];
    await foreignPatch(RESOURCE.statefulSet, 'demo', { metadata: { labels: { team: 'realtime' } } });
    await foreignPatch(RESOURCE.service, 'demo', { metadata: { annotations: { 'example.com/owner': 'sre' } } });
    await foreignPatch(RESOURCE.statefulSet, 'demo', { spec: { minReadySeconds: 99 } });
    await foreignPatch(RESOURCE.configMap, 'demo-config', { data: { 'config.json': '{}' } });
    await until(
      'config.json restored',
      async () => (await get(RESOURCE.configMap, 'demo-config'))?.data?.['config.json'] === config,
    );
    await until(
      'minReadySeconds restored',
      async () => (await get(RESOURCE.statefulSet, 'demo'))?.spec?.minReadySeconds === 15,
    );
    const sts = await get(RESOURCE.statefulSet, 'demo');
    expect(sts?.metadata?.labels?.team).toBe('realtime');
    expect((await get(RESOURCE.service, 'demo'))?.metadata?.annotations?.['example.com/owner']).toBe('sre');
    const managers = (sts?.metadata?.managedFields ?? []).map((f) => f.manager);
    expect(managers).toContain('intruder');
    expect(managers).toContain('aitransport-operator');
  }, 60_000);

  it('applies a spec change to the children, keeping foreign fields, and reports the new generation', async () => {
    debugOnFailure();
    const stsBefore = await get(RESOURCE.statefulSet, 'demo');
    const hashBefore = (stsBefore?.spec?.template as Obj)?.metadata?.annotations?.[ANNOTATION.configHash];
    await foreignPatch(
      RESOURCE.cluster,
      'demo',
      { spec: { config: { logging: { level: 'debug' } }, service: { port: 7001 } } },
      'user',
    );
    await until('config.json at level debug', async () =>
      (await get(RESOURCE.configMap, 'demo-config'))?.data?.['config.json']?.includes('"level": "debug"'),
    );
    await until('Service port 7001', async () => {
      const ports = (await get(RESOURCE.service, 'demo'))?.spec?.ports as Array<{ port: number }> | undefined;
      return ports?.[0]?.port === 7001;
    });
    const sts = await until('pod template rolled to the new config hash', async () => {
      const s = await get(RESOURCE.statefulSet, 'demo');
      return (s?.spec?.template as Obj)?.metadata?.annotations?.[ANNOTATION.configHash] !== hashBefore ? s : undefined;
    });
    expect(sts.metadata?.labels?.team).toBe('realtime');
    const cr = await until(
      'status of generation 2, Ready',
      async () => {
        const c = await cluster();
        return c?.status?.observedGeneration === 2 && condition(c, 'Ready')?.status === 'True' ? c : undefined;
      },
      60_000,
    );
    expect(cr.metadata?.generation).toBe(2);
    const wanted = expectedChildren(cr);
    for (const w of wanted) {
      const live = await api.get(RESOURCE[kindKey(w.kind)], w.metadata?.namespace, w.metadata?.name ?? '');
      expect(live?.metadata?.annotations?.[ANNOTATION.inputHash], `${w.kind} ${w.metadata?.name}`).toBe(
        w.metadata?.annotations?.[ANNOTATION.inputHash],
      );
    }
    expect((await eventsFor('demo', 'Applied')).length).toBeGreaterThan(0);
  }, 90_000);

  it('re-creates a deleted child', async () => {
    debugOnFailure();
    const svc = await get(RESOURCE.service, 'demo-metrics');
    const cm = await get(RESOURCE.configMap, 'demo-config');
    await api.delete(RESOURCE.service, NS, 'demo-metrics');
    await api.delete(RESOURCE.configMap, NS, 'demo-config');
    await until('Service demo-metrics re-created', async () => {
      const s = await get(RESOURCE.service, 'demo-metrics');
      return s && s.metadata?.uid !== svc?.metadata?.uid;
    });
    const again = await until('ConfigMap demo-config re-created', async () => {
      const c = await get(RESOURCE.configMap, 'demo-config');
      return c && c.metadata?.uid !== cm?.metadata?.uid ? c : undefined;
    });
    expect(again.data).toEqual(cm?.data);
  }, 60_000);

  it('reports an invalid spec as Stalled=True InvalidSpec and applies nothing', async () => {
    debugOnFailure();
    const before = await childVersions();
    await foreignPatch(RESOURCE.cluster, 'demo', { spec: { pod: { terminationGracePeriodSeconds: 5 } } }, 'user');
    const cr = await until('Stalled InvalidSpec', async () => {
      const c = await cluster();
      return condition(c, 'Stalled')?.reason === 'InvalidSpec' &&
        c?.status?.observedGeneration === c?.metadata?.generation
        ? c
        : undefined;
    });
    expect(condition(cr, 'Stalled')).toMatchObject({ status: 'True' });
    expect(condition(cr, 'Stalled')?.message).toContain('spec.pod.terminationGracePeriodSeconds');
    expect(condition(cr, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(cr.status?.phase).toBe('Failed');
    expect(await childVersions()).toEqual(before);
    const events = await until('InvalidSpec Event', async () => {
      const e = await eventsFor('demo', 'InvalidSpec');
      return e.length ? e : undefined;
    });
    expect(events[0]?.note).toContain('terminationGracePeriodSeconds');
    await foreignPatch(RESOURCE.cluster, 'demo', { spec: { pod: { terminationGracePeriodSeconds: null } } }, 'user');
    await until('Stalled cleared', async () => condition(await cluster(), 'Stalled')?.status === 'False');
    expect(await childVersions()).toEqual(before);
  }, 60_000);

  it('leaves children alone while paused (spec.paused or the annotation), then catches up', async () => {
    debugOnFailure();
    const before = await childVersions();
    const gen = (await cluster())?.metadata?.generation ?? 0;
    await foreignPatch(RESOURCE.cluster, 'demo', { spec: { paused: true } }, 'user');
    await until(
      'ReconciliationPaused',
      async () => condition(await cluster(), 'ReconciliationPaused')?.status === 'True',
    );
    await foreignPatch(RESOURCE.cluster, 'demo', { spec: { service: { sessionAffinity: 'ClientIP' } } }, 'user');
    const paused = await until('paused status of the new generation', async () => {
      const c = await cluster();
      return condition(c, 'ReconciliationPaused')?.observedGeneration === gen + 2 ? c : undefined;
    });
    expect(paused.status?.phase).toBe('Paused');
    expect(paused.status?.observedGeneration).toBe(gen); // the paused spec was not acted on
    expect(await childVersions()).toEqual(before);
    // the annotation pauses just the same; removing both resumes and applies the change
    await foreignPatch(
      RESOURCE.cluster,
      'demo',
      { metadata: { annotations: { [ANNOTATION.pauseReconciliation]: 'true' } }, spec: { paused: false } },
      'user',
    );
    await until(
      'paused by annotation',
      async () => condition(await cluster(), 'ReconciliationPaused')?.reason === 'AnnotationPaused',
    );
    expect(await childVersions()).toEqual(before);
    await foreignPatch(
      RESOURCE.cluster,
      'demo',
      { metadata: { annotations: { [ANNOTATION.pauseReconciliation]: null } } },
      'user',
    );
    await until(
      'sessionAffinity applied after resuming',
      async () => (await get(RESOURCE.service, 'demo'))?.spec?.sessionAffinity === 'ClientIP',
    );
    const resumed = await until('resumed', async () => {
      const c = await cluster();
      return condition(c, 'ReconciliationPaused')?.status === 'False' &&
        c?.status?.observedGeneration === c?.metadata?.generation
        ? c
        : undefined;
    });
    expect(resumed.status?.phase).toBe('Running');
  }, 60_000);

  it('renders a ChannelPolicy into channel-policies.json without touching the pod template', async () => {
    debugOnFailure();
    const stsBefore = await get(RESOURCE.statefulSet, 'demo');
    const policy = {
      apiVersion: 'aitransport.io/v1alpha1',
      kind: 'ChannelPolicy',
      metadata: { name: 'ai', namespace: NS },
      spec: { clusterRef: { name: 'demo' }, appId: 'demo', channels: { prefixes: ['ai:'] } },
    };
    await api.create(policy as Obj);
    const inConfigMap = async (needle: string) => {
      const doc = JSON.parse((await get(RESOURCE.configMap, 'demo-config'))?.data?.['channel-policies.json'] ?? '{}');
      return JSON.stringify(doc.policies ?? []).includes(needle);
    };
    await until('policy in the ConfigMap', () => inConfigMap('"name":"ai"'));
    let live = await until('policy Ready', async () => {
      const p = await get(RESOURCE.channelPolicy, 'ai');
      return condition(p, 'Ready')?.status === 'True' ? p : undefined;
    });
    expect(condition(live, 'Applied')).toMatchObject({ status: 'True', reason: 'ConfigMapUpdated' });
    expect(live.status?.configHash).toBe(policyHash(ChannelPolicySchema.parse({ ...live, status: undefined })));
    expect(live.status?.observedGeneration).toBe(1);

    await foreignPatch(RESOURCE.channelPolicy, 'ai', { spec: { history: { retention: { maxMessages: 42 } } } }, 'user');
    await until('new retention in the ConfigMap', () => inConfigMap('"maxMessages":42'));
    live = await until('policy status of generation 2', async () => {
      const p = await get(RESOURCE.channelPolicy, 'ai');
      return p?.status?.observedGeneration === 2 && condition(p, 'Applied')?.status === 'True' ? p : undefined;
    });
    expect(live.status?.configHash).toBe(policyHash(ChannelPolicySchema.parse({ ...live, status: undefined })));
    const sts = await get(RESOURCE.statefulSet, 'demo');
    expect(sts?.metadata?.generation).toBe(stsBefore?.metadata?.generation);
    expect((sts?.spec?.template as Obj)?.metadata).toEqual((stsBefore?.spec?.template as Obj)?.metadata);

    // a policy for a cluster that does not exist, and one for an app the cluster does not have
    await api.create({
      ...policy,
      metadata: { name: 'orphan', namespace: NS },
      spec: { ...policy.spec, clusterRef: { name: 'nope' } },
    } as Obj);
    await api.create({
      ...policy,
      metadata: { name: 'wrong-app', namespace: NS },
      spec: { ...policy.spec, appId: 'other' },
    } as Obj);
    await until(
      'orphan: ClusterNotFound',
      async () => condition(await get(RESOURCE.channelPolicy, 'orphan'), 'Ready')?.reason === 'ClusterNotFound',
    );
    const wrong = await until('wrong-app: InvalidSpec', async () => {
      const p = await get(RESOURCE.channelPolicy, 'wrong-app');
      return condition(p, 'Stalled')?.reason === 'InvalidSpec' ? p : undefined;
    });
    expect(condition(wrong, 'Stalled')?.message).toContain('has no app other');
    expect(await inConfigMap('"name":"wrong-app"')).toBe(false);
  }, 60_000);

  it('renders ServiceMonitor and PrometheusRule once their CRDs appear (discovery each resync)', async () => {
    debugOnFailure();
    const crd = (plural: string, kind: string) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.monitoring.coreos.com` },
      spec: {
        group: 'monitoring.coreos.com',
        scope: 'Namespaced',
        names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    });
    await serverSideApply(
      cp!.kubeConfig,
      [crd('servicemonitors', 'ServiceMonitor'), crd('prometheusrules', 'PrometheusRule')],
      'test',
    );
    await until('ServiceMonitor demo', () => get(RESOURCE.serviceMonitor, 'demo'), 30_000);
    const rule = await until('PrometheusRule demo', () => get(RESOURCE.prometheusRule, 'demo'), 30_000);
    expect(JSON.stringify(rule.spec)).toContain('AITransportClusterDown');
    await until('MonitoringReady', async () => condition(await cluster(), 'MonitoringReady')?.reason === 'CRDsPresent');
  }, 60_000);
});

describe('leadership and availability', () => {
  it('hands leadership over when the leader dies', async () => {
    debugOnFailure();
    const b = await startOperator(cp!, { name: 'operator-b', leaseNamespace: OP_NS, extraArgs: opArgs(), env: opEnv });
    operators.push(b);
    expect(await b.gauge('aitransport_operator_leader')).toBe(0);
    const lease = await get(RESOURCE.lease, 'aitransport-operator', OP_NS);
    expect(String(lease?.spec?.holderIdentity)).toMatch(/^operator-a_/);
    await operators[0]!.stop(0); // SIGKILL: no release, the lease has to expire
    await until('operator-b leads', async () => (await b.gauge('aitransport_operator_leader')) === 1, 22_000);
    expect(String((await get(RESOURCE.lease, 'aitransport-operator', OP_NS))?.spec?.holderIdentity)).toMatch(
      /^operator-b_/,
    );
    const pdb = await get(RESOURCE.podDisruptionBudget, 'demo');
    await api.delete(RESOURCE.podDisruptionBudget, NS, 'demo');
    await until('PDB re-created by operator-b', async () => {
      const p = await get(RESOURCE.podDisruptionBudget, 'demo');
      return p && p.metadata?.uid !== pdb?.metadata?.uid;
    });
    // and its reconciles run to the end (the status is the last step)
    await foreignPatch(RESOURCE.cluster, 'demo', { spec: { service: { sessionAffinity: 'ClientIP' } } }, 'user');
    await until('operator-b wrote the status of the new generation', async () => {
      const c = await cluster();
      return c?.status?.observedGeneration === c?.metadata?.generation;
    });
    expect(await b.metrics()).not.toMatch(/aitransport_operator_reconcile_errors_total\{[^}]*\} [1-9]/);
  }, 60_000);

  it('keeps reconciling across an API server restart', async () => {
    debugOnFailure();
    const b = operators[1]!;
    await cp!.restartApiserver();
    await until('CR patch accepted after the restart', async () => {
      await foreignPatch(RESOURCE.cluster, 'demo', { spec: { service: { port: 7002 } } }, 'user');
      return true;
    });
    await until(
      'Service port 7002',
      async () => {
        const ports = (await get(RESOURCE.service, 'demo'))?.spec?.ports as Array<{ port: number }> | undefined;
        return ports?.[0]?.port === 7002;
      },
      60_000,
    );
    // the whole reconcile ran (the status is written last) for the new generation
    await until('status of the new generation', async () => {
      const c = await cluster();
      return c?.status?.observedGeneration === c?.metadata?.generation && condition(c, 'Ready')?.status === 'True';
    });
    expect(await b.metrics()).toMatch(/aitransport_operator_watch_restarts_total\{[^}]*reason="error"\} [1-9]/);
    expect(await b.ready()).toBe(true);
  }, 90_000);

  it('on SIGTERM releases the lease and exits 0; a follower watching one namespace takes over at once', async () => {
    debugOnFailure();
    const b = operators[1]!;
    const c = await startOperator(cp!, {
      name: 'operator-c',
      leaseNamespace: OP_NS,
      extraArgs: [...opArgs(), `--watch-namespaces=${NS}`],
      env: opEnv,
    });
    operators.push(c);
    expect(await c.gauge('aitransport_operator_leader')).toBe(0);
    const t0 = Date.now();
    await b.stop(20_000);
    expect(await b.proc.exited).toBe(0);
    // released, not expired: c needs a retry period or two, not a lease duration
    await until('operator-c leads', async () => (await c.gauge('aitransport_operator_leader')) === 1, 10_000);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await foreignPatch(RESOURCE.cluster, 'demo', { spec: { service: { port: 7003 } } }, 'user');
    await until('operator-c applied the change', async () => {
      const ports = (await get(RESOURCE.service, 'demo'))?.spec?.ports as Array<{ port: number }> | undefined;
      return ports?.[0]?.port === 7003;
    });
  }, 60_000);

  it('exits 1 when its lease is taken away (and stops reconciling)', async () => {
    debugOnFailure();
    const c = operators[2]!;
    const lease = await get(RESOURCE.lease, 'aitransport-operator', OP_NS);
    await api.replace({
      ...lease,
      spec: { ...lease?.spec, holderIdentity: 'thief', renewTime: new Date().toISOString().replace('Z', '000Z') },
    } as Obj);
    expect(await until('operator-c exited', async () => (c.proc.hasExited() ? c.proc.exited : undefined), 15_000)).toBe(
      1,
    );
    expect(c.logTail(20)).toContain('lost the leader lease');
  }, 30_000);
});

function kindKey(kind: string | undefined): keyof typeof RESOURCE {
  const k = Object.entries(RESOURCE).find(([, t]) => t.kind === kind)?.[0];
  if (!k) throw new Error(`no resource for ${kind}`);
  return k as keyof typeof RESOURCE;
}
