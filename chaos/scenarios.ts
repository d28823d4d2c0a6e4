// The chaos scenarios of OPERATIONS.md, each a fault injected into a 3-node cluster on a real
// redis-server while an AI turn streams and audited subscribers (on every node) watch. The runner
// (`runScenario`) owns the set-up, the producer, the subscribers and the audits; a scenario owns
// its fault, the moment it strikes, and any expectation of its own.
import { execFileSync } from 'node:child_process';
import type { Rng } from '../dataplane/src/messages/testing/prng.ts';
import { AI_PREFIX, type NodeCluster, type NodeProc } from '../test/helpers/node-cluster.ts';
import type { RedisServer } from '../test/helpers/redis-server.ts';
import { APP } from '../test/integration/rest-helpers.ts';
import type { AuditedSubscriber } from './lib/subscriber.ts';
import type { FaultProxy } from './lib/tcp-proxy.ts';

export interface FaultContext {
  readonly cluster: NodeCluster;
  readonly redis: RedisServer;
  /** One fault proxy per node between it and Redis (only when the scenario asks for proxies). */
  readonly proxies: readonly FaultProxy[];
  readonly subscribers: readonly AuditedSubscriber[];
  readonly rng: Rng;
  readonly log: (event: string, detail?: Record<string, unknown>) => void;
}

export interface Scenario {
  readonly name: string;
  /** What OPERATIONS.md expects of it (printed in the report). */
  readonly expectation: string;
  /** Redis persistence (default AOF on, appendfsync always). */
  readonly appendonly?: boolean;
  /** Put a fault proxy between each node and Redis. */
  readonly proxies?: boolean;
  /** Wrapper command for one node (e.g. faketime). */
  readonly launcher?: (i: number) => readonly string[] | undefined;
  /** Node config merged into every node (e.g. a smaller send buffer). */
  readonly config?: Record<string, unknown>;
  /** Token text (default `t<i> `); `tokens` is the run's token count. */
  readonly tokenText?: (i: number, tokens: number) => string;
  /** When the fault strikes, as a fraction of the stream acknowledged. */
  readonly at?: number;
  readonly fault: (ctx: FaultContext) => Promise<void>;
  /**
   * The fault loses data on purpose (Redis restarted empty): the producer may end on one of these
   * definitive refusals instead of completing, and the lossy audits apply (nothing shown that was
   * not acknowledged, serials never backwards) instead of the full ones.
   */
  readonly lossy?: { readonly refusals: readonly number[] };
  /** Recovery failures the scenario makes legitimate. */
  readonly allowedRecoveryFailures?: readonly string[];
  /** Extra checks after healing; failures as messages. */
  readonly check?: (ctx: FaultContext) => Promise<string[]>;
  /** Skip with this reason when a tool is missing. */
  readonly unavailable?: () => string | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function metricSum(nodes: readonly NodeProc[], name: string, labels: Record<string, string> = {}) {
  let sum = 0;
  for (const n of nodes) sum += await n.metric(name, labels).catch(() => 0);
  return sum;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'node-kill',
    expectation:
      'node killed mid-stream: subscribers reconnect to another node and resume with no gap; transcript audits pass',
    fault: async ({ cluster, rng, log }) => {
      const victim = rng.int(1, 2);
      log('kill', { node: victim });
      await cluster.kill(victim);
      await sleep(1000);
      log('restart', { node: victim });
      await cluster.start(victim);
    },
    check: async ({ cluster }) => {
      // The turn ended: no node may still count it as an open AI stream.
      for (let i = 0; i < 30; i++) {
        if ((await metricSum(cluster.nodes, 'ai_active_streams')) === 0) return [];
        await sleep(200);
      }
      return [
        `ai_active_streams still ${await metricSum(cluster.nodes, 'ai_active_streams')} after the turn completed`,
      ];
    },
  },
  {
    name: 'node-pause',
    expectation:
      'a node stops answering (SIGSTOP, a partition stand-in): delay and duplicate semantics only; after it continues every node converges',
    fault: async ({ cluster, log }) => {
      log('pause', { node: 2 });
      cluster.pause(2);
      await sleep(2000);
      log('continue', { node: 2 });
      cluster.resume(2);
    },
  },
  {
    name: 'redis-restart-aof',
    expectation:
      'Redis restart with persistence: bounded stall, no versioned-message corruption, no reset_required channels, the transport reconnects and counts it',
    fault: async ({ redis, log }) => {
      log('redis stop');
      await redis.stop();
      await sleep(1000);
      log('redis start');
      await redis.restart();
    },
    check: async ({ cluster }) => {
      const out: string[] = [];
      await sleep(1500);
      if ((await metricSum(cluster.nodes, 'history_reset_required_channels')) !== 0) {
        out.push('reset_required channels after a restart with AOF');
      }
      if ((await metricSum(cluster.nodes, 'horizontal_transport_reconnections_total')) < 1) {
        out.push('the transport did not count its reconnection');
      }
      return out;
    },
  },
  {
    name: 'redis-restart-empty',
    expectation:
      'Redis restarts without persistence: the loss is detected and reported (reset_required, durable_stream_lost), writes to the lost message are refused, resumes answer stream_reset, nothing is shown that was not acknowledged',
    appendonly: false,
    lossy: { refusals: [404] },
    allowedRecoveryFailures: ['stream_reset'],
    fault: async ({ redis, log }) => {
      log('redis stop (no persistence)');
      await redis.stop();
      await sleep(500);
      log('redis start, empty');
      await redis.restart();
    },
    check: async ({ cluster }) => {
      // A write on the channel finds its epoch gone: reported on some node, and listed.
      for (let i = 0; i < 40; i++) {
        if ((await metricSum(cluster.nodes, 'history_reset_required_channels')) >= 1) return [];
        await sleep(250);
      }
      return ['no node reports a reset_required channel after Redis lost everything'];
    },
  },
  {
    name: 'pubsub-kill',
    expectation: 'the pub/sub connections are killed: nodes re-subscribe, catch up from the store, no gap',
    fault: async ({ redis, log }) => {
      log('CLIENT KILL TYPE pubsub');
      await redis.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    },
  },
  (() => {
    let readyWhileCutOff: unknown;
    let writeWhileCutOff: number | string = 'not tried';
    return {
      name: 'redis-cut-off',
      expectation:
        'one node cut off from Redis (connections dropped, then blackholed): it reports degraded and unready, refuses writes with 503, and repairs what it missed once healed',
      proxies: true,
      fault: async ({ proxies, cluster, log }: FaultContext) => {
        const p = proxies[2] as FaultProxy;
        log('proxy drop', { node: 2 });
        p.set('drop');
        await sleep(1000);
        log('proxy blackhole', { node: 2 });
        p.set('blackhole');
        await sleep(1500);
        readyWhileCutOff = (await (cluster.nodes[2] as NodeProc).admin('GET', '/admin/status')).json().ready;
        const probe = await (cluster.nodes[2] as NodeProc)
          .rest('POST', `/apps/${APP.id}/events`, { name: 'probe', channel: `${AI_PREFIX}chaos-probe`, data: 'x' })
          .then((r) => r.status)
          .catch((err: Error) => err.message);
        writeWhileCutOff = probe;
        log('node 2 while cut off', { ready: readyWhileCutOff, write: probe });
        log('proxy pass', { node: 2 });
        p.set('pass');
      },
      check: async () =>
        readyWhileCutOff === false
          ? []
          : [`node 2 reported ready=${String(readyWhileCutOff)} while cut off from Redis`],
    } satisfies Scenario;
  })(),
  {
    name: 'slow-link',
    expectation:
      'a slow link to Redis (50 ms each way) for one node: its subscribers lag, nothing is lost or reordered',
    proxies: true,
    fault: async ({ proxies, log }) => {
      const p = proxies[1] as FaultProxy;
      log('proxy delay 50 ms', { node: 1 });
      p.set('delay', 50);
      await sleep(2000);
      p.set('pass');
      log('proxy pass', { node: 1 });
    },
  },
  {
    name: 'slow-subscriber',
    config: { websocket: { sendBufferMaxBytes: 1_048_576 } },
    // Large tokens: the full-mode victim's frames (the whole aggregate, up to ~300 KB) outgrow the
    // kernel's socket buffers and the 1 MiB send budget within its pause, while a subscriber that
    // reads keeps up; the message stays under the 1 MiB accumulated-content limit at any --tokens.
    tokenText: (i, tokens) => `t${i}:${'x'.repeat(Math.min(2000, Math.floor(300_000 / tokens)))} `,
    expectation:
      'a subscriber stops reading: the slow-consumer policy closes it (4100) instead of buffering without bound; it recovers; others are unaffected',
    fault: async ({ subscribers, log }) => {
      // The full-mode subscriber: every frame carries the whole aggregate, so the kernel's socket
      // buffers (megabytes on loopback) fill and the node's own send budget is what decides.
      const victim = subscribers[1] as AuditedSubscriber;
      log('subscriber stops reading', { subscriber: victim.o.name });
      victim.pauseReading(4000);
      await sleep(4500);
      log('subscriber reads again', { closes: victim.closes });
    },
    check: async ({ subscribers }) => {
      const failures: string[] = [];
      const [victim, ...others] = [subscribers[1], subscribers[0], ...subscribers.slice(2)] as AuditedSubscriber[];
      if (!victim?.closes.includes(4100)) {
        failures.push(`${victim?.o.name}: never closed 4100 by the slow-consumer policy (closes: ${victim?.closes})`);
      }
      for (const s of others) {
        if (s.closes.includes(4100)) failures.push(`${s.o.name}: closed 4100 though it kept reading`);
      }
      return failures;
    },
  },
  {
    name: 'clock-skew',
    expectation: 'node 1 runs 10 minutes behind: serials are store-backed, never ordered by wall clock; audits pass',
    launcher: (i) => (i === 1 ? ['faketime', '-f', '-10m'] : undefined),
    unavailable: () => (hasCommand('faketime') ? undefined : 'faketime is not installed (apt-get install faketime)'),
    fault: async ({ log }) => {
      // The skewed node serves part of the stream: the producer fails over to it below.
      log('skewed node 1 in the cluster');
    },
  },
  {
    name: 'rolling-restart',
    expectation:
      'every node restarted one after another under load (SIGTERM: drain 4200): clients reconnect and recover, no acknowledged message lost',
    at: 0.2,
    fault: async ({ cluster, log }) => {
      for (let i = 0; i < cluster.nodes.length; i++) {
        log('terminate', { node: i });
        await cluster.terminate(i);
        await cluster.start(i);
        log('started', { node: i });
        await sleep(300);
      }
    },
  },
];
