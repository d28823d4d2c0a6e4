// The capacity model of OPERATIONS.md ("Capacity model"), as pure functions of a load profile:
// each formula is one exported function (unit-tested with hand-computed tables), and `plan()`
// evaluates them all for a node count, either the profile's or the smallest one that keeps every
// per-node budget under its headroom. No I/O, no clock: the CLI (cli/plan.ts) prints the result.
import { BUDGET_DEFAULTS, type BudgetName, type Profile } from './profile.ts';

/** z for the 95th percentile of a normal distribution. */
export const Z95 = 1.645;
/** Where the node-count search gives up: a plan past this is not a plan. */
export const MAX_NODES = 100_000;

// --- the formulas ---------------------------------------------------------------------------

/** Connections per node: target connections spread evenly over the nodes. */
export function connectionsPerNode(connections: number, nodes: number): number {
  return connections / nodes;
}

/** Nodes the connections need when each node may fill `budget × (1 − headroom)`. */
export function nodesForConnections(connections: number, budget: number, headroom: number): number {
  return Math.ceil(connections / (budget * (1 - headroom)));
}

/** Mean subscriber devices per session: uniform between min and max. */
export function meanSubscribers(min: number, max: number): number {
  return (min + max) / 2;
}

/**
 * The share of streams a given node holds (has at least one subscriber of), when each of a
 * session's k devices connects to one of `nodes` nodes at random (the client Service balances
 * connections, not sessions), k uniform in [min, max]: mean over k of 1 − (1 − 1/N)^k. With one
 * device per session this is 1/N, the plain active_streams / node_count of OPERATIONS.md.
 */
export function nodeStreamShare(nodes: number, min: number, max: number): number {
  let sum = 0;
  for (let k = min; k <= max; k++) sum += 1 - (1 - 1 / nodes) ** k;
  return sum / (max - min + 1);
}

/**
 * Active streams per node, mean and p95: a node's count is binomial(S, q) over the streams, so
 * the p95 shard-imbalance allowance is mean + 1.645·sd (normal approximation), sd = √(S·q·(1−q)).
 */
export function activeStreamsPerNode(
  activeStreams: number,
  nodes: number,
  min: number,
  max: number,
): { readonly share: number; readonly mean: number; readonly p95: number } {
  const share = nodeStreamShare(nodes, min, max);
  const mean = activeStreams * share;
  return { share, mean, p95: Math.min(activeStreams, mean + Z95 * Math.sqrt(mean * (1 - share))) };
}

/** Append ingress rate (cluster): every active stream appends tokensPerSecond. */
export function appendIngressRate(activeStreams: number, tokensPerSecond: number): number {
  return activeStreams * tokensPerSecond;
}

/**
 * Append frames one subscriber gets per second from one stream: every append at W = 0; at
 * window W at most 1000/W (decision 7), never more than the appends themselves.
 */
export function framesPerSubscriberPerStream(tokensPerSecond: number, windowMs: number): number {
  return windowMs === 0 ? tokensPerSecond : Math.min(tokensPerSecond, 1000 / windowMs);
}

/** Fanout egress rate before rollup (cluster, frames/s): ingress × mean subscribers. */
export function fanoutEgressBeforeRollup(ingressRate: number, subscribers: number): number {
  return ingressRate * subscribers;
}

/** Fanout egress rate after rollup (cluster, frames/s). */
export function fanoutEgressAfterRollup(
  activeStreams: number,
  subscribers: number,
  tokensPerSecond: number,
  windowMs: number,
): number {
  return activeStreams * subscribers * framesPerSubscriberPerStream(tokensPerSecond, windowMs);
}

/** Rollup memory ceiling of one node, in bytes (payload buffers excluded). */
export function rollupMemoryCeiling(streamsPerNode: number, bytesPerStream: number): number {
  return Math.ceil(streamsPerNode) * bytesPerStream;
}

/**
 * The default retention multiplier: the latest aggregate (1×) plus every append version, each
 * stored with its fragment (1×) and `overheadBytes` of serials and headers.
 */
export function defaultRetentionMultiplier(meanTokenBytes: number, overheadBytes: number): number {
  return 2 + overheadBytes / meanTokenBytes;
}

/** History bytes per response: mean tokens × mean token bytes × retention multiplier. */
export function historyBytesPerResponse(meanTokens: number, meanTokenBytes: number, multiplier: number): number {
  return meanTokens * meanTokenBytes * multiplier;
}

/** Responses started (and finished) per second in steady state. */
export function responsesPerSecond(activeStreams: number, tokensPerSecond: number, meanTokens: number): number {
  return (activeStreams * tokensPerSecond) / meanTokens;
}

/** History store write rate: appends plus the create/update/delete writes of each response. */
export function historyWriteRate(ingressRate: number, responses: number, controlWrites: number): number {
  return ingressRate + responses * controlWrites;
}

/**
 * Horizontal-transport messages one node receives per second: the commits of the other nodes,
 * for every channel (`all-channels`, what the data plane does today: every node subscribes to
 * every shard) or only for the streams it holds (`subscribed-channels`).
 */
export function transportIngressPerNode(
  commitRate: number,
  nodes: number,
  mode: Profile['fleet']['transport'],
  share: number,
): number {
  const others = (nodes - 1) / nodes;
  return commitRate * others * (mode === 'all-channels' ? 1 : share);
}

// --- the plan -------------------------------------------------------------------------------

export interface Budget {
  readonly value: number;
  readonly source: string;
}

export type Budgets = Readonly<Record<BudgetName, Budget>>;

export function resolveBudgets(profile: Profile): Budgets {
  const out = {} as Record<BudgetName, Budget>;
  for (const name of Object.keys(BUDGET_DEFAULTS) as BudgetName[]) {
    const given = profile.budgets[name];
    out[name] = given === undefined ? BUDGET_DEFAULTS[name] : { value: given, source: 'profile' };
  }
  return out;
}

export type Scope = 'cluster' | 'node' | 'response';

export interface Dimension {
  readonly id: string;
  readonly dimension: string;
  readonly formula: string;
  readonly value: number;
  readonly unit:
    | 'connections'
    | 'streams'
    | 'appends/s'
    | 'writes/s'
    | 'messages/s'
    | 'frames/s'
    | 'bytes'
    | 'bytes/s'
    | 'cores';
  readonly scope: Scope;
  /**
   * The per-node limit after headroom, for dimensions that have a budget. Ingress, egress and
   * transport share one CPU: each row's limit is what it could use alone, and `cpu_per_node`
   * (their sum in cores) is the check.
   */
  readonly limit?: number;
  /** Set on the checks: connections and CPU per node. */
  readonly ok?: boolean;
}

export interface Plan {
  readonly profile: string;
  readonly nodes: number;
  /** True when `nodes` was computed; false when the profile fixed it (fleet.nodes). */
  readonly computed: boolean;
  readonly feasible: boolean;
  /** What each constraint needs on its own (null: no node count meets it). */
  readonly nodesFor: { readonly minNodes: number; readonly connections: number; readonly cpu: number | null };
  /** Why the plan cannot be met, one sentence each. */
  readonly problems: readonly string[];
  readonly derived: {
    readonly meanSubscribers: number;
    readonly responsesPerSecond: number;
    readonly retentionMultiplier: number;
    readonly framesPerSubscriberPerStream: number;
  };
  readonly dimensions: readonly Dimension[];
  readonly budgets: Budgets;
  readonly headroom: number;
  readonly transport: Profile['fleet']['transport'];
  /** AITransportCluster settings that match the plan. */
  readonly suggested: {
    readonly 'spec.replicas': number;
    readonly 'spec.config.websocket.maxConnections': number;
    readonly 'spec.config.rollup.defaultWindowMs': number;
  };
}

interface Rates {
  readonly subscribers: number;
  readonly ingress: number;
  readonly responses: number;
  readonly commits: number;
  readonly egressBefore: number;
  readonly egressAppends: number;
  readonly egressControl: number;
  readonly multiplier: number;
}

function clusterRates(p: Profile, b: Budgets): Rates {
  const subscribers = meanSubscribers(p.subscribersPerSession.min, p.subscribersPerSession.max);
  const ingress = appendIngressRate(p.activeStreams, p.tokensPerSecond);
  const responses = responsesPerSecond(p.activeStreams, p.tokensPerSecond, p.response.meanTokens);
  return {
    subscribers,
    ingress,
    responses,
    commits: historyWriteRate(ingress, responses, p.response.controlWrites),
    egressBefore: fanoutEgressBeforeRollup(ingress, subscribers),
    egressAppends: fanoutEgressAfterRollup(p.activeStreams, subscribers, p.tokensPerSecond, p.rollupWindowMs),
    // Creates and run events reach every subscriber unchanged (rollup only coalesces appends).
    egressControl: responses * p.response.controlWrites * subscribers,
    multiplier:
      p.retentionMultiplier ?? defaultRetentionMultiplier(p.response.meanTokenBytes, b.versionOverheadBytes.value),
  };
}

interface NodeLoad {
  readonly streams: ReturnType<typeof activeStreamsPerNode>;
  readonly connections: number;
  readonly ingress: number;
  readonly egress: number;
  readonly transport: number;
  /** Core-seconds per second. */
  readonly cpu: number;
}

function nodeLoad(p: Profile, b: Budgets, r: Rates, nodes: number): NodeLoad {
  const streams = activeStreamsPerNode(
    p.activeStreams,
    nodes,
    p.subscribersPerSession.min,
    p.subscribersPerSession.max,
  );
  // Producers' requests and subscribers' sockets are balanced over the nodes.
  const ingress = r.ingress / nodes;
  const egress = (r.egressAppends + r.egressControl) / nodes;
  const transport = transportIngressPerNode(r.commits, nodes, p.fleet.transport, streams.share);
  const cpu =
    ingress / b.appendsPerSecondPerCore.value +
    egress / b.egressFramesPerSecondPerCore.value +
    transport / b.transportMessagesPerSecondPerCore.value;
  return { streams, connections: connectionsPerNode(p.connections, nodes), ingress, egress, transport, cpu };
}

/**
 * The fewest nodes (≥ `from`) whose CPU load fits `limit`, or null. The load is monotone in N
 * from N = 2 (per-node ingress and egress shrink as 1/N; transport grows towards the cluster
 * commit rate in all-channels mode, shrinks in subscribed-channels mode), so: N = 1 (no
 * transport) on its own, then an exponential probe and a binary search.
 */
function nodesForCpu(fits: (n: number) => boolean, from: number): number | null {
  if (from <= 1 && fits(1)) return 1;
  let lo = Math.max(2, from);
  if (fits(lo)) return lo;
  let hi = lo * 2;
  while (hi < MAX_NODES && !fits(hi)) {
    lo = hi;
    hi *= 2;
  }
  if (hi >= MAX_NODES) {
    hi = MAX_NODES;
    if (!fits(hi)) return null;
  }
  // fits(hi), !fits(lo)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The capacity plan of a validated profile. */
export function plan(p: Profile): Plan {
  const b = resolveBudgets(p);
  const r = clusterRates(p, b);
  const h = p.headroom;
  const cpuLimit = b.coresPerNode.value * (1 - h);
  const connLimit = b.connectionsPerNode.value * (1 - h);
  const fitsCpu = (n: number) => nodeLoad(p, b, r, n).cpu <= cpuLimit;

  const minNodes = b.minNodes.value;
  const forConnections = nodesForConnections(p.connections, b.connectionsPerNode.value, h);
  const forCpu = nodesForCpu(fitsCpu, 1);
  const required = forCpu === null ? null : Math.max(minNodes, forConnections, forCpu);
  // The CPU need is not monotone at N = 1 → 2 (a single node has no transport): re-check.
  const computedNodes =
    required === null ? null : fitsCpu(required) ? required : nodesForCpu(fitsCpu, Math.max(2, required));
  const nodes = p.fleet.nodes ?? computedNodes ?? Math.max(minNodes, forConnections);
  const load = nodeLoad(p, b, r, nodes);

  const problems: string[] = [];
  if (computedNodes === null) {
    // All-channels: as nodes are added, ingress and egress per node vanish and the transport
    // alone tends to the cluster commit rate; past the limit no node count fits.
    const transportAlone = r.commits / b.transportMessagesPerSecondPerCore.value;
    problems.push(
      p.fleet.transport === 'all-channels' && transportAlone >= cpuLimit
        ? `no node count fits: every node receives every channel's commits over the horizontal transport, which ` +
            `alone approaches ${fmt(r.commits)} messages/s (${fmt(transportAlone, 2)} cores) per node as nodes are ` +
            `added, over the limit of ${fmt(cpuLimit, 2)} cores; a transport that sends each node only the channels ` +
            `it has subscribers on (fleet.transport: subscribed-channels) is needed`
        : `no node count up to ${MAX_NODES} keeps the CPU load under ${fmt(cpuLimit, 2)} cores per node`,
    );
  }
  const connOk = load.connections <= connLimit;
  const cpuOk = load.cpu <= cpuLimit;
  if (p.fleet.nodes !== undefined) {
    if (!connOk) problems.push(`${fmt(load.connections)} connections per node exceed ${fmt(connLimit)}`);
    if (!cpuOk) problems.push(`${fmt(load.cpu, 2)} cores per node exceed ${fmt(cpuLimit, 2)}`);
    if (nodes < minNodes) problems.push(`${nodes} nodes are fewer than budgets.minNodes (${minNodes})`);
  }
  const nodeLimit = (name: BudgetName) => b[name].value * b.coresPerNode.value * (1 - h);
  const kib = (b.rollupBytesPerStream.value / 1024).toString();
  const bytesPerResponse = historyBytesPerResponse(p.response.meanTokens, p.response.meanTokenBytes, r.multiplier);
  const window = p.rollupWindowMs;
  const dimensions: Dimension[] = [
    {
      id: 'connections_per_node',
      dimension: 'connections per node',
      formula: `connections / nodes, ≤ connectionsPerNode × (1 − headroom)`,
      value: load.connections,
      unit: 'connections',
      scope: 'node',
      limit: connLimit,
      ok: connOk,
    },
    {
      id: 'active_streams_per_node',
      dimension: 'active streams per node (mean)',
      formula: 'active_streams × q, q = mean over k of 1 − (1 − 1/nodes)^k',
      value: load.streams.mean,
      unit: 'streams',
      scope: 'node',
    },
    {
      id: 'active_streams_per_node_p95',
      dimension: 'active streams per node (p95)',
      formula: 'mean + 1.645 × √(mean × (1 − q))',
      value: load.streams.p95,
      unit: 'streams',
      scope: 'node',
    },
    {
      id: 'append_ingress_rate',
      dimension: 'append ingress rate',
      formula: 'active_streams × tokens_per_second',
      value: r.ingress,
      unit: 'appends/s',
      scope: 'cluster',
    },
    {
      id: 'append_ingress_per_node',
      dimension: 'append ingress per node',
      formula: 'append_ingress_rate / nodes, ≤ appendsPerSecondPerCore × cores × (1 − headroom)',
      value: load.ingress,
      unit: 'appends/s',
      scope: 'node',
      limit: nodeLimit('appendsPerSecondPerCore'),
    },
    {
      id: 'fanout_egress_before_rollup',
      dimension: 'fanout egress before rollup',
      formula: 'append_ingress_rate × mean_subscribers',
      value: r.egressBefore,
      unit: 'frames/s',
      scope: 'cluster',
    },
    {
      id: 'fanout_egress_after_rollup',
      dimension: `fanout egress after rollup (W = ${window} ms)`,
      formula:
        window === 0
          ? 'active_streams × mean_subscribers × tokens_per_second (W = 0: every append)'
          : `active_streams × mean_subscribers × min(tokens_per_second, 1000 / W)`,
      value: r.egressAppends,
      unit: 'frames/s',
      scope: 'cluster',
    },
    {
      id: 'control_egress',
      dimension: 'control frames (creates, run events)',
      formula: 'responses_per_second × control_writes × mean_subscribers',
      value: r.egressControl,
      unit: 'frames/s',
      scope: 'cluster',
    },
    {
      id: 'egress_per_node',
      dimension: 'egress per node',
      formula:
        '(fanout after rollup + control frames) / nodes, ≤ egressFramesPerSecondPerCore × cores × (1 − headroom)',
      value: load.egress,
      unit: 'frames/s',
      scope: 'node',
      limit: nodeLimit('egressFramesPerSecondPerCore'),
    },
    {
      id: 'transport_ingress_per_node',
      dimension: `transport ingress per node (${p.fleet.transport})`,
      formula:
        p.fleet.transport === 'all-channels'
          ? 'history_write_rate × (nodes − 1) / nodes'
          : 'history_write_rate × q × (nodes − 1) / nodes',
      value: load.transport,
      unit: 'messages/s',
      scope: 'node',
      limit: nodeLimit('transportMessagesPerSecondPerCore'),
    },
    {
      id: 'cpu_per_node',
      dimension: 'CPU per node',
      formula:
        'ingress/appendsPerSecondPerCore + egress/egressFramesPerSecondPerCore + transport/transportMessagesPerSecondPerCore',
      value: load.cpu,
      unit: 'cores',
      scope: 'node',
      limit: cpuLimit,
      ok: cpuOk,
    },
    {
      id: 'rollup_memory_ceiling',
      dimension: 'rollup memory ceiling per node',
      formula: `active_streams_per_node (p95) × ${kib} KiB, excluding payload buffers`,
      value: rollupMemoryCeiling(load.streams.p95, b.rollupBytesPerStream.value),
      unit: 'bytes',
      scope: 'node',
    },
    {
      id: 'history_bytes_per_response',
      dimension: 'history bytes per response',
      formula: `mean_response_tokens × mean_token_bytes × retention_multiplier (${fmt(r.multiplier, 2)})`,
      value: bytesPerResponse,
      unit: 'bytes',
      scope: 'response',
    },
    {
      id: 'history_write_rate',
      dimension: 'history store write rate',
      formula: 'append_ingress_rate + responses_per_second × control_writes',
      value: r.commits,
      unit: 'writes/s',
      scope: 'cluster',
    },
    {
      id: 'history_growth',
      dimension: 'history store growth (before retention)',
      formula: 'responses_per_second × history_bytes_per_response',
      value: r.responses * bytesPerResponse,
      unit: 'bytes/s',
      scope: 'cluster',
    },
    {
      id: 'history_over_run',
      dimension: `history written over the run (${p.durationSeconds} s)`,
      formula: 'history store growth × duration',
      value: r.responses * bytesPerResponse * p.durationSeconds,
      unit: 'bytes',
      scope: 'cluster',
    },
  ];
  return {
    profile: p.name,
    nodes,
    computed: p.fleet.nodes === undefined,
    feasible: problems.length === 0,
    nodesFor: { minNodes, connections: forConnections, cpu: forCpu },
    problems,
    derived: {
      meanSubscribers: r.subscribers,
      responsesPerSecond: r.responses,
      retentionMultiplier: r.multiplier,
      framesPerSubscriberPerStream: framesPerSubscriberPerStream(p.tokensPerSecond, window),
    },
    dimensions,
    budgets: b,
    headroom: h,
    transport: p.fleet.transport,
    suggested: {
      'spec.replicas': nodes,
      'spec.config.websocket.maxConnections': b.connectionsPerNode.value,
      'spec.config.rollup.defaultWindowMs': window,
    },
  };
}

/** A number for people: thousands separated by spaces, at most `digits` decimals. */
export function fmt(n: number, digits = 0): string {
  const [int = '', frac = ''] = Math.abs(n).toFixed(digits).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  const decimals = frac.replace(/0+$/, '');
  return `${n < 0 ? '-' : ''}${grouped}${decimals ? `.${decimals}` : ''}`;
}
