// The operator process against a real kube-apiserver (+ controller-manager for garbage
// collection and StatefulSets, kwok for Ready pods): CRDs enforce schema and CEL; a cluster is
// reconciled into its children; spec changes, foreign edits, deleted children, invalid specs
// and ChannelPolicies behave as docs/controller.md says; leadership moves between two
// processes; an API-server restart is survived. One control plane for the whole file.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
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
import { type ControlPlane, serverSideApply, startControlPlane } from '../helpers/controlplane.ts';
import { waitFor } from '../helpers/controlplane-process.ts';
import { type OperatorProcess, startOperator } from '../helpers/operator-process.ts';

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
  cp = await startControlPlane({ withControllerManager: true, withScheduler: true, withKwok: true });
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
const opEnv = { POD_NAMESPACE: OP_NS, OPERATOR_POD_LABELS: `${LABEL.name}=aitransport-operator` };

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
    await api.create({ ...example('cluster-minimal.yaml'), metadata: { name: 'demo', namespace: NS } });
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

function kindKey(kind: string | undefined): keyof typeof RESOURCE {
  const k = Object.entries(RESOURCE).find(([, t]) => t.kind === kind)?.[0];
  if (!k) throw new Error(`no resource for ${kind}`);
  return k as keyof typeof RESOURCE;
}

void parseAllDocuments;
void policyHash;
