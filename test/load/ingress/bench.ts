// Ingress: appends per second per core on the three producer paths, no subscribers, each path on
// a fresh node, measured by the node's CPU time (robust to a shared machine):
// - `append`: one signed POST …/messages/{ms}/append per token, `concurrency` producers at once;
// - `batch`:  signed POST /apps/{id}/appends with `batchSize` appends per request;
// - `ws`:     `sockudo:append` frames over V2 WebSockets of trusted producers (a capability token
//             with `message-append-any`), acked every `ackEvery` appends for flow control.
// Every producer owns a channel and streams into one message at a time, rotating to a new one
// (terminal append, then a create) every `appendsPerMessage` so no AI limit is reached.
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { issueCapabilityToken } from '../../../dataplane/src/auth/index.ts';
import { parseBenchArgs } from '../lib/args.ts';
import { signedRequest } from '../lib/http.ts';
import { BENCH_APP, type BenchNode, startNode } from '../lib/node.ts';
import { sampleProcess } from '../lib/proc.ts';
import { round3 } from '../lib/stats.ts';

export type IngressPath = 'append' | 'batch' | 'ws';

export interface IngressParams {
  durationSeconds: number;
  /** Concurrent producers of the `append` path (one request in flight each). */
  concurrency: number;
  batchSize: number;
  /** Concurrent producers of the `batch` path. */
  batchConcurrency: number;
  /** WebSocket producers of the `ws` path. */
  wsProducers: number;
  /** The `ws` path: an `id` (so an ack) every this many appends; at most 4 unacked windows in flight. */
  ackEvery: number;
  appendsPerMessage: number;
  /** Upper bound of appends per path, whatever the duration. */
  maxAppends: number;
}

export const DEFAULT_INGRESS: IngressParams = {
  durationSeconds: 10,
  concurrency: 16,
  batchSize: 100,
  batchConcurrency: 2,
  wsProducers: 4,
  ackEvery: 50,
  appendsPerMessage: 2000,
  maxAppends: 200_000,
};

export interface IngressResult {
  path: IngressPath;
  appends: number;
  failed: number;
  wallSeconds: number;
  appendsPerSecond: number;
  serverCpuMs: number;
  serverUserCpuMs: number;
  serverSysCpuMs: number;
  /** Appends per second of server CPU: what one core sustains on this path. */
  appendsPerCpuSecond: number;
  cpuMsPer1kAppends: number;
  /** Server CPU used while measuring ÷ wall time (1 = one core busy). */
  serverCoresUsed: number;
}

export interface IngressReport {
  bench: 'ingress';
  params: IngressParams;
  results: IngressResult[];
}

const APP = BENCH_APP;
const TOKEN = 'tok ';
const streaming = { ai: { transport: { 'run-id': 'ingress', role: 'assistant', status: 'streaming' } } };
const complete = { ai: { transport: { status: 'complete' } } };

/** A producer's current message, rotated every `appendsPerMessage`. */
class Stream {
  messageSerial = '';
  appended = 0;
  readonly #node: BenchNode;
  readonly channel: string;
  readonly #limit: number;

  constructor(node: BenchNode, channel: string, limit: number) {
    this.#node = node;
    this.channel = channel;
    this.#limit = limit;
  }

  /** Ensures there is a message with room for `n` more appends (ending the previous one). */
  async room(n: number): Promise<void> {
    if (this.messageSerial !== '' && this.appended + n <= this.#limit) return;
    if (this.messageSerial !== '') {
      await signedRequest(this.#node.port, APP, 'POST', this.#path('append'), { data: '', extras: complete });
    }
    const r = await signedRequest(this.#node.port, APP, 'POST', `/apps/${APP.id}/events`, {
      name: 'ai-output',
      channel: this.channel,
      data: '',
      extras: streaming,
    });
    if (r.status !== 200) throw new Error(`create on ${this.channel}: ${r.status} ${r.body.slice(0, 200)}`);
    const ack = JSON.parse(r.body) as { channels: Record<string, { message_serial: string }> };
    this.messageSerial = ack.channels[this.channel]?.message_serial ?? '';
    this.appended = 0;
  }

  #path(op: string): string {
    return `/apps/${APP.id}/channels/${encodeURIComponent(this.channel)}/messages/${encodeURIComponent(this.messageSerial)}/${op}`;
  }

  appendPath(): string {
    return this.#path('append');
  }
}

interface Budget {
  deadline: number;
  remaining: number;
  take(n: number): number;
}

function budgetOf(p: IngressParams): Budget {
  return {
    deadline: performance.now() + p.durationSeconds * 1000,
    remaining: p.maxAppends,
    take(n) {
      if (performance.now() >= this.deadline) return 0;
      const got = Math.min(n, this.remaining);
      this.remaining -= got;
      return got;
    },
  };
}

async function appendPath(node: BenchNode, p: IngressParams, budget: Budget): Promise<{ ok: number; failed: number }> {
  let ok = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: p.concurrency }, async (_, w) => {
      const stream = new Stream(node, `ai-ingress-${w}`, p.appendsPerMessage);
      while (budget.take(1) === 1) {
        await stream.room(1);
        const r = await signedRequest(node.port, APP, 'POST', stream.appendPath(), { data: TOKEN });
        stream.appended++;
        if (r.status === 200) ok++;
        else failed++;
      }
      await stream.room(Number.POSITIVE_INFINITY);
    }),
  );
  return { ok, failed };
}

async function batchPath(node: BenchNode, p: IngressParams, budget: Budget): Promise<{ ok: number; failed: number }> {
  let ok = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: p.batchConcurrency }, async (_, w) => {
      const stream = new Stream(node, `ai-ingress-${w}`, p.appendsPerMessage);
      for (let n = budget.take(p.batchSize); n > 0; n = budget.take(p.batchSize)) {
        await stream.room(n);
        const appends = Array.from({ length: n }, () => ({
          channel: stream.channel,
          message_serial: stream.messageSerial,
          data: TOKEN,
        }));
        const r = await signedRequest(node.port, APP, 'POST', `/apps/${APP.id}/appends`, { appends }, 30_000);
        stream.appended += n;
        if (r.status === 200 || r.status === 207) {
          const body = JSON.parse(r.body) as { applied: number; failed: number };
          ok += body.applied;
          failed += body.failed;
        } else failed += n;
      }
      await stream.room(Number.POSITIVE_INFINITY);
    }),
  );
  return { ok, failed };
}

/** One trusted producer socket: subscribes to its channel, then streams sockudo:append frames. */
async function wsProducer(
  node: BenchNode,
  p: IngressParams,
  budget: Budget,
  index: number,
): Promise<{ ok: number; failed: number }> {
  const channel = `ai-ingress-ws-${index}`;
  const token = await issueCapabilityToken(APP, {
    clientId: `producer-${index}`,
    // A token connection also needs publish to mutate at all (PROTOCOL.md 4.2).
    capabilities: { 'ai-*': ['subscribe', 'publish', 'message-append-any'] },
    ttlSeconds: 600,
    nowMs: Date.now(),
  });
  // W = 500 keeps the producer's own copy of the stream (it must be subscribed) small.
  const ws = new WebSocket(
    `ws://127.0.0.1:${node.port}/app/${APP.key}?protocol=2&append_rollup_window=500&token=${token}`,
    { perMessageDeflate: false },
  );
  let acked = 0;
  let errors = 0;
  let onAck: (() => void) | undefined;
  const subscribed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${channel}: subscribe timed out`)), 15_000);
    ws.on('message', (raw: Buffer) => {
      const f = JSON.parse(raw.toString('utf8')) as { event: string; data?: unknown };
      if (f.event === 'sockudo:connection_established') {
        ws.send(JSON.stringify({ event: 'sockudo:subscribe', data: { channel } }));
      } else if (f.event === 'sockudo_internal:subscription_succeeded') {
        clearTimeout(timer);
        resolve();
      } else if (f.event === 'sockudo:append_ack') {
        acked = Number((f.data as { id: string }).id);
        onAck?.();
      } else if (f.event === 'sockudo:error') {
        errors++;
        if (process.env.AIT_BENCH_DEBUG) console.error(channel, JSON.stringify(f));
      }
    });
    ws.on('error', reject);
  });
  await subscribed;
  const stream = new Stream(node, channel, p.appendsPerMessage);
  let sent = 0;
  const waitAcked = (upTo: number): Promise<void> =>
    new Promise((resolve, reject) => {
      if (acked >= upTo) return resolve();
      const timer = setTimeout(() => reject(new Error(`${channel}: no ack for ${upTo} within 30 s`)), 30_000);
      onAck = () => {
        if (acked >= upTo) {
          clearTimeout(timer);
          onAck = undefined;
          resolve();
        }
      };
    });
  try {
    for (let n = budget.take(p.ackEvery); n > 0; n = budget.take(p.ackEvery)) {
      // Rotating the message waits for every append to it to be applied.
      if (stream.appended + n > p.appendsPerMessage) await waitAcked(sent);
      await stream.room(n);
      for (let i = 0; i < n; i++) {
        sent++;
        const last = i === n - 1;
        ws.send(
          JSON.stringify({
            event: 'sockudo:append',
            data: { channel, message_serial: stream.messageSerial, data: TOKEN, ...(last && { id: String(sent) }) },
          }),
        );
      }
      stream.appended += n;
      // Flow control: at most 4 ack windows in flight.
      await waitAcked(sent - 4 * p.ackEvery);
    }
    await waitAcked(sent);
    await stream.room(Number.POSITIVE_INFINITY);
  } finally {
    ws.terminate();
  }
  return { ok: sent - errors, failed: errors };
}

async function wsPath(node: BenchNode, p: IngressParams, budget: Budget): Promise<{ ok: number; failed: number }> {
  const results = await Promise.all(Array.from({ length: p.wsProducers }, (_, i) => wsProducer(node, p, budget, i)));
  return results.reduce((a, b) => ({ ok: a.ok + b.ok, failed: a.failed + b.failed }), { ok: 0, failed: 0 });
}

const PATHS: Record<IngressPath, typeof appendPath> = { append: appendPath, batch: batchPath, ws: wsPath };

async function runPath(path: IngressPath, p: IngressParams): Promise<IngressResult> {
  const node = await startNode({
    aiTransport: { enabled: true, channelPrefixes: ['ai-'] },
    history: { aiChannels: true },
  });
  try {
    const before = sampleProcess(node.proc.pid as number);
    const t0 = performance.now();
    const { ok, failed } = await PATHS[path](node, p, budgetOf(p));
    const wallSeconds = (performance.now() - t0) / 1000;
    const after = sampleProcess(node.proc.pid as number);
    const cpuMs = after.cpuMs - before.cpuMs;
    return {
      path,
      appends: ok,
      failed,
      wallSeconds,
      appendsPerSecond: ok / wallSeconds,
      serverCpuMs: cpuMs,
      serverUserCpuMs: after.userMs - before.userMs,
      serverSysCpuMs: after.sysMs - before.sysMs,
      appendsPerCpuSecond: cpuMs > 0 ? ok / (cpuMs / 1000) : Number.NaN,
      cpuMsPer1kAppends: ok > 0 ? cpuMs / (ok / 1000) : Number.NaN,
      serverCoresUsed: cpuMs / 1000 / wallSeconds,
    };
  } finally {
    await node.stop();
  }
}

export async function runIngressBench(
  params: Partial<IngressParams> = {},
  paths: readonly IngressPath[] = ['append', 'batch', 'ws'],
): Promise<IngressReport> {
  const p = { ...DEFAULT_INGRESS, ...params };
  const results: IngressResult[] = [];
  for (const path of paths) results.push(await runPath(path, p));
  return round3({ bench: 'ingress', params: p, results });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const parsed = parseBenchArgs<IngressPath>(process.argv.slice(2), ['append', 'batch', 'ws']);
  if ('error' in parsed) {
    console.error(parsed.error);
    process.exit(2);
  }
  const args = parsed.overrides as Partial<IngressParams>;
  runIngressBench(args, parsed.names).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (err: Error) => {
      console.error(err);
      process.exit(1);
    },
  );
}
