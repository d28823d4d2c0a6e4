import { describe, expect, it } from 'vitest';
import {
  activeStreamsPerNode,
  appendIngressRate,
  connectionsPerNode,
  defaultRetentionMultiplier,
  fanoutEgressAfterRollup,
  fanoutEgressBeforeRollup,
  fmt,
  framesPerSubscriberPerStream,
  historyBytesPerResponse,
  historyWriteRate,
  meanSubscribers,
  nodeStreamShare,
  nodesForConnections,
  plan,
  responsesPerSecond,
  rollupMemoryCeiling,
  transportIngressPerNode,
} from './model.ts';
import { type ProfileInput, validateProfile } from './profile.ts';

// Every expected value below is computed by hand (the comment shows how), not by the code.

describe('the formulas', () => {
  it.each([
    // connections, nodes, per node
    [1_000_000, 63, 15_873.015_873],
    [300, 1, 300],
    [2000, 8, 250],
  ])('connections per node: %d over %d nodes = %d', (c, n, want) => {
    expect(connectionsPerNode(c, n)).toBeCloseTo(want, 5);
  });

  it.each([
    // connections, budget, headroom → nodes: ceil(c / (budget × (1 − h)))
    [1_000_000, 20_000, 0.2, 63], // 1e6 / 16 000 = 62.5
    [16_000, 20_000, 0.2, 1], // exactly at the limit
    [16_001, 20_000, 0.2, 2],
    [200_000, 20_000, 0, 10],
    [2000, 1000, 0.2, 3], // 2000 / 800 = 2.5
  ])('nodes for %d connections at %d per node, headroom %d: %d', (c, b, h, want) => {
    expect(nodesForConnections(c, b, h)).toBe(want);
  });

  it('mean subscribers of a uniform range', () => {
    expect(meanSubscribers(1, 5)).toBe(3);
    expect(meanSubscribers(1, 3)).toBe(2);
    expect(meanSubscribers(4, 4)).toBe(4);
  });

  it.each([
    // nodes, min, max → q = mean over k of 1 − (1 − 1/N)^k
    [2, 1, 1, 0.5], // one device: 1/N
    [10, 1, 1, 0.1],
    [2, 1, 3, (0.5 + 0.75 + 0.875) / 3], // 0.708 333
    [4, 2, 2, 7 / 16], // 1 − (3/4)²
    [1, 1, 5, 1], // one node holds every stream
  ])('a node holds share q of the streams: N=%d, k in [%d, %d] → %d', (n, min, max, want) => {
    expect(nodeStreamShare(n, min, max)).toBeCloseTo(want, 9);
  });

  it('active streams per node: mean S·q and p95 = mean + 1.645·√(mean·(1 − q))', () => {
    // S = 100, N = 4, k = 2: q = 7/16, mean = 43.75, sd = √(43.75 × 9/16) = 4.960 783, p95 = 51.910 488
    const r = activeStreamsPerNode(100, 4, 2, 2);
    expect(r.share).toBeCloseTo(0.4375, 9);
    expect(r.mean).toBeCloseTo(43.75, 9);
    expect(r.p95).toBeCloseTo(51.910_488, 5);
    // S = 50 000, N = 100, k = 1: mean 500, sd = √(500 × 0.99) = 22.248 595, p95 = 536.598 939
    const big = activeStreamsPerNode(50_000, 100, 1, 1);
    expect(big.mean).toBeCloseTo(500, 9);
    expect(big.p95).toBeCloseTo(536.598_939, 5);
    // One node: every stream, no imbalance.
    expect(activeStreamsPerNode(20, 1, 1, 3)).toEqual({ share: 1, mean: 20, p95: 20 });
  });

  it('append ingress rate = active streams × tokens per second', () => {
    expect(appendIngressRate(50_000, 100)).toBe(5_000_000);
    expect(appendIngressRate(20, 20)).toBe(400);
  });

  it.each([
    // tokens/s, W → append frames per subscriber and stream per second
    [100, 0, 100], // W = 0: every append
    [100, 40, 25], // 1000 / 40
    [100, 500, 2],
    [30, 20, 30], // 1000 / 20 = 50 > 30 tokens: every append
    [10, 40, 10],
  ])('frames per subscriber and stream: %d tokens/s at W=%d → %d', (r, w, want) => {
    expect(framesPerSubscriberPerStream(r, w)).toBe(want);
  });

  it('fanout egress before and after rollup', () => {
    expect(fanoutEgressBeforeRollup(5_000_000, 3)).toBe(15_000_000);
    // 50 000 streams × 3 subscribers × 25 frames/s
    expect(fanoutEgressAfterRollup(50_000, 3, 100, 40)).toBe(3_750_000);
    expect(fanoutEgressAfterRollup(50_000, 3, 100, 0)).toBe(15_000_000);
    expect(fanoutEgressAfterRollup(10, 2, 5, 100)).toBe(100); // 5 tokens/s < 10 frames/s
  });

  it('rollup memory ceiling = streams per node (rounded up) × bytes per stream', () => {
    expect(rollupMemoryCeiling(2408.2, 4096)).toBe(2409 * 4096); // 9 867 264
    expect(rollupMemoryCeiling(20, 4096)).toBe(81_920);
  });

  it('history bytes per response and the default retention multiplier', () => {
    expect(defaultRetentionMultiplier(4, 256)).toBe(66); // 2 + 256 / 4
    expect(defaultRetentionMultiplier(8, 0)).toBe(2);
    expect(historyBytesPerResponse(500, 4, 66)).toBe(132_000);
    expect(historyBytesPerResponse(100, 3, 1.5)).toBe(450);
  });

  it('responses per second and the history store write rate', () => {
    expect(responsesPerSecond(50_000, 100, 500)).toBe(10_000); // each stream finishes one every 5 s
    expect(historyWriteRate(5_000_000, 10_000, 5)).toBe(5_050_000);
    expect(historyWriteRate(400, 2, 0)).toBe(400);
  });

  it('transport ingress per node: the other nodes commits, of every channel or of the streams held', () => {
    expect(transportIngressPerNode(1000, 4, 'all-channels', 0.4375)).toBe(750); // 1000 × 3/4
    expect(transportIngressPerNode(1000, 4, 'subscribed-channels', 0.4375)).toBe(328.125); // × 7/16
    expect(transportIngressPerNode(1000, 1, 'all-channels', 1)).toBe(0); // one node: nothing to receive
  });
});

// A profile whose plan is computed by hand below: budgets with round numbers, one device per
// session, W = 0.
//   ingress = 100 × 50 = 5000 appends/s; responses = 5000 / 500 = 10/s; commits = 5000 + 10 × 5 = 5050/s
//   egress = 100 × 1 × 50 + 10 × 5 × 1 = 5050 frames/s
//   cpu(N) = 5000/(1000 N) + 5050/(10 000 N) + 5050 (N − 1)/(100 000 N) = 5.4545/N + 0.0505
//   cpu ≤ 0.8 ⇔ N ≥ 7.28: N = 8 (cpu 0.7323); N = 7 gives 0.8297. Connections: ceil(2000 / 800) = 3.
const HAND: ProfileInput = {
  name: 'hand',
  durationSeconds: 100,
  connections: 2000,
  activeStreams: 100,
  tokensPerSecond: 50,
  subscribersPerSession: { min: 1, max: 1 },
  rollupWindowMs: 0,
  response: { meanTokens: 500, meanTokenBytes: 4, controlWrites: 5 },
  budgets: {
    connectionsPerNode: 1000,
    appendsPerSecondPerCore: 1000,
    egressFramesPerSecondPerCore: 10_000,
    transportMessagesPerSecondPerCore: 100_000,
    coresPerNode: 1,
    versionOverheadBytes: 256,
    minNodes: 1,
  },
};

function profile(over: Partial<ProfileInput> = {}) {
  const r = validateProfile({ ...HAND, ...over });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.profile;
}

const dim = (p: ReturnType<typeof plan>, id: string) => {
  const d = p.dimensions.find((x) => x.id === id);
  if (!d) throw new Error(`no dimension ${id}`);
  return d;
};

describe('plan()', () => {
  it('finds the smallest node count whose CPU fits, and evaluates every dimension there', () => {
    const p = plan(profile());
    expect(p.feasible).toBe(true);
    expect(p.nodes).toBe(8);
    expect(p.nodesFor).toEqual({ minNodes: 1, connections: 3, cpu: 8 });
    expect(dim(p, 'cpu_per_node').value).toBeCloseTo(5.4545 / 8 + 0.0505, 9);
    expect(dim(p, 'cpu_per_node').limit).toBeCloseTo(0.8, 9);
    expect(dim(p, 'connections_per_node')).toMatchObject({ value: 250, limit: 800, ok: true });
    expect(dim(p, 'append_ingress_rate').value).toBe(5000);
    expect(dim(p, 'append_ingress_per_node').value).toBe(625);
    expect(dim(p, 'fanout_egress_before_rollup').value).toBe(5000);
    expect(dim(p, 'fanout_egress_after_rollup').value).toBe(5000);
    expect(dim(p, 'control_egress').value).toBe(50);
    expect(dim(p, 'egress_per_node').value).toBeCloseTo(5050 / 8, 9);
    expect(dim(p, 'transport_ingress_per_node').value).toBeCloseTo((5050 * 7) / 8, 9);
    expect(dim(p, 'history_write_rate').value).toBe(5050);
    // S = 100, q = 1/8: mean 12.5, p95 = 12.5 + 1.645 × √(12.5 × 7/8) = 12.5 + 1.645 × 3.307 189 = 17.940 326
    expect(dim(p, 'active_streams_per_node').value).toBe(12.5);
    expect(dim(p, 'active_streams_per_node_p95').value).toBeCloseTo(17.940_326, 5);
    expect(dim(p, 'rollup_memory_ceiling').value).toBe(18 * 4096);
    // 500 tokens × 4 bytes × 66; growth 10 responses/s × 132 000 B; over 100 s
    expect(dim(p, 'history_bytes_per_response').value).toBe(132_000);
    expect(dim(p, 'history_growth').value).toBe(1_320_000);
    expect(dim(p, 'history_over_run').value).toBe(132_000_000);
    expect(p.suggested).toEqual({
      'spec.replicas': 8,
      'spec.config.websocket.maxConnections': 1000,
      'spec.config.rollup.defaultWindowMs': 0,
    });
  });

  it('takes the connections need when it is the larger one, and minNodes when that is', () => {
    expect(plan(profile({ connections: 20_000 })).nodes).toBe(25); // 20 000 / 800
    const min = plan(profile({ budgets: { ...HAND.budgets, minNodes: 12 } }));
    expect(min.nodes).toBe(12);
    expect(min.feasible).toBe(true);
  });

  it('applies rollup: W = 40 caps a subscriber at 25 frames/s per stream', () => {
    const p = plan(profile({ rollupWindowMs: 40 }));
    expect(dim(p, 'fanout_egress_after_rollup').value).toBe(2500); // 100 × 1 × 25
    expect(p.derived.framesPerSubscriberPerStream).toBe(25);
  });

  it('says no node count fits when every node must receive every commit, and what would', () => {
    // transport budget 5000: Y = 5050 / 5000 = 1.01 cores per node as N grows, over the 0.8 limit.
    const budgets = { ...HAND.budgets, transportMessagesPerSecondPerCore: 5000 };
    const all = plan(profile({ budgets }));
    expect(all.feasible).toBe(false);
    expect(all.nodesFor.cpu).toBeNull();
    expect(all.problems).toEqual([
      "no node count fits: every node receives every channel's commits over the horizontal transport, which " +
        'alone approaches 5 050 messages/s (1.01 cores) per node as nodes are added, over the limit of 0.8 cores; ' +
        'a transport that sends each node only the channels it has subscribers on (fleet.transport: ' +
        'subscribed-channels) is needed',
    ]);
    // Only subscribed channels: cpu(N) = 5.505/N + 1.01 (N − 1)/N²; N = 8: 0.7986, N = 7: 0.9101.
    const sub = plan(profile({ budgets, fleet: { transport: 'subscribed-channels' } }));
    expect(sub.feasible).toBe(true);
    expect(sub.nodes).toBe(8);
    expect(dim(sub, 'cpu_per_node').value).toBeCloseTo(5.505 / 8 + (1.01 * 7) / 64, 9);
  });

  it('evaluates a fixed fleet and names what it breaks', () => {
    // N = 4: cpu = 5.4545 / 4 + 0.0505 = 1.4141 cores
    const p = plan(profile({ fleet: { nodes: 4, transport: 'all-channels' } }));
    expect(p.computed).toBe(false);
    expect(p.nodes).toBe(4);
    expect(p.feasible).toBe(false);
    expect(p.problems).toEqual(['1.41 cores per node exceed 0.8']);
    expect(dim(p, 'cpu_per_node').ok).toBe(false);
    const crowded = plan(profile({ connections: 4000, fleet: { nodes: 4, transport: 'all-channels' } }));
    expect(crowded.problems).toContain('1 000 connections per node exceed 800');
    expect(plan(profile({ fleet: { nodes: 9, transport: 'all-channels' } })).feasible).toBe(true);
  });

  it('a single node receives nothing from the transport', () => {
    const p = plan(profile({ connections: 500, activeStreams: 10, fleet: { nodes: 1, transport: 'all-channels' } }));
    expect(dim(p, 'transport_ingress_per_node').value).toBe(0);
    // 500/1000 + 505/10 000 = 0.5505 cores
    expect(dim(p, 'cpu_per_node').value).toBeCloseTo(0.5505, 9);
    expect(p.feasible).toBe(true);
  });

  it('takes the retention multiplier from the profile, else from the version overhead', () => {
    expect(plan(profile({ retentionMultiplier: 3 })).derived.retentionMultiplier).toBe(3);
    const b = plan(profile({ budgets: { ...HAND.budgets, versionOverheadBytes: 0 } }));
    expect(b.derived.retentionMultiplier).toBe(2);
    expect(b.budgets.versionOverheadBytes.source).toBe('profile');
    expect(plan(profile({ budgets: {} })).budgets.egressFramesPerSecondPerCore.source).toMatch(/benchmarks\.md B1/);
  });
});

describe('fmt', () => {
  it('groups thousands and trims trailing zeros', () => {
    expect(fmt(5_050_000)).toBe('5 050 000');
    expect(fmt(0.7995, 2)).toBe('0.8');
    expect(fmt(1.4141, 2)).toBe('1.41');
    expect(fmt(-1234.5, 1)).toBe('-1 234.5');
    expect(fmt(999)).toBe('999');
  });
});
