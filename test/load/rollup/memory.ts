// B2's rollup memory per active stream, in-process: N streams tracked by one RollupScheduler,
// each holding one tiny append, measured as the heap growth after a full GC divided by N.
// What the caller owns anyway (the committed messages, channel names, serials, fragments) is
// allocated before the baseline, so the figure is the scheduler's own state: the stream and
// window records, the per-channel maps, the held-append record, the deadline-heap entry and the
// key the caller passes. Runs as its own `node --expose-gc` process (bench.ts starts it) and
// prints one JSON line.
//
//   node --expose-gc test/load/rollup/memory.ts [--streams=20000] [--streamsPerChannel=1] [--windowMs=40]
import { RollupScheduler } from '../../../dataplane/src/rollup/scheduler.ts';

export interface MemoryResult {
  streams: number;
  streamsPerChannel: number;
  windowMs: number;
  heldWindows: number;
  heapDeltaBytes: number;
  bytesPerStream: number;
}

function arg(name: string, fallback: number): number {
  const m = process.argv.map((a) => new RegExp(`^--${name}=(\\d+)$`).exec(a)).find((x) => x !== null);
  return m ? Number(m[1]) : fallback;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}

function settledHeap(): number {
  // Several passes: weak callbacks and finalization can free more on a second pass.
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

const n = arg('streams', 20_000);
const perChannel = Math.max(1, arg('streamsPerChannel', 1));
const windowMs = Math.max(1, arg('windowMs', 40));

// Caller-owned data, allocated before the baseline. Strings are built at run time (no shared
// literals), like serials and names arriving off the wire.
const channels = Array.from({ length: Math.ceil(n / perChannel) }, (_, i) => `ai-conversation-${i}`);
const serials = Array.from({ length: n }, (_, i) => `${(1_700_000_000_000 + i).toString(36)}-${i}@node-0`);
const messages = Array.from({ length: n }, (_, i) => ({ serial: serials[i], version: i }));
const fragments = Array.from({ length: n }, (_, i) => `t${i % 10}`);

const scheduler = new RollupScheduler<(typeof messages)[number]>({
  maxTrackedStreamsPerChannel: perChannel,
  maxHeldBytes: Number.MAX_SAFE_INTEGER,
});
const windows = [windowMs];
const before = settledHeap();
for (let i = 0; i < n; i++) {
  const key = {
    appId: 'app-id',
    channel: channels[Math.floor(i / perChannel)] as string,
    messageSerial: serials[i] as string,
  };
  const input = {
    action: 'append' as const,
    fragment: fragments[i] as string,
    message: messages[i] as (typeof messages)[number],
  };
  // The first append is delivered at once and starts tracking; the second, before the deadline, is held.
  scheduler.offer(key, input, windows, 0);
  scheduler.offer({ ...key }, input, windows, 1);
}
const after = settledHeap();
const stats = scheduler.stats();
// Used after the measurement, so the caller-owned arrays stay reachable through it.
const owned = channels.length + serials.length + messages.length + fragments.length;
if (stats.activeStreams !== n || stats.pendingWindows !== n || owned < 3 * n) {
  process.stderr.write(`expected ${n} active streams holding one append, got ${JSON.stringify(stats)}\n`);
  process.exit(1);
}
const result: MemoryResult = {
  streams: n,
  streamsPerChannel: perChannel,
  windowMs,
  heldWindows: stats.pendingWindows,
  heapDeltaBytes: after - before,
  bytesPerStream: (after - before) / n,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
