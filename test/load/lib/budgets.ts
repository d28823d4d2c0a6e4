// Budget checks of `make bench`: each benchmark report against its entry in budgets.json. Pure:
// a check returns the misses as sentences (empty when the report is within budget).
import type { FanoutReport } from '../fanout/bench.ts';
import type { IngressReport } from '../ingress/bench.ts';
import type { RollupReport } from '../rollup/bench.ts';

export interface FanoutBudget {
  minEfficiencyVsNaive: number;
  maxLastSubscriberP99Ms: number;
  maxLostDeliveries: number;
}

export interface RollupBudget {
  maxTranscriptMismatches: number;
  maxIncompleteStreams: number;
  maxFramesBoundViolations: number;
  maxFailedAppends: number;
  maxFlushLatenessP999Ms: number;
  maxMemoryBytesPerStream: number;
}

export interface IngressBudget {
  maxFailedAppends: number;
}

export interface ClusterBudget {
  maxAddedP99Ms: number;
  maxLostDeliveries: number;
}

export interface Budgets {
  fanout: FanoutBudget;
  rollup: RollupBudget;
  ingress: IngressBudget;
  cluster: ClusterBudget;
}

/** `!(value <= max)` so that NaN (nothing measured) is a miss, not a pass. */
const over = (value: number, max: number): boolean => !(value <= max);

export function checkFanout(report: FanoutReport, budget: FanoutBudget): string[] {
  const failures: string[] = [];
  const ours = report.results.find((r) => r.target === 'aitransport');
  if (!ours) return ['no aitransport result'];
  if (!(report.efficiencyVsNaive >= budget.minEfficiencyVsNaive)) {
    failures.push(`efficiency ${report.efficiencyVsNaive}x < ${budget.minEfficiencyVsNaive}x the naive floor`);
  }
  if (over(ours.lastSubscriberLatencyMs.p99, budget.maxLastSubscriberP99Ms)) {
    failures.push(
      `publish→last-subscriber p99 ${ours.lastSubscriberLatencyMs.p99} ms > ${budget.maxLastSubscriberP99Ms} ms`,
    );
  }
  if (over(ours.lostDeliveries, budget.maxLostDeliveries)) failures.push(`${ours.lostDeliveries} deliveries lost`);
  if (ours.failedPublishes > 0) failures.push(`${ours.failedPublishes} publishes failed`);
  return failures;
}

export function checkRollup(report: RollupReport, budget: RollupBudget): string[] {
  const failures: string[] = [];
  if (report.phases.length === 0) failures.push('no rollup phase ran');
  for (const ph of report.phases) {
    const w = `W=${ph.windowMs}`;
    if (over(ph.transcriptMismatches, budget.maxTranscriptMismatches)) {
      failures.push(`${w}: ${ph.transcriptMismatches} transcript mismatches (subscriber text ≠ producer text)`);
    }
    if (over(ph.incomplete, budget.maxIncompleteStreams)) {
      failures.push(`${w}: ${ph.incomplete} subscriber streams never got their terminal append`);
    }
    if (over(ph.framesBoundViolations, budget.maxFramesBoundViolations)) {
      const bound = ph.windowMs > 0 ? `over ${ph.framesPerSecondBound} frames/s` : 'not one frame per append';
      failures.push(`${w}: ${ph.framesBoundViolations} subscriber streams ${bound}`);
    }
    if (over(ph.failedAppends, budget.maxFailedAppends)) failures.push(`${w}: ${ph.failedAppends} appends failed`);
    // Deadline flushes exist only with W > 0.
    if (ph.windowMs > 0) {
      const p999 = ph.flushLatenessMs?.p999 ?? Number.NaN;
      if (over(p999, budget.maxFlushLatenessP999Ms)) {
        failures.push(`${w}: flush lateness p99.9 ${p999} ms > ${budget.maxFlushLatenessP999Ms} ms`);
      }
    }
  }
  if (over(report.memory.bytesPerStream, budget.maxMemoryBytesPerStream)) {
    failures.push(
      `rollup memory ${report.memory.bytesPerStream} bytes per active stream > ${budget.maxMemoryBytesPerStream}`,
    );
  }
  return failures;
}

export function checkIngress(report: IngressReport, budget: IngressBudget): string[] {
  const failures: string[] = [];
  if (report.results.length === 0) failures.push('no ingress path ran');
  for (const r of report.results) {
    if (over(r.failed, budget.maxFailedAppends)) failures.push(`${r.path}: ${r.failed} appends failed`);
    if (!(r.appends > 0)) failures.push(`${r.path}: no append applied`);
  }
  return failures;
}

/** B7: the latency crossing nodes adds (remote − local subscribers, p99), and nothing lost. */
export function checkCluster(
  report: { appends: number; lostDeliveries: number; addedMs: { p99: number } },
  budget: ClusterBudget,
): string[] {
  const failures: string[] = [];
  if (!(report.appends > 0)) failures.push('no append was measured');
  if (over(report.lostDeliveries, budget.maxLostDeliveries)) failures.push(`${report.lostDeliveries} deliveries lost`);
  if (over(report.addedMs.p99, budget.maxAddedP99Ms)) {
    failures.push(`added cross-node p99 ${report.addedMs.p99} ms > ${budget.maxAddedP99Ms} ms`);
  }
  return failures;
}
