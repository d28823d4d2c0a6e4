// Benchmark B1 — single-node fanout: 1 publisher, N subscribers on one channel, R msg/s.
// Runs the same load against an aitransport node and against the raw naive `ws` floor
// (naive-server.ts), each in its own process, and reports frames/s, server CPU per 1k
// frames and publish→last-subscriber latency side by side.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signRequest } from '../../../dataplane/src/auth/index.ts';
import { sampleProcess } from '../lib/proc.ts';
import { round3, summarize } from '../lib/stats.ts';

export interface FanoutParams {
  subscribers: number;
  ratePerSecond: number;
  durationSeconds: number;
  warmupSeconds: number;
  clientProcesses: number;
  payloadBytes: number;
}

export const DEFAULT_FANOUT: FanoutParams = {
  subscribers: 1000,
  ratePerSecond: 50,
  durationSeconds: 20,
  warmupSeconds: 3,
  clientProcesses: 1,
  payloadBytes: 100,
};

export interface TargetResult {
  target: string;
  published: number;
  expectedDeliveries: number;
  deliveries: number;
  lostDeliveries: number;
  framesPerSecond: number;
  serverCpuMs: number;
  framesPerCpuSecond: number;
  cpuMsPer1kFrames: number;
  serverRssBytes: number;
  latencyMs: ReturnType<typeof summarize>;
  lastSubscriberLatencyMs: ReturnType<typeof summarize>;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
const CHANNEL = 'bench';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function post(port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 5000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

interface Target {
  name: string;
  proc: ChildProcess;
  wsUrl: string;
  publish(seq: number, data: string): Promise<number>;
}

async function startAitransport(): Promise<Target> {
  const [port, opsPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'ait-bench-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      server: { host: '127.0.0.1', port },
      ops: { host: '127.0.0.1', port: opsPort },
      logging: { level: 'warn' },
      apps: [{ ...APP, limits: { maxEventPayloadKb: 100 } }],
    }),
  );
  const proc = spawn(process.execPath, [join(repoRoot, 'dataplane/src/main.ts'), '--config', configPath], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(async () => (await httpStatus(opsPort, '/readyz')) === 200, 20_000, 'aitransport /readyz');
  const path = `/apps/${APP.id}/events`;
  return {
    name: 'aitransport',
    proc,
    wsUrl: `ws://127.0.0.1:${port}/app/${APP.key}?protocol=7&client=bench&version=1`,
    publish(_seq, data) {
      const body = JSON.stringify({ name: 'bench', channel: CHANNEL, data });
      const query = signRequest(APP, 'POST', path, {}, body, Date.now());
      return post(port, `${path}?${query}`, body);
    },
  };
}

async function startNaive(): Promise<Target> {
  const proc = spawn(process.execPath, [join(here, 'naive-server.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout?.once('data', (chunk: Buffer) =>
      resolve((JSON.parse(chunk.toString()) as { listening: number }).listening),
    );
    proc.once('exit', () => reject(new Error('naive server exited')));
  });
  return {
    name: 'naive-ws',
    proc,
    wsUrl: `ws://127.0.0.1:${port}/app/${APP.key}`,
    publish(_seq, data) {
      return post(port, '/publish', JSON.stringify({ event: 'bench', channel: CHANNEL, data }));
    },
  };
}

type ClientMsg =
  | { type: 'ready'; subscribers: number }
  | { type: 'error'; message: string }
  | { type: 'report'; frames: number; bytes: number; deliveries: Record<string, number[]> };

function ask(child: ChildProcess, cmd: object, expect: ClientMsg['type']): Promise<ClientMsg> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: ClientMsg) => {
      if (m.type === 'error') reject(new Error(`subscriber process: ${m.message}`));
      else if (m.type === expect) {
        child.off('message', onMsg);
        resolve(m);
      }
    };
    child.on('message', onMsg);
    child.send(cmd);
  });
}

async function runTarget(target: Target, p: FanoutParams): Promise<TargetResult> {
  const clients = Array.from({ length: p.clientProcesses }, () =>
    fork(join(here, 'subscribers.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  try {
    const per = Math.ceil(p.subscribers / p.clientProcesses);
    await Promise.all(
      clients.map((c, i) =>
        ask(
          c,
          {
            cmd: 'start',
            url: target.wsUrl,
            channel: CHANNEL,
            count: Math.min(per, p.subscribers - i * per),
            concurrency: 100,
          },
          'ready',
        ),
      ),
    );
    const pad = 'x'.repeat(Math.max(0, p.payloadBytes - 40));
    let seq = 0;
    const publishFor = async (seconds: number, measured: boolean): Promise<number> => {
      const total = Math.round(seconds * p.ratePerSecond);
      const interval = 1000 / p.ratePerSecond;
      const start = performance.now();
      const inflight: Promise<number>[] = [];
      for (let i = 0; i < total; i++) {
        const due = start + i * interval;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const s = measured ? ++seq : -1;
        inflight.push(target.publish(s, JSON.stringify({ seq: s, t: process.hrtime.bigint().toString(), pad })));
      }
      const statuses = await Promise.all(inflight);
      const bad = statuses.filter((s) => s !== 200).length;
      if (bad) throw new Error(`${target.name}: ${bad} publishes failed`);
      return total;
    };
    await publishFor(p.warmupSeconds, false);
    await new Promise((r) => setTimeout(r, 500));
    // Reset the subscribers' counters, then measure.
    await Promise.all(clients.map((c) => ask(c, { cmd: 'report' }, 'report')));
    const before = sampleProcess(target.proc.pid as number);
    const published = await publishFor(p.durationSeconds, true);
    await new Promise((r) => setTimeout(r, 1000));
    const after = sampleProcess(target.proc.pid as number);
    const reports = (await Promise.all(clients.map((c) => ask(c, { cmd: 'report' }, 'report')))) as Extract<
      ClientMsg,
      { type: 'report' }
    >[];
    const perDelivery: number[] = [];
    const lastSubscriber: number[] = [];
    const bySeq = new Map<number, number[]>();
    for (const r of reports) {
      for (const [k, list] of Object.entries(r.deliveries)) {
        if (Number(k) < 1) continue;
        const all = bySeq.get(Number(k)) ?? [];
        all.push(...list);
        bySeq.set(Number(k), all);
      }
    }
    let deliveries = 0;
    for (const list of bySeq.values()) {
      deliveries += list.length;
      perDelivery.push(...list);
      lastSubscriber.push(Math.max(...list));
    }
    const cpuMs = after.cpuMs - before.cpuMs;
    const frames = deliveries;
    return {
      target: target.name,
      published,
      expectedDeliveries: published * p.subscribers,
      deliveries,
      lostDeliveries: published * p.subscribers - deliveries,
      framesPerSecond: frames / p.durationSeconds,
      serverCpuMs: cpuMs,
      framesPerCpuSecond: cpuMs > 0 ? frames / (cpuMs / 1000) : Number.POSITIVE_INFINITY,
      cpuMsPer1kFrames: frames > 0 ? cpuMs / (frames / 1000) : Number.NaN,
      serverRssBytes: after.rssBytes,
      latencyMs: summarize(perDelivery),
      lastSubscriberLatencyMs: summarize(lastSubscriber),
    };
  } finally {
    for (const c of clients) c.kill('SIGKILL');
  }
}

export interface FanoutReport {
  bench: 'fanout';
  params: FanoutParams;
  results: TargetResult[];
  /** aitransport frames per CPU-second ÷ the naive floor's. */
  efficiencyVsNaive: number;
}

export async function runFanoutBench(params: Partial<FanoutParams> = {}): Promise<FanoutReport> {
  const p = { ...DEFAULT_FANOUT, ...params };
  const results: TargetResult[] = [];
  const only = process.env.AIT_BENCH_TARGETS?.split(',');
  const starters = [startNaive, startAitransport].filter(
    (_, i) => !only || only.includes(['naive', 'aitransport'][i] as string),
  );
  for (const start of starters) {
    const target = await start();
    try {
      results.push(await runTarget(target, p));
    } finally {
      target.proc.kill('SIGTERM');
      await new Promise((r) => target.proc.once('exit', r));
    }
  }
  const naive = results.find((r) => r.target === 'naive-ws');
  const ours = results.find((r) => r.target === 'aitransport');
  const efficiencyVsNaive = naive && ours ? ours.framesPerCpuSecond / naive.framesPerCpuSecond : Number.NaN;
  return round3({ bench: 'fanout', params: p, results, efficiencyVsNaive });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = Object.fromEntries(
    process.argv
      .slice(2)
      .map((a) => /^--(\w+)=(\d+)$/.exec(a))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], Number(m[2])]),
  ) as Partial<FanoutParams>;
  runFanoutBench(args).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (err: Error) => {
      console.error(err);
      process.exit(1);
    },
  );
}
