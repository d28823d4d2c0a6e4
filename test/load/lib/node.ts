// Starts an aitransport node (`node dataplane/src/main.ts --config <file>`) as its own process
// for a benchmark, on free loopback ports, and reads its /metrics. AIT_BENCH_NODE_ARGS adds
// node flags (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the server under load).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnChild, stopChild } from './children.ts';
import { type AppCredentials, freePort, httpRequest, waitFor } from './http.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export const BENCH_APP: AppCredentials = { id: 'app-id', key: 'app-key', secret: 'app-secret' };

export interface BenchNode {
  proc: ChildProcess;
  port: number;
  opsPort: number;
  /** The Prometheus text of /metrics. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** `config` is merged over the node's listeners, logging and the bench app. */
export async function startNode(config: Record<string, unknown> = {}): Promise<BenchNode> {
  const [port, opsPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'ait-bench-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      server: { host: '127.0.0.1', port },
      ops: { host: '127.0.0.1', port: opsPort },
      logging: { level: 'warn' },
      apps: [{ ...BENCH_APP, limits: { maxEventPayloadKb: 100 } }],
      ...config,
    }),
  );
  const nodeArgs = process.env.AIT_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const proc = spawnChild(
    process.execPath,
    [...nodeArgs, join(repoRoot, 'dataplane/src/main.ts'), '--config', configPath],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`aitransport node exited (${code}) during start-up`))),
  );
  exited.catch(() => undefined);
  await Promise.race([
    waitFor(async () => (await httpRequest(opsPort, 'GET', '/readyz')).status === 200, 20_000, 'aitransport /readyz'),
    exited,
  ]);
  return {
    proc,
    port,
    opsPort,
    async metrics() {
      const r = await httpRequest(opsPort, 'GET', '/metrics', undefined, { timeoutMs: 10_000 });
      if (r.status !== 200) throw new Error(`GET /metrics: ${r.status} ${r.error ?? ''}`);
      return r.body;
    },
    async stop() {
      await stopChild(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
