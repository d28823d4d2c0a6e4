// A benchmark client process: opens N WebSocket subscribers to one channel and records,
// for every message, each subscriber's publish→receive latency. Latency uses
// process.hrtime (CLOCK_MONOTONIC), which every process on the machine shares, so the
// publisher's send time and our receive time are comparable to the microsecond.
// Talks to the orchestrator over IPC: {cmd:'start', ...} → 'ready'; {cmd:'reset'} → 'reset'
// (forgets what was recorded); {cmd:'report'} → report.
import WebSocket from 'ws';

interface StartCmd {
  cmd: 'start';
  url: string;
  channel: string;
  count: number;
  /** How many connections to open at once. */
  concurrency: number;
}

const sockets: WebSocket[] = [];
/** Matches benchmark frames (only they carry seq+t) and captures seq and the publisher's hrtime (escaped JSON in data). */
const BENCH_FRAME = /seq\\?":(-?\d+),\\?"t\\?":\\?"(\d+)/;
/** seq → latencies (ms) of every delivery of that message. */
const deliveries = new Map<number, number[]>();
let frames = 0;
let bytes = 0;
let closedUnexpectedly = 0;

function openOne(url: string, channel: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => reject(new Error('subscribe timed out')), 15_000);
    ws.on('message', (raw: Buffer) => {
      frames++;
      bytes += raw.length;
      const text = raw.toString('utf8');
      // Hot path: read seq and send time without JSON-parsing the frame, so the client
      // process is not the bottleneck it is measuring.
      const m = BENCH_FRAME.exec(text);
      if (m) {
        const now = process.hrtime.bigint();
        const seq = Number(m[1]);
        let list = deliveries.get(seq);
        if (!list) {
          list = [];
          deliveries.set(seq, list);
        }
        list.push(Number(now - BigInt(m[2] as string)) / 1e6);
        return;
      }
      const frame = JSON.parse(text) as { event: string; data?: string };
      if (frame.event === 'pusher:connection_established') {
        ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
      } else if (frame.event === 'pusher_internal:subscription_succeeded') {
        clearTimeout(timer);
        resolve();
      }
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('close', () => {
      closedUnexpectedly++;
    });
    sockets.push(ws);
  });
}

async function start(cmd: StartCmd): Promise<void> {
  for (let i = 0; i < cmd.count; i += cmd.concurrency) {
    const batch = Math.min(cmd.concurrency, cmd.count - i);
    await Promise.all(Array.from({ length: batch }, () => openOne(cmd.url, cmd.channel)));
  }
  // Frames before the measurement (handshakes) are not counted.
  frames = 0;
  bytes = 0;
  deliveries.clear();
}

process.on('message', (msg: { cmd: string }) => {
  if (msg.cmd === 'start') {
    start(msg as StartCmd).then(
      () => process.send?.({ type: 'ready', subscribers: sockets.length }),
      (err: Error) => process.send?.({ type: 'error', message: err.message }),
    );
  } else if (msg.cmd === 'reset') {
    frames = 0;
    bytes = 0;
    deliveries.clear();
    process.send?.({ type: 'reset' });
  } else if (msg.cmd === 'report') {
    process.send?.({
      type: 'report',
      frames,
      bytes,
      closedUnexpectedly,
      deliveries: Object.fromEntries(deliveries),
    });
  } else if (msg.cmd === 'stop') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
