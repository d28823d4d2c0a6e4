// `make e2e-kind`: the end-to-end suite on a kind cluster, for machines with Docker. Not part of
// `make test`. Steps, each with a timeout, stopping at the first failure:
//   1. preflight: docker (CLI, buildx, a reachable engine) and kind — missing ones fail at once
//      with exit code 2, before anything is built or created;
//   2. build the images (scripts/images.sh) and tag the data plane a second time as
//      <version>-e2e.1, the version the upgrade step moves to;
//   3. create a kind cluster, load the images, install the operator chart (helm --wait);
//   4. apply an AITransportCluster with a managed Redis and its app Secret, wait for Ready;
//   5. port-forward the client Service, stream a turn with examples/demo/producer.ts while a V2
//      client subscribes, and check the client's reduced transcript equals the producer's text;
//   6. change spec.version and wait for the rollout: status.currentVersion and Ready;
//   7. delete the kind cluster (AIT_E2E_KEEP=1 keeps it for debugging).
//
//   node test/e2e/kind.ts            (DOCKER, KIND, HELM, KUBECTL override the binaries)
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { MessageReducer } from '../../dataplane/src/messages/reducer.ts';
import { repoRoot } from '../helpers/artifact-tools.ts';
import { freePort } from '../helpers/controlplane-process.ts';
import { TestWsClient } from '../helpers/ws-client.ts';
import { preflight } from './preflight.ts';

const env = process.env;
const missing = preflight(env);
if (missing.length) {
  console.error(`e2e-kind: cannot run, missing:\n${missing.map((m) => `  - ${m}`).join('\n')}`);
  process.exit(2);
}

const DOCKER = env.DOCKER ?? 'docker';
const KIND = env.KIND ?? 'kind';
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const next = `${version}-e2e.1`;
const REGISTRY = env.REGISTRY ?? 'ghcr.io/aitransport';
const name = `ait-e2e-${process.pid}`;
const ns = 'e2e';
const work = mkdtempSync(join(tmpdir(), 'ait-e2e-'));
const kubeconfig = join(work, 'kubeconfig');
const children: ChildProcess[] = [];

function sh(cmd: string, args: string[], timeoutMs = 300_000, input?: string): string {
  console.error(`+ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, {
    cwd: repoRoot,
    env: { ...env, KUBECONFIG: kubeconfig },
    encoding: 'utf8',
    timeout: timeoutMs,
    input,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** helm and kubectl: from the environment or PATH, else built by scripts/k8s-tools.sh. */
function tool(name: 'helm' | 'kubectl'): string {
  const fromEnv = env[name.toUpperCase()];
  if (fromEnv) return fromEnv;
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status === 0) return name;
  const dir = execFileSync(join(repoRoot, 'scripts/k8s-tools.sh'), [name], { encoding: 'utf8' }).trim().split('\n');
  return join(dir.at(-1) as string, name);
}

async function main(): Promise<void> {
  const helm = tool('helm');
  const kubectl = tool('kubectl');
  const k = (args: string[], timeoutMs?: number, input?: string) => sh(kubectl, args, timeoutMs, input);

  sh(join(repoRoot, 'scripts/images.sh'), [], 1_800_000);
  sh(DOCKER, ['tag', `${REGISTRY}/dataplane:${version}`, `${REGISTRY}/dataplane:${next}`]);

  sh(KIND, ['create', 'cluster', '--name', name, '--kubeconfig', kubeconfig, '--wait', '180s'], 600_000);
  for (const image of [`dataplane:${version}`, `dataplane:${next}`, `operator:${version}`]) {
    sh(KIND, ['load', 'docker-image', '--name', name, `${REGISTRY}/${image}`], 600_000);
  }
  sh(helm, [
    'install',
    'aitransport-operator',
    'charts/aitransport-operator',
    '--namespace',
    'aitransport-system',
    '--create-namespace',
    '--set',
    `image.repository=${REGISTRY}/operator`,
    '--wait',
    '--timeout',
    '5m',
  ]);

  k(['create', 'namespace', ns]);
  k(['-n', ns, 'create', 'secret', 'generic', 'demo-app', '--from-literal=app-secret=e2e-app-secret']);
  const cluster = {
    apiVersion: 'aitransport.io/v1alpha1',
    kind: 'AITransportCluster',
    metadata: { name: 'demo', namespace: ns },
    spec: {
      version,
      image: { repository: `${REGISTRY}/dataplane` },
      apps: [{ id: 'demo', key: 'demo-key', secretRef: { name: 'demo-app' } }],
      redis: { mode: 'Managed', managed: {} },
      config: { aiTransport: { enabled: true, channelPrefixes: ['private-ai-'] } },
    },
  };
  // History, versioned messages and rollup for the AI channels come from a ChannelPolicy.
  const policy = {
    apiVersion: 'aitransport.io/v1alpha1',
    kind: 'ChannelPolicy',
    metadata: { name: 'demo-ai', namespace: ns },
    spec: { clusterRef: { name: 'demo' }, appId: 'demo', channels: { prefixes: ['private-ai-'] } },
  };
  k(['apply', '--server-side', '-f', '-'], 60_000, `${stringify(cluster)}---\n${stringify(policy)}`);
  k(['-n', ns, 'wait', '--for=condition=Ready', 'aitransportcluster/demo', '--timeout=600s'], 660_000);
  k(['-n', ns, 'wait', '--for=condition=Ready', 'channelpolicy/demo-ai', '--timeout=120s'], 180_000);

  await streamTurn(kubectl);

  k(['-n', ns, 'patch', 'aitransportcluster/demo', '--type=merge', '-p', JSON.stringify({ spec: { version: next } })]);
  k(
    ['-n', ns, 'wait', `--for=jsonpath={.status.currentVersion}=${next}`, 'aitransportcluster/demo', '--timeout=600s'],
    660_000,
  );
  k(['-n', ns, 'wait', '--for=condition=Ready', 'aitransportcluster/demo', '--timeout=300s'], 360_000);
  const image = k(['-n', ns, 'get', 'statefulset/demo', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
  if (!image.endsWith(`:${next}`)) throw new Error(`the StatefulSet runs ${image}, not ${next}`);
  await streamTurn(kubectl);
  console.error(`e2e-kind: passed (rolled out ${version} → ${next})`);
}

/** One turn through a port-forward: the subscriber's reduced text must equal the producer's. */
async function streamTurn(kubectl: string): Promise<void> {
  const port = await freePort();
  const pf = spawn(kubectl, ['-n', ns, 'port-forward', 'svc/demo', `${port}:6001`], {
    env: { ...env, KUBECONFIG: kubeconfig },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(pf);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('port-forward did not start within 30 s')), 30_000);
    pf.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('Forwarding from')) {
        clearTimeout(t);
        resolve();
      }
    });
    pf.once('exit', (code) => reject(new Error(`port-forward exited (${code})`)));
  });
  const channel = `private-ai-e2e-${Date.now()}`;
  const ws = await TestWsClient.established(`ws://127.0.0.1:${port}/app/demo-key?protocol=2&append_rollup_window=0`);
  const auth = `demo-key:${createHmac('sha256', 'e2e-app-secret').update(`${ws.socketId}:${channel}`).digest('hex')}`;
  ws.send({ event: 'sockudo:subscribe', data: { channel, auth } });
  await ws.waitForEvent('sockudo_internal:subscription_succeeded', 10_000);
  const producer = sh(
    process.execPath,
    [
      'examples/demo/producer.ts',
      '--port',
      String(port),
      '--app',
      'demo',
      '--key',
      'demo-key',
      '--secret',
      'e2e-app-secret',
      '--channel',
      channel,
      '--tokens',
      '100',
      '--rate',
      '50',
      '--print-text',
    ],
    120_000,
  );
  const sent = JSON.parse(producer.trim().split('\n').at(-1) as string) as { message_serial: string; text: string };
  await ws.waitForEvent('ai-run-end', 15_000);
  const reducer = new MessageReducer('delta');
  reducer.applyAll(ws.frames);
  const got = reducer.get(sent.message_serial)?.data;
  ws.close();
  pf.kill('SIGTERM');
  if (got !== sent.text)
    throw new Error(`transcript mismatch:\n  sent ${JSON.stringify(sent.text)}\n  got  ${JSON.stringify(got)}`);
  console.error(`e2e-kind: transcript of ${sent.text.length} characters matches`);
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`e2e-kind: FAILED: ${(err as Error).message}`);
  code = 1;
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  if (env.AIT_E2E_KEEP === '1') console.error(`e2e-kind: kept kind cluster ${name} (kubeconfig ${kubeconfig})`);
  else {
    spawnSync(KIND, ['delete', 'cluster', '--name', name, '--kubeconfig', kubeconfig], { stdio: 'inherit' });
    rmSync(work, { recursive: true, force: true });
  }
}
process.exit(code);
