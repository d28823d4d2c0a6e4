// `make bench`: runs the benchmarks (all, or those named), writes one JSON report per run under
// test/load/reports/, and compares each with its committed budget (budgets.json).
// Exit code 1 when a budget is missed (each miss is printed), 2 on bad arguments.
//
//   node test/load/run.ts                      # fanout, rollup, ingress, cluster
//   node test/load/run.ts rollup               # one benchmark
//   node test/load/run.ts rollup --durationSeconds=5
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClusterReport, runClusterBench } from './cluster/bench.ts';
import { type FanoutReport, runFanoutBench } from './fanout/bench.ts';
import { type IngressReport, runIngressBench } from './ingress/bench.ts';
import { type Overrides, parseBenchArgs } from './lib/args.ts';
import { type Budgets, checkCluster, checkFanout, checkIngress, checkRollup } from './lib/budgets.ts';
import { type RollupReport, runRollupBench } from './rollup/bench.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const budgets = JSON.parse(readFileSync(join(here, 'budgets.json'), 'utf8')) as Budgets;

interface Benchmark<R> {
  run(overrides: Overrides): Promise<R>;
  check(report: R): string[];
  summary(report: R): string[];
}

const ms = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : `${v} ms`);

const fanout: Benchmark<FanoutReport> = {
  run: (o) => runFanoutBench(o),
  check: (r) => checkFanout(r, budgets.fanout),
  summary: (r) => [
    ...r.results.map(
      (t) =>
        `${t.target.padEnd(12)} frames/s=${t.framesPerSecond} cpu-ms/1k-frames=${t.cpuMsPer1kFrames} ` +
        `(user ${t.userUsPerFrame} + sys ${t.sysUsPerFrame} µs/frame) last-subscriber p50/p99=` +
        `${t.lastSubscriberLatencyMs.p50}/${t.lastSubscriberLatencyMs.p99} ms lost=${t.lostDeliveries}` +
        (t.serverBroadcastLatencyMs
          ? ` server broadcast p50/p99=${t.serverBroadcastLatencyMs.p50}/${t.serverBroadcastLatencyMs.p99} ms`
          : ''),
    ),
    `efficiency vs naive: ${r.efficiencyVsNaive}x (the prebuilt write floor reaches ${r.ceilingVsNaive}x)`,
    ...(r.results.every((t) => t.keptUp)
      ? []
      : ['warning: a target fell behind in every round (machine overloaded): its CPU per frame is not comparable']),
  ],
};

const rollup: Benchmark<RollupReport> = {
  run: (o) => runRollupBench(o),
  check: (r) => checkRollup(r, budgets.rollup),
  summary: (r) => [
    ...r.phases.map(
      (ph) =>
        `W=${String(ph.windowMs).padEnd(3)} mismatches=${ph.transcriptMismatches} frames/stream/s=` +
        `${ph.framesPerStreamPerSecond.mean} (max ${ph.framesPerStreamPerSecond.max}, bound ${ph.framesPerSecondBound ?? '1 per append'}) ` +
        `newest-token p50/p99=${ph.newestTokenLatencyMs.p50}/${ph.newestTokenLatencyMs.p99} ms ` +
        `flush-lateness p99.9=${ms(ph.flushLatenessMs?.p999)} ratio=${ph.rollupRatio} cpu-ms/1k-appends=${ph.cpuMsPer1kAppends}`,
    ),
    `rollup memory: ${r.memory.bytesPerStream} bytes per active stream (${r.memory.streams} streams)`,
  ],
};

const ingress: Benchmark<IngressReport> = {
  run: (o) => runIngressBench(o),
  check: (r) => checkIngress(r, budgets.ingress),
  summary: (r) =>
    r.results.map(
      (x) =>
        `${x.path.padEnd(7)} appends/s=${x.appendsPerSecond} appends per CPU-second=${x.appendsPerCpuSecond} ` +
        `cpu-ms/1k=${x.cpuMsPer1kAppends} failed=${x.failed}`,
    ),
};

const cluster: Benchmark<ClusterReport> = {
  run: (o) => runClusterBench(o),
  check: (r) => checkCluster(r, budgets.cluster),
  summary: (r) => [
    `local p50/p99=${r.localLatencyMs.p50}/${r.localLatencyMs.p99} ms remote p50/p99=${r.remoteLatencyMs.p50}/${r.remoteLatencyMs.p99} ms`,
    `added by crossing nodes p50/p99=${r.addedMs.p50}/${r.addedMs.p99} ms (redis pub/sub floor p99 ${r.redisFloorMs.p99} ms) lost=${r.lostDeliveries}`,
  ],
};

const BENCHMARKS = { fanout, rollup, ingress, cluster } as const;
type Name = keyof typeof BENCHMARKS;

async function runOne<R>(name: Name, bench: Benchmark<R>, overrides: Overrides, outDir: string): Promise<string[]> {
  console.log(`— ${name}`);
  // The machine is shared: the load around a run says how far its latencies can be trusted.
  const loadBefore = loadavg()[0] as number;
  const report = await bench.run(overrides);
  const machine = { cpus: cpus().length, loadAverage1mBefore: loadBefore, loadAverage1mAfter: loadavg()[0] };
  const failures = bench.check(report);
  const file = join(outDir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ ...report, machine, budget: budgets[name], failures }, null, 2)}\n`);
  for (const line of bench.summary(report)) console.log(`  ${line}`);
  console.log(
    `  load average ${machine.loadAverage1mBefore.toFixed(2)} → ${machine.loadAverage1mAfter?.toFixed(2)} on ${machine.cpus} CPUs → ${file}`,
  );
  return failures.map((f) => `${name}: ${f}`);
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), Object.keys(BENCHMARKS) as Name[]);
  if ('error' in args) {
    console.error(args.error);
    process.exit(2);
  }
  const outDir = join(here, 'reports');
  mkdirSync(outDir, { recursive: true });
  const failures: string[] = [];
  for (const name of args.names) {
    failures.push(...(await runOne(name, BENCHMARKS[name] as Benchmark<unknown>, args.overrides, outDir)));
  }
  if (failures.length) {
    console.error(`budget missed:\n  - ${failures.join('\n  - ')}`);
    process.exit(1);
  }
  console.log('every budget met');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
