// Benchmark B2's client process: opens V2 subscribers (k per channel) with one
// append_rollup_window, reduces every frame with the client reducer (MessageReducer, as a client
// library would), and records per stream the frames, their receive times and the append→delivery
// latency of the newest and the oldest token of each append frame (tokens carry the producer's
// hrtime: analysis.ts). Talks to the orchestrator over IPC:
//   {cmd:'start', url, channels, perChannel, fullEvery} → 'ready'
//   {cmd:'status'} → {type:'status', complete}      (subscriber-stream pairs that saw the terminal append)
//   {cmd:'report'} → the observations, then exits on {cmd:'stop'}.
import WebSocket from 'ws';
import { type FrameLike, MessageReducer } from '../../../dataplane/src/messages/reducer.ts';
import { type StreamObservation, sha256, tokenTimes } from './analysis.ts';

interface StartCmd {
  cmd: 'start';
  url: string;
  channels: string[];
  perChannel: number;
  /** Every n-th subscriber of a channel uses append_mode=full (0: none). */
  fullEvery: number;
}

interface Seen {
  appendFrames: number;
  firstFrameMs: number;
  lastFrameMs: number;
  complete: boolean;
}

interface Subscriber {
  channel: string;
  mode: 'delta' | 'full';
  reducer: MessageReducer;
  seen: Map<string, Seen>;
}

const subscribers: Subscriber[] = [];
const sockets: WebSocket[] = [];
/** Latencies (ms) of the newest and the oldest token of every append frame with tokens. */
const newest: number[] = [];
const oldest: number[] = [];
let unexpectedCloses = 0;
let errorFrames = 0;

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

type Frame = FrameLike & { event: string; channel?: string; data?: unknown; extras?: Record<string, unknown> };

function statusOf(frame: Frame): string | undefined {
  const ai = (frame.extras?.ai as { transport?: { status?: unknown } } | undefined)?.transport;
  return typeof ai?.status === 'string' ? ai.status : undefined;
}

function onFrame(sub: Subscriber, frame: Frame): void {
  if (frame.event === 'sockudo:error') {
    errorFrames++;
    return;
  }
  sub.reducer.apply(frame);
  if (frame.event !== 'sockudo:message.append') return;
  const at = nowMs();
  const headers = frame.extras?.headers as { sockudo_message_serial?: string } | undefined;
  const ms = headers?.sockudo_message_serial;
  if (typeof ms !== 'string') return;
  let seen = sub.seen.get(ms);
  if (!seen) {
    seen = { appendFrames: 0, firstFrameMs: at, lastFrameMs: at, complete: false };
    sub.seen.set(ms, seen);
  }
  seen.appendFrames++;
  seen.lastFrameMs = at;
  if (statusOf(frame) === 'complete') seen.complete = true;
  if (typeof frame.data !== 'string') return;
  // Full mode carries the aggregate: only its newest token is this frame's.
  const times = tokenTimes(sub.mode === 'full' ? frame.data.slice(frame.data.lastIndexOf('~')) : frame.data);
  if (!times) return;
  const now = process.hrtime.bigint();
  newest.push(Number(now - times.newestNs) / 1e6);
  if (sub.mode === 'delta') oldest.push(Number(now - times.oldestNs) / 1e6);
}

function openOne(url: string, channel: string, mode: 'delta' | 'full'): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}&append_mode=${mode}`, { perMessageDeflate: false });
    const sub: Subscriber = { channel, mode, reducer: new MessageReducer(mode), seen: new Map() };
    const timer = setTimeout(() => reject(new Error(`subscribe to ${channel} timed out`)), 15_000);
    let ready = false;
    ws.on('message', (raw: Buffer) => {
      const frame = JSON.parse(raw.toString('utf8')) as Frame;
      if (ready) {
        onFrame(sub, frame);
      } else if (frame.event === 'sockudo:connection_established') {
        ws.send(JSON.stringify({ event: 'sockudo:subscribe', data: { channel } }));
      } else if (frame.event === 'sockudo_internal:subscription_succeeded') {
        ready = true;
        clearTimeout(timer);
        resolve();
      } else if (frame.event === 'sockudo:error') {
        clearTimeout(timer);
        reject(new Error(`subscribe to ${channel}: ${JSON.stringify(frame.data)}`));
      }
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('close', () => {
      unexpectedCloses++;
    });
    sockets.push(ws);
    subscribers.push(sub);
  });
}

async function start(cmd: StartCmd): Promise<void> {
  const opens: Array<Promise<void>> = [];
  for (const channel of cmd.channels) {
    for (let i = 0; i < cmd.perChannel; i++) {
      const full = cmd.fullEvery > 0 && (i + 1) % cmd.fullEvery === 0;
      opens.push(openOne(cmd.url, channel, full ? 'full' : 'delta'));
    }
  }
  await Promise.all(opens);
}

function report(): object {
  return {
    type: 'report',
    subscribers: subscribers.map((sub) => {
      const seen: Record<string, StreamObservation> = {};
      for (const [ms, s] of sub.seen) {
        const data = sub.reducer.get(ms)?.data;
        const text = typeof data === 'string' ? data : '';
        seen[ms] = { ...s, sha256: sha256(text), length: text.length };
      }
      return { channel: sub.channel, mode: sub.mode, seen, reducerCounts: sub.reducer.counts };
    }),
    newestLatencyMs: newest,
    oldestLatencyMs: oldest,
    unexpectedCloses,
    errorFrames,
  };
}

process.on('message', (msg: { cmd: string }) => {
  if (msg.cmd === 'start') {
    start(msg as StartCmd).then(
      () => process.send?.({ type: 'ready', subscribers: sockets.length }),
      (err: Error) => process.send?.({ type: 'error', message: err.message }),
    );
  } else if (msg.cmd === 'status') {
    let complete = 0;
    for (const sub of subscribers) for (const s of sub.seen.values()) if (s.complete) complete++;
    process.send?.({ type: 'status', complete });
  } else if (msg.cmd === 'report') {
    process.send?.(report());
  } else if (msg.cmd === 'stop') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
