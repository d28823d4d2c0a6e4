// A stand-in kubelet for the data-plane pods of one namespace on the local control plane (kwok
// binds the pods and gives them IPs inside 127.0.0.0/8, startControlPlane({ kwokPodCidr:
// loopbackPodCidr(), kwokStages: 'runner' })): for every Running pod it starts the pod's real
// process — `node dataplane/src/main.ts` with the pod's env and its ConfigMap and Secret volumes
// written to a directory — bound to the pod IP, so the operator's admin calls and the tests'
// clients reach real data-plane nodes at the pod addresses. Like a kubelet it
//   - reports readiness: the pod's Ready condition follows the process's GET /readyz;
//   - restarts a process that exits on its own (restartCount);
//   - on deletion SIGTERMs the process, waits for it (the pod's grace period), then removes the
//     pod (grace 0), so the StatefulSet controller sees a Terminating pod as long as it drains;
//   - runs no process for an image whose tag matches `crashTag`: a "crashing image" that never
//     becomes Ready (the stuck-pod scenarios).
// Path mapping: mounts are directories under `dir`; absolute paths in config.json and env values
// that fall under a mountPath are rewritten to them. Server and ops hosts become the pod IP.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { KubeClient } from '../../operator/src/kube/client.ts';
import { RESOURCE, resourcePath } from '../../operator/src/kube/resources.ts';
import type { Transport } from '../../operator/src/kube/transport.ts';
import { logTail, type ManagedProcess, probe, startProcess } from './controlplane-process.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface PodRunnerOptions {
  readonly api: KubeClient;
  readonly transport: Transport;
  readonly namespace: string;
  readonly labelSelector: string;
  /** Per-pod directories and logs. */
  readonly dir: string;
  /** Where the owner record of the processes goes (the control plane's dir: swept after a crash). */
  readonly ownerDir: string;
  readonly crashTag?: RegExp;
  readonly pollMs?: number;
  /** Longest SIGTERM wait, whatever the pod's grace period says. */
  readonly maxGraceMs?: number;
}

/** What happened to a process when its pod went away: the drain evidence of the rollout tests. */
export interface Termination {
  readonly pod: string;
  readonly uid: string;
  readonly ip: string;
  readonly revision: string | undefined;
  /** The pod's aitransport.io/drained-at annotation when it was deleted. */
  readonly drainedAt: string | undefined;
  /** GET /admin/status right before the SIGTERM: was the node draining, and how many connections were left. */
  readonly wasDraining: boolean | undefined;
  readonly connectionsLeft: number | undefined;
  readonly exit: number | string;
  readonly at: number;
}

interface Running {
  readonly uid: string;
  readonly pod: string;
  readonly ip: string;
  readonly revision: string | undefined;
  proc?: ManagedProcess;
  ready: boolean;
  restarts: number;
  stopping: boolean;
  crash: boolean;
  lastAnnotations: Record<string, string>;
  startArgs?: { env: NodeJS.ProcessEnv; configPath: string };
}

export interface PodRunner {
  readonly terminations: Termination[];
  /** Running processes by pod name (the current uid). */
  running(): Array<{ pod: string; ip: string; uid: string; ready: boolean; revision: string | undefined }>;
  /** `ws://ip:6001` etc. of a pod's current process, if it has one. */
  address(pod: string): { ip: string; http: number; ops: number } | undefined;
  logs(lines?: number): string;
  stop(): Promise<void>;
}

const DATAPLANE_PORTS = { http: 6001, ops: 9601 } as const;

export function startPodRunner(o: PodRunnerOptions): PodRunner {
  const byUid = new Map<string, Running>();
  /** The last process per IP: a new pod may get the IP of one still shutting down. */
  const ipBusy = new Map<string, Promise<unknown>>();
  const terminations: Termination[] = [];
  const crashTag = o.crashTag ?? /crash/;
  let stopped = false;
  mkdirSync(o.dir, { recursive: true });

  const patchStatus = (pod: string, body: unknown) =>
    o.transport.request({
      method: 'PATCH',
      path: resourcePath(RESOURCE.pod, o.namespace, pod, 'status'),
      body,
      contentType: 'application/strategic-merge-patch+json',
      timeoutMs: 5_000,
    });

  async function setReady(r: Running, ready: boolean, container: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await patchStatus(r.pod, {
      status: {
        conditions: [
          { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now },
          { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: now },
        ],
        containerStatuses: [
          {
            name: container,
            ready,
            restartCount: r.restarts,
            ...(r.crash
              ? { state: { waiting: { reason: 'CrashLoopBackOff', message: 'image tag marks a crashing image' } } }
              : {}),
          },
        ],
      },
    });
    r.ready = ready;
  }

  async function materialize(pod: V1Pod, c: V1Container, podDir: string) {
    const mounts: Array<{ mountPath: string; dir: string }> = [];
    for (const v of pod.spec?.volumes ?? []) {
      const vdir = path.join(podDir, 'volumes', v.name);
      mkdirSync(vdir, { recursive: true });
      if (v.configMap) {
        const cm = await o.api.get<V1ConfigMap>(RESOURCE.configMap, o.namespace, v.configMap.name ?? '');
        const items = v.configMap.items ?? Object.keys(cm?.data ?? {}).map((key) => ({ key, path: key }));
        for (const it of items) writeFileSync(path.join(vdir, it.path), cm?.data?.[it.key] ?? '');
      } else if (v.secret) {
        const s = await o.api.get<V1Secret>(RESOURCE.secret, o.namespace, v.secret.secretName ?? '');
        const items = v.secret.items ?? Object.keys(s?.data ?? {}).map((key) => ({ key, path: key }));
        for (const it of items) {
          writeFileSync(path.join(vdir, it.path), Buffer.from(s?.data?.[it.key] ?? '', 'base64'), { mode: 0o600 });
        }
      }
      for (const m of c.volumeMounts ?? []) if (m.name === v.name) mounts.push({ mountPath: m.mountPath, dir: vdir });
    }
    mounts.sort((a, b) => b.mountPath.length - a.mountPath.length);
    const remap = (p: string) => {
      for (const m of mounts) {
        if (p === m.mountPath || p.startsWith(`${m.mountPath}/`)) return path.join(m.dir, p.slice(m.mountPath.length));
      }
      return p;
    };
    return remap;
  }

  function rewrite(value: unknown, remap: (p: string) => string): unknown {
    if (typeof value === 'string') return value.startsWith('/') ? remap(value) : value;
    if (Array.isArray(value)) return value.map((v) => rewrite(v, remap));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v, remap)]));
    }
    return value;
  }

  async function envOf(pod: V1Pod, c: V1Container, remap: (p: string) => string): Promise<NodeJS.ProcessEnv> {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value.startsWith('/') ? remap(e.value) : e.value;
      else if (e.valueFrom?.fieldRef) {
        const f = e.valueFrom.fieldRef.fieldPath;
        env[e.name] =
          f === 'metadata.name'
            ? pod.metadata?.name
            : f === 'metadata.namespace'
              ? pod.metadata?.namespace
              : f === 'status.podIP'
                ? pod.status?.podIP
                : '';
      } else if (e.valueFrom?.secretKeyRef) {
        const ref = e.valueFrom.secretKeyRef;
        const s = await o.api.get<V1Secret>(RESOURCE.secret, o.namespace, ref.name ?? '');
        const v = s?.data?.[ref.key];
        if (v !== undefined) env[e.name] = Buffer.from(v, 'base64').toString('utf8');
      } else if (e.valueFrom?.configMapKeyRef) {
        const ref = e.valueFrom.configMapKeyRef;
        const cm = await o.api.get<V1ConfigMap>(RESOURCE.configMap, o.namespace, ref.name ?? '');
        const v = cm?.data?.[ref.key];
        if (v !== undefined) env[e.name] = v;
      }
    }
    return env;
  }

  function launch(r: Running): void {
    if (!r.startArgs || stopped || r.stopping) return;
    const proc = startProcess(
      `${r.pod}-${r.uid.slice(0, 8)}`,
      process.execPath,
      [path.join(repoRoot, 'dataplane/src/main.ts'), '--config', r.startArgs.configPath],
      { logDir: o.dir, ownerDir: o.ownerDir, env: r.startArgs.env },
    );
    r.proc = proc;
    void proc.exited.then(() => {
      if (r.stopping || stopped) return;
      // Exited on its own: restart like a kubelet (RestartPolicy Always), with a short backoff.
      r.restarts++;
      setTimeout(() => launch(r), Math.min(1_000 * r.restarts, 5_000));
    });
  }

  async function start(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    const name = pod.metadata?.name ?? '';
    const ip = pod.status?.podIP ?? '';
    const c = pod.spec?.containers?.[0] as V1Container;
    const tag = c.image?.split(':').pop() ?? '';
    const r: Running = {
      uid,
      pod: name,
      ip,
      revision: pod.metadata?.labels?.['controller-revision-hash'],
      ready: false,
      restarts: 0,
      stopping: false,
      crash: crashTag.test(tag),
      lastAnnotations: { ...pod.metadata?.annotations },
    };
    byUid.set(uid, r);
    if (r.crash) {
      await setReady(r, false, c.name).catch(() => undefined);
      return;
    }
    const podDir = path.join(o.dir, `${name}-${uid.slice(0, 8)}`);
    const remap = await materialize(pod, c, podDir);
    const env = await envOf(pod, c, remap);
    const cfgPath = env.AIT_CONFIG ?? '';
    const cfg = rewrite(JSON.parse(readFileSync(cfgPath, 'utf8')), remap) as Record<string, Record<string, unknown>>;
    cfg.server = { ...cfg.server, host: ip, port: DATAPLANE_PORTS.http };
    cfg.ops = { ...cfg.ops, host: ip, port: DATAPLANE_PORTS.ops };
    const configPath = path.join(podDir, 'config.json');
    writeFileSync(configPath, JSON.stringify(cfg, null, 2));
    env.AIT_CONFIG = configPath;
    r.startArgs = { env, configPath };
    // Wait for the previous process on this IP (a pod recreated with the same address) to exit.
    await ipBusy.get(ip);
    launch(r);
    ipBusy.set(ip, r.proc?.exited ?? Promise.resolve());
  }

  async function terminate(r: Running, pod: V1Pod | undefined): Promise<void> {
    r.stopping = true;
    let wasDraining: boolean | undefined;
    let connectionsLeft: number | undefined;
    if (r.proc && !r.proc.hasExited()) {
      const token = r.startArgs ? readToken(r.startArgs.configPath) : undefined;
      try {
        const res = await probe(
          `http://${r.ip}:${DATAPLANE_PORTS.ops}/admin/status`,
          {
            authorization: `Bearer ${token ?? ''}`,
          },
          1_000,
        );
        const s = JSON.parse(res.body) as { draining?: boolean; connections?: number };
        wasDraining = s.draining;
        connectionsLeft = s.connections;
      } catch {
        // not answering: recorded as unknown
      }
    }
    const graceMs = Math.min((pod?.spec?.terminationGracePeriodSeconds ?? 30) * 1000, o.maxGraceMs ?? 30_000);
    await r.proc?.stop(graceMs);
    const exit = r.proc ? await r.proc.exited : 'never started';
    terminations.push({
      pod: r.pod,
      uid: r.uid,
      ip: r.ip,
      revision: r.revision,
      drainedAt: r.lastAnnotations['aitransport.io/drained-at'],
      wasDraining,
      connectionsLeft,
      exit,
      at: Date.now(),
    });
    if (pod) {
      await o.transport
        .request({
          method: 'DELETE',
          path: resourcePath(RESOURCE.pod, o.namespace, r.pod),
          body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: r.uid } },
          timeoutMs: 5_000,
        })
        .catch(() => undefined);
    }
    byUid.delete(r.uid);
  }

  function readToken(configPath: string): string | undefined {
    try {
      const cfg = JSON.parse(readFileSync(configPath, 'utf8')) as { ops?: { adminTokenFile?: string } };
      return cfg.ops?.adminTokenFile ? readFileSync(cfg.ops.adminTokenFile, 'utf8').trim() : undefined;
    } catch {
      return undefined;
    }
  }

  const starting = new Set<string>();
  async function tick(): Promise<void> {
    const list = await o.api.list<V1Pod>(RESOURCE.pod, { namespace: o.namespace, labelSelector: o.labelSelector });
    const seen = new Set<string>();
    for (const pod of list.items) {
      const uid = pod.metadata?.uid ?? '';
      seen.add(uid);
      const r = byUid.get(uid);
      if (r) r.lastAnnotations = { ...pod.metadata?.annotations };
      if (pod.metadata?.deletionTimestamp) {
        if (r && !r.stopping) void terminate(r, pod);
        else if (!r && !starting.has(uid)) {
          // never started (no IP yet): nothing to stop
          await o.transport
            .request({
              method: 'DELETE',
              path: resourcePath(RESOURCE.pod, o.namespace, pod.metadata?.name ?? ''),
              body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } },
              timeoutMs: 5_000,
            })
            .catch(() => undefined);
        }
        continue;
      }
      if (!r) {
        if (pod.status?.podIP && pod.status.phase === 'Running' && !starting.has(uid)) {
          starting.add(uid);
          void start(pod)
            .catch((err: unknown) =>
              process.stderr.write(`pod-runner: starting ${pod.metadata?.name}: ${String(err)}\n`),
            )
            .finally(() => starting.delete(uid));
        }
        continue;
      }
      if (r.crash || r.stopping || !r.proc) continue;
      // Readiness, as the kubelet's probe would report it.
      const ok = await probe(`http://${r.ip}:${DATAPLANE_PORTS.ops}/readyz`, {}, 1_000)
        .then((res) => res.status === 200)
        .catch(() => false);
      const podReady = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      if (ok !== podReady || ok !== r.ready) {
        await setReady(r, ok, pod.spec?.containers?.[0]?.name ?? 'dataplane').catch(() => undefined);
      }
    }
    for (const r of [...byUid.values()]) {
      if (!seen.has(r.uid) && !r.stopping) void terminate(r, undefined);
    }
  }

  const loop = (async () => {
    while (!stopped) {
      await tick().catch((err: unknown) => {
        if (!stopped) process.stderr.write(`pod-runner: ${String(err)}\n`);
      });
      await new Promise((res) => setTimeout(res, o.pollMs ?? 200));
    }
  })();

  return {
    terminations,
    running: () =>
      [...byUid.values()]
        .filter((r) => !r.stopping && r.proc && !r.proc.hasExited())
        .map((r) => ({ pod: r.pod, ip: r.ip, uid: r.uid, ready: r.ready, revision: r.revision })),
    address(pod) {
      const r = [...byUid.values()].find((x) => x.pod === pod && !x.stopping && x.proc);
      return r ? { ip: r.ip, ...DATAPLANE_PORTS } : undefined;
    },
    logs(lines = 20) {
      return [...byUid.values()]
        .filter((r) => r.proc)
        .map((r) => `--- ${r.pod} (${r.uid.slice(0, 8)})\n${logTail((r.proc as ManagedProcess).logPath, lines)}`)
        .join('\n');
    },
    async stop() {
      stopped = true;
      await loop;
      await Promise.all([...byUid.values()].map((r) => r.proc?.stop(3_000)));
    },
  };
}
