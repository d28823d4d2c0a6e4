import { describe, expect, it } from 'vitest';
import type { FanoutReport, TargetResult } from '../fanout/bench.ts';
import type { IngressReport, IngressResult } from '../ingress/bench.ts';
import type { RollupPhase, RollupReport } from '../rollup/bench.ts';
import { checkCluster, checkFanout, checkIngress, checkRollup, type RollupBudget } from './budgets.ts';
import { summarize } from './stats.ts';

const latency = (p99: number) => ({ ...summarize([1]), p99 });

function target(name: string, o: Partial<TargetResult> = {}): TargetResult {
  return {
    target: name,
    round: 1,
    published: 10,
    failedPublishes: 0,
    expectedDeliveries: 100,
    deliveries: 100,
    lostDeliveries: 0,
    framesPerSecond: 100,
    serverCpuMs: 10,
    serverUserCpuMs: 5,
    serverSysCpuMs: 5,
    framesPerCpuSecond: 10_000,
    cpuMsPer1kFrames: 100,
    userUsPerFrame: 50,
    sysUsPerFrame: 50,
    serverRssBytes: 0,
    latencyMs: latency(1),
    lastSubscriberLatencyMs: latency(1),
    keptUp: true,
    ...o,
  };
}

const fanoutReport = (efficiency: number, ours: Partial<TargetResult> = {}): FanoutReport =>
  ({
    bench: 'fanout',
    params: {} as FanoutReport['params'],
    results: [target('naive-ws'), target('aitransport', ours)],
    rounds: [],
    efficiencyVsNaive: efficiency,
    ceilingVsNaive: 1.5,
  }) as FanoutReport;

const FANOUT = { minEfficiencyVsNaive: 2.5, maxLastSubscriberP99Ms: 5, maxLostDeliveries: 0 };

describe('fanout budget', () => {
  it('passes within budget and names every miss', () => {
    expect(checkFanout(fanoutReport(3), FANOUT)).toEqual([]);
    const misses = checkFanout(
      fanoutReport(1.1, { lastSubscriberLatencyMs: latency(30), lostDeliveries: 2, failedPublishes: 1 }),
      FANOUT,
    );
    expect(misses).toEqual([
      'efficiency 1.1x < 2.5x the naive floor',
      'publish→last-subscriber p99 30 ms > 5 ms',
      '2 deliveries lost',
      '1 publishes failed',
    ]);
  });

  it('treats a missing measurement as a miss', () => {
    expect(checkFanout(fanoutReport(Number.NaN), FANOUT)).toHaveLength(1);
    expect(checkFanout({ ...fanoutReport(3), results: [target('naive-ws')] }, FANOUT)).toEqual([
      'no aitransport result',
    ]);
  });
});

const ROLLUP: RollupBudget = {
  maxTranscriptMismatches: 0,
  maxIncompleteStreams: 0,
  maxFramesBoundViolations: 0,
  maxFailedAppends: 0,
  maxFlushLatenessP999Ms: 5,
  maxMemoryBytesPerStream: 2048,
};

function phase(windowMs: number, o: Partial<RollupPhase> = {}): RollupPhase {
  return {
    windowMs,
    framesPerSecondBound: windowMs > 0 ? 1000 / windowMs + 2 : null,
    transcriptMismatches: 0,
    framesBoundViolations: 0,
    incomplete: 0,
    framesPerStreamPerSecond: { mean: 20, max: 21 },
    maxExcessOverLifetimeBound: -1,
    appendsSent: 100,
    failedAppends: 0,
    subscribers: 3,
    framesSent: 100,
    appendsReceived: 100,
    appendsDelivered: 50,
    rollupRatio: 2,
    newestTokenLatencyMs: latency(1),
    oldestTokenLatencyMs: latency(1),
    flushLatenessMs:
      windowMs > 0
        ? {
            count: 10,
            p99: 2,
            p999: 3,
            over5ms: 0,
            buckets: [
              { le: '5', count: 10 },
              { le: '+Inf', count: 10 },
            ],
          }
        : null,
    eventLoopLagMs: { p50: 0.1, p99: 2, max: 5 },
    serverCpuMs: 1,
    serverUserCpuMs: 1,
    serverSysCpuMs: 0,
    cpuMsPer1kAppends: 10,
    unexpectedCloses: 0,
    errorFrames: 0,
    reducerCounts: {},
    ...o,
  };
}

const rollupReport = (phases: RollupPhase[], bytesPerStream = 800): RollupReport => ({
  bench: 'rollup',
  params: {} as RollupReport['params'],
  phases,
  memory: { streams: 10, streamsPerChannel: 1, windowMs: 40, heldWindows: 10, heapDeltaBytes: 0, bytesPerStream },
});

describe('rollup budget', () => {
  it('passes within budget; W = 0 has no flush lateness to judge', () => {
    expect(checkRollup(rollupReport([phase(0), phase(40)]), ROLLUP)).toEqual([]);
  });

  it('names every miss with its phase', () => {
    const misses = checkRollup(
      rollupReport(
        [
          phase(0, { transcriptMismatches: 2, framesBoundViolations: 1 }),
          phase(40, {
            incomplete: 1,
            failedAppends: 3,
            flushLatenessMs: { count: 10, p99: 8, p999: 9.5, over5ms: 2, buckets: [] },
          }),
        ],
        2100,
      ),
      ROLLUP,
    );
    expect(misses).toEqual([
      'W=0: 2 transcript mismatches (subscriber text ≠ producer text)',
      'W=0: 1 subscriber streams not one frame per append',
      'W=40: 1 subscriber streams never got their terminal append',
      'W=40: 3 appends failed',
      'W=40: flush lateness p99.9 9.5 ms > 5 ms',
      'rollup memory 2100 bytes per active stream > 2048',
    ]);
  });

  it('misses when a W > 0 phase measured no deadline flush, or nothing ran', () => {
    expect(checkRollup(rollupReport([phase(40, { flushLatenessMs: null })]), ROLLUP)).toEqual([
      'W=40: flush lateness p99.9 NaN ms > 5 ms',
    ]);
    expect(checkRollup(rollupReport([]), ROLLUP)).toEqual(['no rollup phase ran']);
  });
});

describe('ingress budget', () => {
  const result = (o: Partial<IngressResult>): IngressResult => ({
    path: 'batch',
    appends: 100,
    failed: 0,
    wallSeconds: 1,
    appendsPerSecond: 100,
    serverCpuMs: 10,
    serverUserCpuMs: 10,
    serverSysCpuMs: 0,
    appendsPerCpuSecond: 10_000,
    cpuMsPer1kAppends: 100,
    serverCoresUsed: 0.01,
    ...o,
  });
  const report = (results: IngressResult[]): IngressReport => ({
    bench: 'ingress',
    params: {} as IngressReport['params'],
    results,
  });

  it('needs every append applied on every path', () => {
    expect(checkIngress(report([result({}), result({ path: 'ws' })]), { maxFailedAppends: 0 })).toEqual([]);
    expect(
      checkIngress(report([result({ path: 'ws', failed: 4 }), result({ appends: 0 })]), { maxFailedAppends: 0 }),
    ).toEqual(['ws: 4 appends failed', 'batch: no append applied']);
  });
});

describe('cluster budget', () => {
  const budget = { maxAddedP99Ms: 3, maxLostDeliveries: 0 };
  it('passes within budget and names every miss', () => {
    expect(checkCluster({ appends: 10, lostDeliveries: 0, addedMs: { p99: 1.2 } }, budget)).toEqual([]);
    expect(checkCluster({ appends: 10, lostDeliveries: 2, addedMs: { p99: 4 } }, budget)).toEqual([
      '2 deliveries lost',
      'added cross-node p99 4 ms > 3 ms',
    ]);
  });

  it('treats nothing measured as a miss', () => {
    expect(checkCluster({ appends: 0, lostDeliveries: 0, addedMs: { p99: Number.NaN } }, budget)).toEqual([
      'no append was measured',
      'added cross-node p99 NaN ms > 3 ms',
    ]);
  });
});
