// `make bench`: runs the benchmarks, writes one JSON report per run under
// test/load/reports/, and compares each with its committed budget (budgets.json).
// Exit code 1 when a budget is missed; the report says which.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FanoutReport, runFanoutBench } from './fanout/bench.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const budgets = JSON.parse(readFileSync(join(here, 'budgets.json'), 'utf8')) as {
  fanout: { minEfficiencyVsNaive: number; maxLastSubscriberP99Ms: number; maxLostDeliveries: number };
};

export function checkFanout(report: FanoutReport, budget = budgets.fanout): string[] {
  const failures: string[] = [];
  const ours = report.results.find((r) => r.target === 'aitransport');
  if (!ours) return ['no aitransport result'];
  if (!(report.efficiencyVsNaive >= budget.minEfficiencyVsNaive)) {
    failures.push(`efficiency ${report.efficiencyVsNaive}x < ${budget.minEfficiencyVsNaive}x the naive floor`);
  }
  if (!(ours.lastSubscriberLatencyMs.p99 <= budget.maxLastSubscriberP99Ms)) {
    failures.push(
      `publish→last-subscriber p99 ${ours.lastSubscriberLatencyMs.p99} ms > ${budget.maxLastSubscriberP99Ms} ms`,
    );
  }
  if (ours.lostDeliveries > budget.maxLostDeliveries) failures.push(`${ours.lostDeliveries} deliveries lost`);
  return failures;
}

async function main(): Promise<void> {
  const outDir = join(here, 'reports');
  mkdirSync(outDir, { recursive: true });
  const report = await runFanoutBench();
  const failures = checkFanout(report);
  const file = join(outDir, `fanout-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ ...report, budget: budgets.fanout, failures }, null, 2)}\n`);
  for (const r of report.results) {
    console.log(
      `${r.target.padEnd(12)} frames/s=${r.framesPerSecond} cpu-ms/1k-frames=${r.cpuMsPer1kFrames} ` +
        `p50/p99 last-subscriber=${r.lastSubscriberLatencyMs.p50}/${r.lastSubscriberLatencyMs.p99} ms lost=${r.lostDeliveries}`,
    );
  }
  console.log(`efficiency vs naive: ${report.efficiencyVsNaive}x  → ${file}`);
  if (failures.length) {
    console.error(`budget missed:\n  - ${failures.join('\n  - ')}`);
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
