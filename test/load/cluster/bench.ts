// Benchmark B7 — cross-node latency: 3 data-plane node processes on one real redis-server. A
// producer appends to a stream through node 0 at a steady rate, embedding its send time
// (process.hrtime, CLOCK_MONOTONIC, shared by every process on the machine) in each token; V2
// subscribers (window 0: every append) on node 0 (local) and on nodes 1 and 2 (remote) record
// the delivery latency of each token. The added cross-node latency is remote minus local, at p50
// and p99. The Redis floor — PUBLISH to a subscribed connection, measured in the same run — is
// what the transport cannot beat.
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { channelAuth, type NodeCluster, type NodeProc, startNodeCluster } from '../../helpers/node-cluster.ts';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.ts';
import type { TestWsClient } from '../../helpers/ws-client.ts';
import { APP } from '../../integration/rest-helpers.ts';
import { round3, type Summary, summarize } from '../lib/stats.ts';

export interface ClusterParams {
  ratePerSecond: number;
  durationSeconds: number;
  warmupSeconds: number;
  subscribersPerNode: number;
}

export const DEFAULT_CLUSTER: ClusterParams = {
  ratePerSecond: 200,
  durationSeconds: 10,
  warmupSeconds: 2,
  subscribersPerNode: 2,
};

export interface ClusterReport {
  bench: 'cluster';
  params: ClusterParams;
  appends: number;
  lostDeliveries: number;
  localLatencyMs: Summary;
  remoteLatencyMs: Summary;
  /** remote − local, at p50 and p99. */
  addedMs: { p50: number; p99: number };
  redisFloorMs: Summary;
}

const TOKEN = /"data":"t(\d+)\|(\d+) "/;

async function redisFloor(port: number, samples: number): Promise<Summary> {
  const pub = new Redis({ port, host: '127.0.0.1' });
  const sub = new Redis({ port, host: '127.0.0.1' });
  const lat: number[] = [];
  await sub.subscribe('floor');
  sub.on('message', (_c, text) => {
    lat.push(Number(process.hrtime.bigint() - BigInt(text)) / 1e6);
  });
  for (let i = 0; i < samples; i++) {
    await pub.publish('floor', process.hrtime.bigint().toString());
    await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise((r) => setTimeout(r, 200));
  pub.disconnect();
  sub.disconnect();
  return summarize(lat);
}

export async function runClusterBench(params: Partial<ClusterParams> = {}): Promise<ClusterReport> {
  const p = { ...DEFAULT_CLUSTER, ...params };
  let redis: RedisServer | undefined;
  let cluster: NodeCluster | undefined;
  const sockets: TestWsClient[] = [];
  try {
    redis = await startRedisServer();
    cluster = await startNodeCluster({
      nodes: 3,
      redis: { host: '127.0.0.1', port: redis.port, keyPrefix: 'ait-bench:' },
      logLevel: 'warn',
    });
    const channel = 'private-ai-bench';
    const local: number[] = [];
    const remote: number[] = [];
    const seen = new Map<TestWsClient, Set<number>>();
    let measuring = false;
    for (const [i, node] of cluster.nodes.entries()) {
      for (let k = 0; k < p.subscribersPerNode; k++) {
        const c = await node.socket({ protocol: '2', append_rollup_window: '0' });
        c.send({ event: 'sockudo:subscribe', data: { channel, auth: channelAuth(c.socketId, channel) } });
        await c.waitForEvent('sockudo_internal:subscription_succeeded', 10_000);
        const got = new Set<number>();
        seen.set(c, got);
        c.ws.on('message', (raw) => {
          const m = TOKEN.exec(raw.toString());
          if (!m || !measuring) return;
          const ms = Number(process.hrtime.bigint() - BigInt(m[2] as string)) / 1e6;
          got.add(Number(m[1]));
          (i === 0 ? local : remote).push(ms);
        });
        sockets.push(c);
      }
    }
    const producer = cluster.nodes[0] as NodeProc;
    const created = await producer.rest('POST', `/apps/${APP.id}/events`, {
      name: 'ai-output',
      channel,
      data: '',
      extras: { ai: { transport: { status: 'streaming' } } },
    });
    const ms = (
      (created.json().channels as Record<string, Record<string, unknown>>)[channel] as Record<string, unknown>
    ).message_serial as string;
    const path = `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}/append`;
    let seq = 0;
    let sent = 0;
    const run = async (seconds: number) => {
      const total = Math.round(seconds * p.ratePerSecond);
      const t0 = performance.now();
      const inflight: Promise<unknown>[] = [];
      for (let i = 0; i < total; i++) {
        const wait = t0 + (i * 1000) / p.ratePerSecond - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const n = ++seq;
        if (measuring) sent++;
        inflight.push(producer.rest('POST', path, { data: `t${n}|${process.hrtime.bigint()} ` }));
      }
      await Promise.all(inflight);
    };
    await run(p.warmupSeconds);
    measuring = true;
    const firstMeasured = seq + 1;
    await run(p.durationSeconds);
    await new Promise((r) => setTimeout(r, 500));
    measuring = false;
    let lost = 0;
    for (const got of seen.values()) {
      for (let n = firstMeasured; n <= seq; n++) if (!got.has(n)) lost++;
    }
    const localLatencyMs = summarize(local);
    const remoteLatencyMs = summarize(remote);
    const redisFloorMs = await redisFloor(redis.port, 500);
    return round3({
      bench: 'cluster',
      params: p,
      appends: sent,
      lostDeliveries: lost,
      localLatencyMs,
      remoteLatencyMs,
      addedMs: { p50: remoteLatencyMs.p50 - localLatencyMs.p50, p99: remoteLatencyMs.p99 - localLatencyMs.p99 },
      redisFloorMs,
    });
  } finally {
    for (const s of sockets) s.close();
    await cluster?.stop();
    await redis?.cleanup();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = Object.fromEntries(
    process.argv
      .slice(2)
      .map((a) => /^--(\w+)=(\d+)$/.exec(a))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], Number(m[2])]),
  ) as Partial<ClusterParams>;
  runClusterBench(args).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (err: Error) => {
      console.error(err);
      process.exit(1);
    },
  );
}
