// helm and promtool for the artifact checks (test/integration/chart.test.ts and
// alert-rules.test.ts): the real binaries scripts/k8s-tools.sh builds from the Go module proxy
// (built on first use, like the control-plane binaries; see docs/testing-k8s.md). Each call has
// a timeout, and helm runs with its cache/config/data dirs in a temp dir, not the user's.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { k8sBinDir } from './controlplane.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART = path.join(repoRoot, 'charts/aitransport-operator');
/** The Kubernetes version of the test control plane; helm v4 would default to its client-go's (1.37). */
export const KUBE_VERSION = '1.35.4';
/** Bound of the one-off build (minutes when the binary cache is cold) plus slack for the hook. */
export const TOOLS_TIMEOUT_MS = Number(process.env.AIT_K8S_BUILD_TIMEOUT_MS ?? 45 * 60_000) + 120_000;
const CALL_TIMEOUT_MS = 60_000;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a binary with a timeout; never throws for a non-zero exit (the result says). */
export function run(
  bin: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      bin,
      args,
      {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? CALL_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
        if (!e) return resolve({ code: 0, stdout, stderr });
        if (e.killed) return resolve({ code: -1, stdout, stderr: `${stderr}\n${bin} timed out` });
        resolve({ code: typeof e.code === 'number' ? e.code : -1, stdout, stderr: stderr || e.message });
      },
    );
  });
}

export interface Tools {
  helm: (args: string[]) => Promise<RunResult>;
  promtool: (args: string[], cwd?: string) => Promise<RunResult>;
  binDir: string;
  /** A temp dir removed by cleanup(). */
  tempDir: (prefix: string) => string;
  /** Removes helm's home and every tempDir(). */
  cleanup: () => void;
}

/** helm and promtool, built by scripts/k8s-tools.sh when missing. */
export async function artifactTools(): Promise<Tools> {
  const binDir = await k8sBinDir(['helm', 'promtool']);
  const home = mkdtempSync(path.join(tmpdir(), 'ait-helm-'));
  const dirs = [home];
  const env = {
    ...process.env,
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_DATA_HOME: path.join(home, 'data'),
    KUBECONFIG: path.join(home, 'no-kubeconfig'),
  };
  return {
    binDir,
    helm: (args) => run(path.join(binDir, 'helm'), args, { env }),
    promtool: (args, cwd) => run(path.join(binDir, 'promtool'), args, { cwd }),
    tempDir: (prefix) => {
      const dir = mkdtempSync(path.join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    cleanup: () => {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface RenderResult extends RunResult {
  objects: KubeObject[];
}

/**
 * `helm template` of the chart with the given values (written to a values file) as release
 * `aitransport-operator` in namespace `aitransport-system`, for the test cluster's Kubernetes version.
 */
export async function helmTemplate(
  tools: Tools,
  values: object = {},
  extra: string[] = [],
  release = { name: 'aitransport-operator', namespace: 'aitransport-system' },
): Promise<RenderResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ait-values-'));
  const file = path.join(dir, 'values.json');
  writeFileSync(file, JSON.stringify(values));
  let r: RunResult;
  try {
    r = await tools.helm([
      'template',
      release.name,
      CHART,
      '--namespace',
      release.namespace,
      '--kube-version',
      KUBE_VERSION,
      '--values',
      file,
      ...extra,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const objects =
    r.code === 0
      ? parseAllDocuments(r.stdout)
          .map((d) => d.toJS() as KubeObject | null)
          .filter((o): o is KubeObject => o !== null)
      : [];
  return { ...r, objects };
}
