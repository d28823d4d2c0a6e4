// The operator under test as a real process (`node operator/src/main.ts`), against the local
// control plane: logged to <cp.dir>/logs/<name>.log, killed when the test process exits.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlPlane } from './controlplane.ts';
import { freePort, logTail, type ManagedProcess, probe, startProcess, waitFor } from './controlplane-process.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface OperatorProcess {
  readonly proc: ManagedProcess;
  readonly name: string;
  readonly metricsPort: number;
  readonly healthPort: number;
  metrics(): Promise<string>;
  /** The value of an unlabelled metric, or undefined. */
  gauge(name: string): Promise<number | undefined>;
  ready(): Promise<boolean>;
  stop(graceMs?: number): Promise<void>;
  logTail(lines?: number): string;
}

export interface OperatorOptions {
  readonly name: string;
  readonly leaseNamespace: string;
  readonly extraArgs?: string[];
  readonly env?: Record<string, string>;
}

export async function startOperator(cp: ControlPlane, o: OperatorOptions): Promise<OperatorProcess> {
  const metricsPort = await freePort();
  let healthPort = await freePort();
  while (healthPort === metricsPort) healthPort = await freePort();
  const proc = startProcess(
    o.name,
    process.execPath,
    [
      path.join(repoRoot, 'operator/src/main.ts'),
      `--metrics-port=${metricsPort}`,
      `--health-port=${healthPort}`,
      '--bind-address=127.0.0.1',
      `--leader-election-namespace=${o.leaseNamespace}`,
      ...(o.extraArgs ?? []),
    ],
    {
      logDir: path.join(cp.dir, 'logs'),
      ownerDir: cp.dir,
      env: { ...process.env, KUBECONFIG: cp.kubeconfigPath, POD_NAME: o.name, ...o.env },
    },
  );
  const metrics = async () => (await probe(`http://127.0.0.1:${metricsPort}/metrics`)).body;
  const op: OperatorProcess = {
    proc,
    name: o.name,
    metricsPort,
    healthPort,
    metrics,
    async gauge(name: string) {
      const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(await metrics());
      return m ? Number(m[1]) : undefined;
    },
    async ready() {
      return (await probe(`http://127.0.0.1:${healthPort}/readyz`)).status === 200;
    },
    stop: (graceMs = 10_000) => proc.stop(graceMs),
    logTail: (lines = 60) => logTail(proc.logPath, lines),
  };
  await waitFor(() => op.ready(), { what: `${o.name} /readyz`, timeoutMs: 30_000, process: proc });
  return op;
}
