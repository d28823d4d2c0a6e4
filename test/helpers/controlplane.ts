// A local Kubernetes control plane for the operator's integration tests: etcd + kube-apiserver
// (+ kube-controller-manager, kube-scheduler, kwok on demand) as plain processes on loopback
// ports, from the binaries scripts/k8s-tools.sh builds from the Go module proxy. No Docker.
// See docs/testing-k8s.md.
import { spawn } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
} from '@kubernetes/client-node';
import { stringify } from 'yaml';
import {
  freePort,
  logTail,
  type ManagedProcess,
  probe,
  startProcess,
  sweepStale,
  waitFor,
} from './controlplane-process.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIR_PREFIX = 'ait-k8s-';

/** Bounds for every wait (ms). The build bound only matters on a machine without the cache. */
const TIMEOUTS = {
  build: Number(process.env.AIT_K8S_BUILD_TIMEOUT_MS ?? 45 * 60_000),
  etcd: 30_000,
  apiserver: 90_000,
  component: 60_000,
  node: 30_000,
  kubectl: 60_000,
  stop: 10_000,
};

/** Controllers the operator's tests need (StatefulSet/PDB/GC/namespace deletion/EndpointSlices). */
export const DEFAULT_CONTROLLERS = [
  'statefulset-controller',
  'replicaset-controller',
  'deployment-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'disruption-controller',
  'endpointslice-controller',
  'serviceaccount-controller',
];

export interface ControlPlaneOptions {
  withControllerManager?: boolean;
  withScheduler?: boolean;
  /** kwok as a fake kubelet: creates `kwokNodes` Node objects that kwok keeps Ready. */
  withKwok?: boolean;
  kwokNodes?: number;
  /**
   * kwok's pod CIDR (default 10.244.0.0/16, addresses nothing listens on). A /16 inside
   * 127.0.0.0/8 (loopbackPodCidr()) gives pods addresses a test can bind: the pod runner starts a
   * real process per pod on its pod IP.
   */
  kwokPodCidr?: string;
  /** kwok stage file: `fast` (pods Ready at once, deleted at once) or `runner` (kwok-stages-runner.yaml, for pod-runner.ts). */
  kwokStages?: 'fast' | 'runner';
  /** Overrides DEFAULT_CONTROLLERS for kube-controller-manager. */
  controllers?: string[];
  /** Extra flags appended to kube-apiserver's (e.g. `--feature-gates=...`). */
  apiserverArgs?: string[];
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  /** Exit code; -1 when the call timed out and was killed. */
  code: number;
}

export interface ControlPlane {
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Static bearer token of a system:masters user. */
  token: string;
  kubeConfig: KubeConfig;
  /** Runs the pinned kubectl against this control plane (`--kubeconfig` is added). */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /**
   * Stops kube-apiserver (SIGTERM; `kill: true` for SIGKILL, a crash) and starts it again on the
   * same port, certificate and etcd; resolves once /readyz answers.
   */
  restartApiserver(opts?: { kill?: boolean }): Promise<void>;
  /** Stops every process; removes the temp dir unless keepDir (or AIT_K8S_KEEP=1). Idempotent. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
  /** Temp dir holding keys, kubeconfig, etcd data and logs/. */
  dir: string;
  binDir: string;
  /** Log file per component: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok. */
  logs: Record<string, string>;
  /** The last `lines` of every component log, for printing when a test fails. */
  logTails(lines?: number): string;
}

// ---- binaries ----------------------------------------------------------------------------------

const buildCache = new Map<string, Promise<string>>();

/**
 * Directory holding the wanted binaries: $AIT_K8S_BIN, else what scripts/k8s-tools.sh prints
 * (it builds missing ones; instant when cached). Build progress goes to this process's stderr.
 */
export function k8sBinDir(tools: string[]): Promise<string> {
  const fromEnv = process.env.AIT_K8S_BIN;
  if (fromEnv) {
    const missing = tools.filter((t) => !existsSync(path.join(fromEnv, t)));
    if (missing.length > 0) return Promise.reject(new Error(`AIT_K8S_BIN=${fromEnv} lacks ${missing.join(', ')}`));
    return Promise.resolve(fromEnv);
  }
  const key = [...tools].sort().join(' ');
  let p = buildCache.get(key);
  if (!p) {
    p = runToolsScript(tools);
    buildCache.set(key, p);
    p.catch(() => buildCache.delete(key));
  }
  return p;
}

function runToolsScript(tools: string[]): Promise<string> {
  const script = path.join(repoRoot, 'scripts/k8s-tools.sh');
  return new Promise((resolve, reject) => {
    const child = spawn(script, tools, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => {
      out += c;
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), TIMEOUTS.build);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error('while running scripts/k8s-tools.sh', { cause: err }));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve(dir);
      else
        reject(new Error(`scripts/k8s-tools.sh ${tools.join(' ')} failed (${code ?? signal}); see its stderr above`));
    });
  });
}

// ---- server-side apply of plain manifests -------------------------------------------------------

/**
 * Server-side applies plain manifests (objects as they appear in YAML, or YAML/JSON text).
 *
 * Why not `KubernetesObjectApi.patch(obj)` directly: for built-in kinds client-node serializes
 * through its generated models, which read TypeScript property names, so a plain object loses
 * every field whose JSON name differs (`x-kubernetes-validations`, `x-kubernetes-list-type`,
 * `default`, `$ref`, ...) without any error. `loadAllYaml` maps JSON names to model names first.
 */
export async function serverSideApply(
  kubeConfig: KubeConfig,
  manifests: string | object | object[],
  fieldManager: string,
  opts: { force?: boolean; dryRun?: boolean } = {},
): Promise<KubernetesObject[]> {
  const text =
    typeof manifests === 'string'
      ? manifests
      : (Array.isArray(manifests) ? manifests : [manifests]).map((m) => JSON.stringify(m)).join('\n---\n');
  const objects = (loadAllYaml(text) as (KubernetesObject | null)[]).filter((o): o is KubernetesObject => !!o);
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  const out: KubernetesObject[] = [];
  for (const obj of objects) {
    out.push(
      await api.patch(
        obj,
        undefined,
        opts.dryRun ? 'All' : undefined,
        fieldManager,
        opts.force ?? true,
        PatchStrategy.ServerSideApply,
      ),
    );
  }
  return out;
}

// ---- the control plane -------------------------------------------------------------------------

const genKeyPair = promisify(generateKeyPair);

async function serviceAccountKeys(dir: string): Promise<{ key: string; pub: string }> {
  const { privateKey, publicKey } = await genKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const key = path.join(dir, 'sa.key');
  const pub = path.join(dir, 'sa.pub');
  await writeFile(key, privateKey, { mode: 0o600 });
  await writeFile(pub, publicKey);
  return { key, pub };
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const tools = ['etcd', 'kube-apiserver', 'kubectl'];
  if (opts.withControllerManager) tools.push('kube-controller-manager');
  if (opts.withScheduler) tools.push('kube-scheduler');
  if (opts.withKwok) tools.push('kwok');
  sweepStale(tmpdir(), DIR_PREFIX);
  const binDir = await k8sBinDir(tools);
  const bin = (name: string) => path.join(binDir, name);

  const dir = await mkdtemp(path.join(tmpdir(), DIR_PREFIX));
  const logDir = path.join(dir, 'logs');
  const home = path.join(dir, 'home');
  await Promise.all([mkdir(logDir), mkdir(home), mkdir(path.join(dir, 'pki'))]);
  // HOME isolates kubectl's discovery cache and kwok's default config from the user's.
  const env = { ...process.env, HOME: home, KUBECONFIG: '' };
  const procs: ManagedProcess[] = [];
  const logs: Record<string, string> = {};
  const start = (name: string, args: string[]) => {
    const p = startProcess(name, bin(name), args, { logDir, ownerDir: dir, env });
    procs.push(p);
    logs[name] = p.logPath;
    return p;
  };
  const logTails = (lines = 40) =>
    Object.entries(logs)
      .map(([name, file]) => `---- ${name} (${file}) ----\n${logTail(file, lines)}`)
      .join('\n');

  let stopped = false;
  const stop = async (o: { keepDir?: boolean } = {}) => {
    if (stopped) return;
    stopped = true;
    for (const p of [...procs].reverse()) await p.stop(TIMEOUTS.stop);
    if (o.keepDir || process.env.AIT_K8S_KEEP === '1') {
      writeFileSync(path.join(dir, 'keep'), '');
      process.stderr.write(`controlplane: kept ${dir} (logs in ${logDir})\n`);
    } else {
      await rm(dir, { recursive: true, force: true });
    }
  };

  try {
    const sa = await serviceAccountKeys(dir);
    const token = randomBytes(24).toString('hex');
    const tokensFile = path.join(dir, 'tokens.csv');
    await writeFile(tokensFile, `${token},admin,admin-uid,system:masters\n`, { mode: 0o600 });
    const auth = { Authorization: `Bearer ${token}` };

    // etcd: retried on a fresh pair of ports if the ones the OS gave us were taken meanwhile.
    let etcdUrl = '';
    for (let attempt = 1; ; attempt++) {
      const client = await freePort();
      let peer = await freePort();
      while (peer === client) peer = await freePort();
      etcdUrl = `http://127.0.0.1:${client}`;
      const peerUrl = `http://127.0.0.1:${peer}`;
      const etcd = start('etcd', [
        '--name=default',
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ]);
      try {
        await waitFor(async () => (await probe(`${etcdUrl}/health`)).body.includes('"health":"true"'), {
          what: 'etcd /health',
          timeoutMs: TIMEOUTS.etcd,
          process: etcd,
        });
        break;
      } catch (err) {
        if (attempt >= 3 || !lostPortRace(etcd)) throw err;
        procs.pop();
      }
    }

    // kube-apiserver (OPERATOR.md 5.3). The serving cert is self-signed into pki/ on first start
    // and reused by restarts; the kubeconfig trusts it.
    let port = 0;
    let apiserver: ManagedProcess | undefined;
    const apiserverArgs = () => [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${path.join(dir, 'pki')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${sa.pub}`,
      `--service-account-signing-key-file=${sa.key}`,
      `--token-auth-file=${tokensFile}`,
      '--authorization-mode=RBAC',
      '--disable-admission-plugins=ServiceAccount',
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      // On SIGTERM, end open watches within 2s instead of waiting for their clients (kube-controller-
      // manager, kube-scheduler, kwok) to hang up: makes restartApiserver() take ~3s, not ~12s.
      '--shutdown-watch-termination-grace-period=2s',
      ...(opts.apiserverArgs ?? []),
    ];
    const startApiserver = async () => {
      apiserver = start('kube-apiserver', apiserverArgs());
      await waitFor(async () => (await probe(`https://127.0.0.1:${port}/readyz`, auth)).status === 200, {
        what: 'kube-apiserver /readyz',
        timeoutMs: TIMEOUTS.apiserver,
        process: apiserver,
      });
    };
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await startApiserver();
        break;
      } catch (err) {
        if (attempt >= 3 || !apiserver || !lostPortRace(apiserver)) throw err;
        procs.pop();
      }
    }
    const server = `https://127.0.0.1:${port}`;

    // kubeconfig: static token, trusting the apiserver's self-signed certificate (+ its CA).
    const caData = (await readFile(path.join(dir, 'pki', 'apiserver.crt'))).toString('base64');
    const kubeconfigPath = path.join(dir, 'kubeconfig');
    await writeFile(
      kubeconfigPath,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': caData } }],
        users: [{ name: 'admin', user: { token } }],
        contexts: [{ name: 'local', context: { cluster: 'local', user: 'admin', namespace: 'default' } }],
        'current-context': 'local',
      }),
      { mode: 0o600 },
    );
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);

    const kubectl = (args: string[], o: { input?: string; timeoutMs?: number } = {}) =>
      runKubectl(bin('kubectl'), ['--kubeconfig', kubeconfigPath, ...args], env, o);

    // Components with a secure port: a free loopback port, probed on /healthz (an always-allowed path).
    const startComponent = async (name: string, args: string[]) => {
      for (let attempt = 1; ; attempt++) {
        const p = await freePort();
        const proc = start(name, [
          `--kubeconfig=${kubeconfigPath}`,
          `--authentication-kubeconfig=${kubeconfigPath}`,
          `--authorization-kubeconfig=${kubeconfigPath}`,
          '--leader-elect=false',
          '--bind-address=127.0.0.1',
          `--secure-port=${p}`,
          ...args,
        ]);
        try {
          await waitFor(async () => (await probe(`https://127.0.0.1:${p}/healthz`)).body === 'ok', {
            what: `${name} /healthz`,
            timeoutMs: TIMEOUTS.component,
            process: proc,
          });
          return;
        } catch (err) {
          if (attempt >= 3 || !lostPortRace(proc)) throw err;
          procs.pop();
        }
      }
    };

    if (opts.withControllerManager) {
      await startComponent('kube-controller-manager', [
        '--use-service-account-credentials=false',
        `--controllers=${(opts.controllers ?? DEFAULT_CONTROLLERS).join(',')}`,
      ]);
    }
    if (opts.withScheduler) await startComponent('kube-scheduler', []);
    if (opts.withKwok) {
      await startKwok(start, kubeConfig, kubeconfigPath, opts.kwokNodes ?? 1, opts);
    }

    return {
      kubeconfigPath,
      server,
      token,
      kubeConfig,
      kubectl,
      async restartApiserver(o: { kill?: boolean } = {}) {
        if (!apiserver) throw new Error('kube-apiserver was never started');
        await apiserver.stop(o.kill ? 0 : TIMEOUTS.stop);
        procs.splice(procs.indexOf(apiserver), 1);
        await startApiserver();
        // keep the stop order (reverse of procs): clients first, then the apiserver, etcd last
        procs.splice(procs.indexOf(apiserver), 1);
        procs.splice(1, 0, apiserver);
      },
      stop,
      dir,
      binDir,
      logs,
      logTails,
    };
  } catch (err) {
    const tails = logTails(60);
    await stop({ keepDir: true });
    throw new Error(`while starting the local control plane in ${dir}:\n${(err as Error).message}\n${tails}`, {
      cause: err,
    });
  }
}

/**
 * A random /16 inside 127.0.0.0/8 (never 127.0.x.x) for kwok's pod IPs: every address in it is
 * loopback on Linux, so a test can bind a pod's IP; random, so parallel control planes rarely
 * hand out the same addresses.
 */
export function loopbackPodCidr(): string {
  return `127.${2 + Math.floor(Math.random() * 250)}.0.0/16`;
}

async function startKwok(
  start: (name: string, args: string[]) => ManagedProcess,
  kubeConfig: KubeConfig,
  kubeconfigPath: string,
  nodes: number,
  opts: Pick<ControlPlaneOptions, 'kwokPodCidr' | 'kwokStages'>,
): Promise<void> {
  const stages = opts.kwokStages === 'runner' ? 'kwok-stages-runner.yaml' : 'kwok-stages-fast.yaml';
  const kwok = start('kwok', [
    `--kubeconfig=${kubeconfigPath}`,
    `--config=${path.join(repoRoot, 'test/helpers', stages)}`,
    '--manage-all-nodes=true',
    // pod IPs out of the service range (10.0.0.0/24)
    `--cidr=${opts.kwokPodCidr ?? '10.244.0.0/16'}`,
  ]);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  for (let i = 0; i < nodes; i++) {
    const name = `kwok-node-${i}`;
    const node: V1Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          type: 'kwok',
        },
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      },
      status: {
        allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
        capacity: { cpu: '32', memory: '256Gi', pods: '110' },
      },
    };
    await core.createNode({ body: node });
    await waitFor(
      async () => {
        const n = await core.readNode({ name });
        return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      },
      { what: `node ${name} Ready (kwok)`, timeoutMs: TIMEOUTS.node, process: kwok },
    );
    // The TaintNodesByCondition admission plugin taints a new Node not-ready; without a kubelet or
    // node-lifecycle-controller nobody lifts it, so do what they would once the node is Ready.
    const taints = (await core.readNode({ name })).spec?.taints ?? [];
    await core.patchNode(
      {
        name,
        body: [
          { op: 'add', path: '/spec/taints', value: taints.filter((t) => t.key !== 'node.kubernetes.io/not-ready') },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
  }
}

/** The process exited because another process took the port we picked (retry with a new one). */
function lostPortRace(p: ManagedProcess): boolean {
  return p.hasExited() && /address already in use/i.test(logTail(p.logPath, 30));
}

function runKubectl(
  kubectlBin: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  o: { input?: string; timeoutMs?: number },
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = spawn(kubectlBin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timeoutMs = o.timeoutMs ?? TIMEOUTS.kubectl;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ stdout, stderr: `${stderr}${err.message}`, code: -1 });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (timedOut) resolve({ stdout, stderr: `${stderr}\nkubectl timed out after ${timeoutMs}ms`, code: -1 });
      else resolve({ stdout, stderr, code: code ?? -1 });
    });
    child.stdin.end(o.input ?? '');
  });
}
