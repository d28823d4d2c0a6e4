// Benchmark B2 — append rollup (GitHub issue "Data plane II"): S streams (one AI channel each)
// × T tokens/s × k subscribers per stream, for each append_rollup_window W. A producer streams
// the tokens over the batch path (POST /apps/{id}/appends, one request per tick, one in flight so
// every stream keeps its order), ends every stream with a terminal append, and the run checks:
// - zero transcript mismatches: what each subscriber's MessageReducer ended with equals what
//   the producer sent (delta and full subscribers);
// - frames per stream per second against the bound 1000/W + 2 (W = 0: one frame per append);
// - append→delivery latency of the newest (and, delta mode, the oldest) token of each frame;
// - flush lateness p99.9 from the node's `ait_rollup_flush_lateness_ms`, the rollup ratio from
//   `ait_appends_received_total` / `ait_appends_delivered_total`, server CPU per 1k appends.
// Plus the scheduler's memory per active stream (memory.ts, in a `node --expose-gc` child).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from '../lib/args.ts';
import { ask, forkChild, spawnChild } from '../lib/children.ts';
import { signedRequest } from '../lib/http.ts';
import { BENCH_APP, type BenchNode, startNode } from '../lib/node.ts';
import { sampleProcess } from '../lib/proc.ts';
import { histogramDelta, histogramOf, histogramQuantile, parseMetrics, type Sample, sumOf } from '../lib/prom.ts';
import { round3, summarize } from '../lib/stats.ts';
import {
  formatToken,
  judgePhase,
  type PhaseVerdict,
  type StreamExpectation,
  type StreamObservation,
  sha256,
} from './analysis.ts';
import type { MemoryResult } from './memory.ts';

export interface RollupParams {
  /** S: concurrent streams, one channel each. */
  streams: number;
  /** T: tokens per second per stream. */
  tokensPerSecond: number;
  /** k: subscribers per stream. */
  subscribersPerStream: number;
  /** Every n-th subscriber of a stream uses append_mode=full (0: all delta). */
  fullEvery: number;
  durationSeconds: number;
  /** The append_rollup_window values measured, one phase each. */
  windows: number[];
  /** The producer's tick: one POST /appends per tick carries every token due. */
  batchIntervalMs: number;
  /** Streams of the in-process memory measurement. */
  memoryStreams: number;
  /** rollup.wheelTickMs of the node (0: the node's default, 1 ms): the least gap between worker wake-ups. */
  wheelTickMs: number;
}

export const DEFAULT_ROLLUP: RollupParams = {
  streams: 20,
  tokensPerSecond: 50,
  subscribersPerStream: 3,
  fullEvery: 3,
  durationSeconds: 10,
  windows: [0, 40],
  batchIntervalMs: 20,
  memoryStreams: 20_000,
  wheelTickMs: 0,
};

export interface RollupPhase extends PhaseVerdict {
  windowMs: number;
  framesPerSecondBound: number | null;
  appendsSent: number;
  failedAppends: number;
  subscribers: number;
  /** Frames the node wrote to sockets during the phase (ws_messages_sent_total). */
  framesSent: number;
  appendsReceived: number;
  appendsDelivered: number;
  /** appendsReceived / appendsDelivered (1 at W = 0). */
  rollupRatio: number;
  newestTokenLatencyMs: ReturnType<typeof summarize>;
  oldestTokenLatencyMs: ReturnType<typeof summarize>;
  /** From the node's histogram (Prometheus interpolation); null when no deadline flush happened (W = 0). */
  flushLatenessMs: {
    count: number;
    p99: number;
    p999: number;
    over5ms: number;
    buckets: Array<{ le: string; count: number }>;
  } | null;
  /**
   * The node's event-loop lag over the phase, ms: prom-client's monitor (20 ms resolution,
   * metrics/registry.ts) records each 20 ms timer's full interval, so the lag is that minus 20.
   */
  eventLoopLagMs: { p50: number; p99: number; max: number };
  serverCpuMs: number;
  serverUserCpuMs: number;
  serverSysCpuMs: number;
  cpuMsPer1kAppends: number;
  unexpectedCloses: number;
  errorFrames: number;
  reducerCounts: Record<string, number>;
}

export interface RollupReport {
  bench: 'rollup';
  params: RollupParams;
  phases: RollupPhase[];
  memory: MemoryResult;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const APP = BENCH_APP;

const EVENT_LOOP_MONITOR_RESOLUTION_MS = 20;
const lagMs = (samples: Sample[], stat: 'p50' | 'p99' | 'max'): number =>
  Math.max(0, sumOf(samples, `ait_nodejs_eventloop_lag_${stat}_seconds`) * 1000 - EVENT_LOOP_MONITOR_RESOLUTION_MS);

const transport = (status: string) => ({ ai: { transport: { 'run-id': 'bench-run', role: 'assistant', status } } });

interface ProducerStream {
  channel: string;
  messageSerial: string;
  sent: string[];
  applied: number;
}

interface SubscriberReport {
  type: 'report';
  subscribers: Array<{
    channel: string;
    mode: string;
    seen: Record<string, StreamObservation>;
    reducerCounts: Record<string, number>;
  }>;
  newestLatencyMs: number[];
  oldestLatencyMs: number[];
  unexpectedCloses: number;
  errorFrames: number;
}

async function createStream(node: BenchNode, channel: string): Promise<ProducerStream> {
  const r = await signedRequest(node.port, APP, 'POST', `/apps/${APP.id}/events`, {
    name: 'ai-output',
    channel,
    data: '',
    extras: transport('streaming'),
  });
  if (r.status !== 200) throw new Error(`create on ${channel}: ${r.status} ${r.body.slice(0, 200)} ${r.error ?? ''}`);
  const ack = JSON.parse(r.body) as { channels: Record<string, { message_serial: string }> };
  const ms = ack.channels[channel]?.message_serial;
  if (!ms) throw new Error(`create on ${channel}: no message_serial in ${r.body.slice(0, 200)}`);
  return { channel, messageSerial: ms, sent: [], applied: 0 };
}

/** One POST /appends; marks what applied. Returns the failed count. */
async function sendBatch(
  node: BenchNode,
  items: Array<{ stream: ProducerStream; data: string; extras?: unknown }>,
): Promise<number> {
  const body = {
    appends: items.map((i) => ({
      channel: i.stream.channel,
      message_serial: i.stream.messageSerial,
      data: i.data,
      ...(i.extras !== undefined && { extras: i.extras }),
    })),
  };
  const r = await signedRequest(node.port, APP, 'POST', `/apps/${APP.id}/appends`, body, 10_000);
  if (r.status !== 200 && r.status !== 207) return items.length;
  const results = (JSON.parse(r.body) as { results: Array<{ index: number; status?: string }> }).results;
  let failed = 0;
  for (const res of results) {
    const item = items[res.index];
    if (!item) continue;
    if (res.status === 'applied') {
      item.stream.sent.push(item.data);
      item.stream.applied++;
    } else failed++;
  }
  return failed;
}

async function runPhase(p: RollupParams, windowMs: number): Promise<RollupPhase> {
  const node = await startNode({
    aiTransport: { enabled: true, channelPrefixes: ['ai-'] },
    history: { aiChannels: true },
    ...(p.wheelTickMs > 0 && { rollup: { wheelTickMs: p.wheelTickMs } }),
  });
  let client: ChildProcess | undefined;
  try {
    client = forkChild(join(here, 'subscribers.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const channels = Array.from({ length: p.streams }, (_, i) => `ai-bench-${i}`);
    await ask(
      client,
      {
        cmd: 'start',
        url: `ws://127.0.0.1:${node.port}/app/${APP.key}?protocol=2&append_rollup_window=${windowMs}`,
        channels,
        perChannel: p.subscribersPerStream,
        fullEvery: p.fullEvery,
      },
      'ready',
    );
    const streams = await Promise.all(channels.map((c) => createStream(node, c)));
    await new Promise((r) => setTimeout(r, 200));

    const metricsBefore = parseMetrics(await node.metrics());
    const cpuBefore = sampleProcess(node.proc.pid as number);
    let failed = 0;
    let due = 0;
    const start = performance.now();
    const total = Math.round(p.durationSeconds * p.tokensPerSecond);
    // One batch in flight: each stream's appends reach the node in order. A slow answer makes
    // the next batch bigger, not later: the token rate holds.
    for (let tick = 1; due < total; tick++) {
      const wait = start + tick * p.batchIntervalMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const target = Math.min(total, Math.floor(((performance.now() - start) / 1000) * p.tokensPerSecond));
      const items: Array<{ stream: ProducerStream; data: string }> = [];
      for (; due < target; due++) {
        for (const stream of streams) items.push({ stream, data: formatToken(process.hrtime.bigint()) });
      }
      // At most 1000 appends per request (MAX_APPEND_BATCH).
      for (let i = 0; i < items.length; i += 1000) failed += await sendBatch(node, items.slice(i, i + 1000));
    }
    failed += await sendBatch(
      node,
      streams.map((stream) => ({ stream, data: '', extras: transport('complete') })),
    );
    const pairs = p.streams * p.subscribersPerStream;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const s = await ask<{ type: 'status'; complete: number }>(client, { cmd: 'status' }, 'status');
      if (s.complete >= pairs) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const cpuAfter = sampleProcess(node.proc.pid as number);
    const metricsAfter = parseMetrics(await node.metrics());
    const rep = await ask<SubscriberReport>(client, { cmd: 'report' }, 'report');

    const expected = new Map<string, StreamExpectation>();
    for (const s of streams) {
      const text = s.sent.join('');
      expected.set(s.messageSerial, { appends: s.applied, sha256: sha256(text), length: text.length });
    }
    const byChannel = new Map(streams.map((s) => [s.channel, s.messageSerial]));
    const verdict = judgePhase(
      windowMs,
      expected,
      rep.subscribers.map((sub) => ({ streams: [byChannel.get(sub.channel) as string], seen: sub.seen })),
    );
    const delta = (name: string) => sumOf(metricsAfter, name) - sumOf(metricsBefore, name);
    const lateness = histogramDelta(
      histogramOf(metricsAfter, 'ait_rollup_flush_lateness_ms'),
      histogramOf(metricsBefore, 'ait_rollup_flush_lateness_ms'),
    );
    const received = delta('ait_appends_received_total');
    const delivered = delta('ait_appends_delivered_total');
    const appendsSent = streams.reduce((n, s) => n + s.applied, 0);
    const cpuMs = cpuAfter.cpuMs - cpuBefore.cpuMs;
    const reducerCounts: Record<string, number> = {};
    for (const sub of rep.subscribers) {
      for (const [k, v] of Object.entries(sub.reducerCounts)) reducerCounts[k] = (reducerCounts[k] ?? 0) + v;
    }
    return {
      windowMs,
      framesPerSecondBound: windowMs > 0 ? 1000 / windowMs + 2 : null,
      ...verdict,
      appendsSent,
      failedAppends: failed,
      subscribers: rep.subscribers.length,
      framesSent: delta('ait_ws_messages_sent_total'),
      appendsReceived: received,
      appendsDelivered: delivered,
      rollupRatio: delivered > 0 ? received / delivered : Number.NaN,
      newestTokenLatencyMs: summarize(rep.newestLatencyMs),
      oldestTokenLatencyMs: summarize(rep.oldestLatencyMs),
      flushLatenessMs:
        lateness.count > 0
          ? {
              count: lateness.count,
              p99: histogramQuantile(lateness, 0.99),
              p999: histogramQuantile(lateness, 0.999),
              over5ms: lateness.count - (lateness.buckets.find((b) => b.le === 5)?.count ?? 0),
              buckets: lateness.buckets.map((b) => ({
                le: b.le === Number.POSITIVE_INFINITY ? '+Inf' : String(b.le),
                count: b.count,
              })),
            }
          : null,
      // prom-client resets its event-loop monitor at every scrape: the second scrape covers the phase.
      eventLoopLagMs: {
        p50: lagMs(metricsAfter, 'p50'),
        p99: lagMs(metricsAfter, 'p99'),
        max: lagMs(metricsAfter, 'max'),
      },
      serverCpuMs: cpuMs,
      serverUserCpuMs: cpuAfter.userMs - cpuBefore.userMs,
      serverSysCpuMs: cpuAfter.sysMs - cpuBefore.sysMs,
      cpuMsPer1kAppends: appendsSent > 0 ? cpuMs / (appendsSent / 1000) : Number.NaN,
      unexpectedCloses: rep.unexpectedCloses,
      errorFrames: rep.errorFrames,
      reducerCounts,
    };
  } finally {
    client?.kill('SIGKILL');
    await node.stop();
  }
}

/** The scheduler's memory per active stream, in a `node --expose-gc` child. */
export async function measureRollupMemory(streams: number): Promise<MemoryResult> {
  const child = spawnChild(process.execPath, ['--expose-gc', join(here, 'memory.ts'), `--streams=${streams}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  if (code !== 0) throw new Error(`memory measurement exited with ${code}`);
  return JSON.parse(out) as MemoryResult;
}

export async function runRollupBench(params: Partial<RollupParams> = {}): Promise<RollupReport> {
  const p = { ...DEFAULT_ROLLUP, ...params };
  const phases: RollupPhase[] = [];
  for (const w of p.windows) phases.push(await runPhase(p, w));
  const memory = await measureRollupMemory(p.memoryStreams);
  return round3({ bench: 'rollup', params: p, phases, memory });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const parsed = parseBenchArgs(process.argv.slice(2), []);
  if ('error' in parsed) {
    console.error(parsed.error);
    process.exit(2);
  }
  const args = parsed.overrides as Partial<RollupParams>;
  runRollupBench(args).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (err: Error) => {
      console.error(err);
      process.exit(1);
    },
  );
}
