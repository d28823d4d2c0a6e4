// The environment of the rollout tests (test/k8s/rollout.test.ts, upgrade-under-load.test.ts):
// a local control plane whose kwok pods get loopback IPs, a real redis-server, the operator as a
// process with the chart's RBAC, and the pod runner starting a real data-plane process per pod
// at its pod IP. Plus the small API helpers those tests share.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LABEL } from '../../operator/src/api/labels.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import { realClock } from '../../operator/src/kube/clock.ts';
import { RESOURCE, type ResourceType, resourcePath } from '../../operator/src/kube/resources.ts';
import { createTransport, type Transport } from '../../operator/src/kube/transport.ts';
import type { KubeObject } from '../../operator/src/render/meta.ts';
import { APP } from '../integration/rest-helpers.ts';
import { type ControlPlane, loopbackPodCidr, serverSideApply, startControlPlane } from './controlplane.ts';
import { waitFor } from './controlplane-process.ts';
import { type OperatorProcess, startOperator } from './operator-process.ts';
import { restrictedKubeconfig } from './operator-rbac.ts';
import { type PodRunner, startPodRunner } from './pod-runner.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';

export const NS = 'apps';
export const OP_NS = 'ait-system';
const ROOT = new URL('../../', import.meta.url);

export type Obj = KubeObject & {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
};
export type Cond = { type: string; status: string; reason: string; message: string };

export interface RolloutEnv {
  readonly cp: ControlPlane;
  readonly api: KubeClient;
  readonly transport: Transport;
  readonly redis: RedisServer;
  readonly runner: PodRunner;
  operator: OperatorProcess;
  readonly operators: OperatorProcess[];
  /** Starts another operator process (after a kill). */
  startOperator(name: string): Promise<OperatorProcess>;
  stop(keep: boolean): Promise<void>;
  debug(): string;
}

export async function startRolloutEnv(o: { startTimeoutMs: number }): Promise<RolloutEnv> {
  void o;
  const cp = await startControlPlane({
    withControllerManager: true,
    withScheduler: true,
    withKwok: true,
    kwokPodCidr: loopbackPodCidr(),
    kwokStages: 'runner',
  });
  const transport = await createTransport(cp.kubeConfig, { userAgent: 'rollout-test' });
  const api = new KubeClient({ transport, clock: realClock });
  const crds = ['aitransport.io_aitransportclusters.yaml', 'aitransport.io_channelpolicies.yaml'].map((f) =>
    readFileSync(new URL(`crds/${f}`, ROOT), 'utf8'),
  );
  await serverSideApply(cp.kubeConfig, crds.join('\n---\n'), 'aitransport-test');
  for (const ns of [NS, OP_NS]) await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await api.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'app-secret', namespace: NS },
    stringData: { 'app-secret': APP.secret },
  } as Obj);
  const kubeconfig = await restrictedKubeconfig(cp, transport, OP_NS);
  await waitFor(
    async () => {
      await api.list(RESOURCE.cluster, { namespace: NS });
      return true;
    },
    { what: 'CRDs served', timeoutMs: 30_000 },
  );
  const redis = await startRedisServer({ appendonly: true, appendfsync: 'everysec' });
  const runner = startPodRunner({
    api,
    transport,
    namespace: NS,
    labelSelector: `${LABEL.component}=dataplane`,
    dir: path.join(cp.dir, 'pods'),
    ownerDir: cp.dir,
  });
  const operators: OperatorProcess[] = [];
  const start = async (name: string) => {
    const op = await startOperator(cp, {
      name,
      leaseNamespace: OP_NS,
      extraArgs: ['--resync-seconds=30', '--log-level=debug'],
      env: {
        KUBECONFIG: kubeconfig,
        POD_NAMESPACE: OP_NS,
        OPERATOR_POD_LABELS: `${LABEL.name}=aitransport-operator`,
      },
    });
    operators.push(op);
    await waitFor(async () => (await op.gauge('aitransport_operator_leader')) === 1, {
      what: `${name} leads`,
      timeoutMs: 30_000,
    });
    return op;
  };
  const env: RolloutEnv = {
    cp,
    api,
    transport,
    redis,
    runner,
    operator: await start('operator-0'),
    operators,
    async startOperator(name) {
      env.operator = await start(name);
      return env.operator;
    },
    async stop(keep) {
      await runner.stop();
      for (const op of operators) await op.stop(2_000);
      await redis.cleanup();
      await cp.stop({ keepDir: keep });
    },
    debug() {
      return [
        ...operators.map((op) => `---- ${op.name} log ----\n${op.logTail(60)}`),
        `---- pods ----\n${runner.logs(15)}`,
        `control plane logs (kept in ${cp.dir}):\n${cp.logTails(15)}`,
      ].join('\n');
    },
  };
  return env;
}

/** A cluster CR for these tests: External Redis (the test's redis-server), fast health gate. */
export function clusterCr(name: string, redisPort: number, spec: Record<string, unknown> = {}): Obj {
  return {
    apiVersion: 'aitransport.io/v1alpha1',
    kind: 'AITransportCluster',
    metadata: { name, namespace: NS },
    spec: {
      version: '0.1.0',
      replicas: 3,
      apps: [{ id: APP.id, key: APP.key, secretRef: { name: 'app-secret' } }],
      redis: { mode: 'External', external: { host: '127.0.0.1', port: redisPort, keyPrefix: `ait-${name}:` } },
      config: {
        logging: { level: 'info' },
        shutdown: { gracePeriodSeconds: 5, drainBatchSize: 100, drainBatchIntervalMs: 50 },
        aiTransport: { enabled: true, channelPrefixes: ['private-ai-'] },
      },
      upgrade: {
        drain: {
          endpointPropagationSeconds: 1,
          connectionDrainTimeoutSeconds: 15,
          reconnectBatch: { size: 50, intervalMilliseconds: 50 },
        },
        healthGate: { minReadySeconds: 1, stableSeconds: 2, timeoutSeconds: 25 },
      },
      monitoring: { serviceMonitor: { enabled: false }, prometheusRule: { enabled: false } },
      ...spec,
    },
  };
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
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

export const conditionOf = (o: Obj | undefined, type: string): Cond | undefined =>
  ((o?.status?.conditions ?? []) as Cond[]).find((c) => c.type === type);

export async function mergePatch(
  transport: Transport,
  t: ResourceType,
  name: string,
  body: unknown,
  ns = NS,
): Promise<void> {
  await transport.request({
    method: 'PATCH',
    path: resourcePath(t, ns, name),
    query: { fieldManager: 'user' },
    body,
    contentType: 'application/merge-patch+json',
    timeoutMs: 10_000,
  });
}

export async function eventsFor(
  api: KubeClient,
  name: string,
): Promise<Array<{ reason?: string; note?: string; type?: string; regarding?: { name?: string; kind?: string } }>> {
  const list = await api.list<Obj & { reason?: string; note?: string; regarding?: { name?: string } }>(RESOURCE.event, {
    namespace: NS,
  });
  return list.items.filter((e) => e.regarding?.name === name) as never;
}

export interface PodRow {
  name: string;
  uid: string;
  ip: string;
  ready: boolean;
  revision: string;
}

export async function podsOf(api: KubeClient, cluster: string): Promise<PodRow[]> {
  const list = await api.list<Obj & { status?: { podIP?: string; conditions?: Cond[] } }>(RESOURCE.pod, {
    namespace: NS,
    labelSelector: `${LABEL.instance}=${cluster},${LABEL.component}=dataplane`,
  });
  return list.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => ({
      name: p.metadata?.name ?? '',
      uid: p.metadata?.uid ?? '',
      ip: (p.status as { podIP?: string } | undefined)?.podIP ?? '',
      ready: ((p.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).some(
        (c) => c.type === 'Ready' && c.status === 'True',
      ),
      revision: p.metadata?.labels?.[LABEL.revisionHash] ?? '',
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

export type StsStatus = { currentRevision?: string; updateRevision?: string; readyReplicas?: number };

export async function stsOf(api: KubeClient, name: string): Promise<Obj & { status?: StsStatus }> {
  return (await api.get(RESOURCE.statefulSet, NS, name)) as Obj & { status?: StsStatus };
}

/** Every pod Ready at the StatefulSet's update revision, and the rollout Idle. */
export async function settled(api: KubeClient, name: string, replicas: number): Promise<Obj | undefined> {
  const cr = await api.get<Obj>(RESOURCE.cluster, NS, name);
  const sts = await stsOf(api, name);
  const pods = await podsOf(api, name);
  const rollout = cr?.status?.rollout as { state?: string } | undefined;
  const ok =
    rollout?.state === 'Idle' &&
    sts.status?.updateRevision &&
    sts.status.currentRevision === sts.status.updateRevision &&
    pods.length === replicas &&
    pods.every((p) => p.ready && p.revision === sts.status?.updateRevision) &&
    conditionOf(cr, 'Ready')?.status === 'True';
  return ok ? (cr as Obj) : undefined;
}
