// Data-plane node PROCESSES on loopback sharing one real redis-server (or Redis Cluster): what
// the multi-node, fault and benchmark suites need. Each node is `node dataplane/src/main.ts` with
// its own config file, ports and node id; the helpers make signed REST calls, admin calls and V2
// sockets against any node, kill nodes (SIGKILL) and start them again.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, APP, type HttpResult, http, signed } from '../integration/rest-helpers.ts';
import { freePort, logTail, type ManagedProcess, startProcess, waitFor } from './controlplane-process.ts';
import { TestWsClient } from './ws-client.ts';

const repoRoot = path.join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export interface NodeProc {
  readonly id: string;
  port: number;
  opsPort: number;
  proc: ManagedProcess;
  readonly configPath: string;
  rest(method: string, target: string, body?: unknown): Promise<HttpResult>;
  admin(method: string, p: string, body?: unknown): Promise<HttpResult>;
  socket(query?: Record<string, string>): Promise<TestWsClient & { socketId: string }>;
  metrics(): Promise<string>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

export interface ClusterOptions {
  readonly nodes: number;
  /** The `redis` config block (host/port or clusterNodes, keyPrefix, ...). */
  readonly redis: Record<string, unknown>;
  /** Merged into every node's config. */
  readonly config?: Record<string, unknown>;
  /** Merged into one node's config after `config` (e.g. a node that reaches Redis through a proxy). */
  readonly nodeConfig?: (i: number) => Record<string, unknown> | undefined;
  /** Runs a node under a wrapper command (e.g. `faketime -f -10m`): the prefix before `node`. */
  readonly launcher?: (i: number) => readonly string[] | undefined;
  readonly logLevel?: string;
}

export interface NodeCluster {
  readonly nodes: NodeProc[];
  readonly dir: string;
  /** Starts (again) the node with this index, on the same ports. */
  start(i: number): Promise<NodeProc>;
  kill(i: number): Promise<void>;
  /** SIGTERM (the node drains: sockets get 4200) and waits for the exit. */
  terminate(i: number): Promise<void>;
  /** SIGSTOP / SIGCONT: a node that stops answering without closing anything. */
  pause(i: number): void;
  resume(i: number): void;
  stop(): Promise<void>;
  logs(lines?: number): string;
}

export const AI_PREFIX = 'private-ai-';

function restCall(port: number) {
  return (method: string, target: string, body?: unknown) => {
    const [p, query] = target.split('?', 2) as [string, string | undefined];
    // 10 s: a node that was killed mid-request must fail the call (and the producer over), not stall it.
    return signed(port, method, p, body, {
      params: Object.fromEntries(new URLSearchParams(query ?? '')),
      timeoutMs: 10_000,
    });
  };
}

export function channelAuth(socketId: string, channel: string): string {
  return `${APP.key}:${createHmac('sha256', APP.secret).update(`${socketId}:${channel}`).digest('hex')}`;
}

export async function startNodeCluster(opts: ClusterOptions): Promise<NodeCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ait-nodes-'));
  const nodes: NodeProc[] = [];
  const makeNode = async (i: number, ports?: { port: number; opsPort: number }): Promise<NodeProc> => {
    const id = `node-${i}`;
    const port = ports?.port ?? (await freePort());
    const opsPort = ports?.opsPort ?? (await freePort());
    const configPath = path.join(dir, `${id}.json`);
    writeFileSync(
      configPath,
      JSON.stringify({
        nodeId: id,
        server: { host: '127.0.0.1', port },
        ops: { host: '127.0.0.1', port: opsPort, adminToken: ADMIN_TOKEN },
        logging: { level: opts.logLevel ?? 'info' },
        shutdown: { gracePeriodSeconds: 5, drainBatchIntervalMs: 0 },
        aiTransport: { enabled: true, channelPrefixes: [AI_PREFIX] },
        apps: [APP],
        redis: opts.redis,
        ...opts.config,
        ...opts.nodeConfig?.(i),
      }),
    );
    const proc = startProcess(
      id,
      process.execPath,
      [path.join(repoRoot, 'dataplane/src/main.ts'), '--config', configPath],
      {
        logDir: dir,
        ownerDir: dir,
      },
    );
    const node: NodeProc = {
      id,
      port,
      opsPort,
      proc,
      configPath,
      rest: restCall(port),
      admin: (method, p, body) =>
        http({
          port: opsPort,
          method,
          path: p,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        }),
      socket: (query = { protocol: '2' }) =>
        TestWsClient.established(`ws://127.0.0.1:${port}/app/${APP.key}?${new URLSearchParams(query).toString()}`),
      metrics: async () => (await http({ port: opsPort, path: '/metrics' })).text,
      async metric(name, labels = {}) {
        const text = await node.metrics();
        let sum = 0;
        for (const line of text.split('\n')) {
          if (!line.startsWith(`ait_${name}`) || line.startsWith('#')) continue;
          const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
          if (!m || m[1] !== `ait_${name}`) continue;
          const lbl = m[2] ?? '';
          if (Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) sum += Number(m[3]);
        }
        return sum;
      },
    };
    await waitFor(async () => (await http({ port: opsPort, path: '/readyz' })).status === 200, {
      what: `${id} ready`,
      timeoutMs: 30_000,
      intervalMs: 100,
      process: proc,
    });
    return node;
  };
  try {
    for (let i = 0; i < opts.nodes; i++) nodes.push(await makeNode(i));
  } catch (err) {
    for (const n of nodes) await n.proc.stop(2000);
    throw err;
  }
  return {
    nodes,
    dir,
    async start(i) {
      const old = nodes[i];
      const node = await makeNode(i, old ? { port: old.port, opsPort: old.opsPort } : undefined);
      nodes[i] = node;
      return node;
    },
    async kill(i) {
      await nodes[i]?.proc.stop(0);
    },
    async terminate(i) {
      await nodes[i]?.proc.stop(10_000);
    },
    pause(i) {
      const pid = nodes[i]?.proc.pid;
      if (pid !== undefined) process.kill(pid, 'SIGSTOP');
    },
    resume(i) {
      const pid = nodes[i]?.proc.pid;
      if (pid !== undefined) process.kill(pid, 'SIGCONT');
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.proc.stop(3000)));
      rmSync(dir, { recursive: true, force: true });
    },
    logs(lines = 30) {
      return nodes.map((n) => `--- ${n.id}\n${logTail(n.proc.logPath, lines)}`).join('\n');
    },
  };
}
