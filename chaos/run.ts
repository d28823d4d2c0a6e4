// `make chaos`: runs the chaos scenarios (chaos/scenarios.ts) against a real 3-node cluster on a
// real redis-server, all on loopback, each bounded in time and seeded. For every scenario: an AI
// turn streams through the nodes (a failing-over, idempotent producer), audited subscribers on
// every node watch (delta with window 0, full with window 40), the fault strikes, the cluster
// heals, and the audits must hold: transcripts equal what was acknowledged and what the store
// returns, serials strictly increase, no gap after recovery, every recovery succeeded — plus the
// scenario's own expectation. One JSON report per scenario in chaos/reports/, with the command
// that replays it. Exit 1 when any scenario failed.
//
//   node chaos/run.ts [scenario ...] [--seed=N] [--tokens=N] [--rate=N] [--list]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../dataplane/src/messages/testing/prng.ts';
import { AI_PREFIX, type NodeCluster, type NodeProc, startNodeCluster } from '../test/helpers/node-cluster.ts';
import { type RedisServer, startRedisServer } from '../test/helpers/redis-server.ts';
import { APP } from '../test/integration/rest-helpers.ts';
import { auditLossySubscriber, auditStream, auditSubscriber, firstSerialAnomaly } from './lib/audit.ts';
import { RefusedError, TurnProducer } from './lib/producer.ts';
import { AuditedSubscriber } from './lib/subscriber.ts';
import { FaultProxy } from './lib/tcp-proxy.ts';
import { type FaultContext, SCENARIOS, type Scenario } from './scenarios.ts';

export interface RunParams {
  readonly seed: number;
  readonly tokens: number;
  readonly rate: number;
}

export const DEFAULT_RUN: RunParams = { seed: 1, tokens: 200, rate: 50 };

export interface ScenarioReport {
  readonly scenario: string;
  readonly expectation: string;
  readonly passed: boolean;
  readonly skipped?: string;
  readonly failures: string[];
  readonly params: RunParams;
  readonly replay: string;
  readonly durationMs: number;
  readonly producer?: unknown;
  readonly subscribers?: unknown[];
  readonly events: Array<{ t: number; event: string; detail?: Record<string, unknown> }>;
  readonly nodeLogs?: string;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function latest(nodes: readonly NodeProc[], channel: string, ms: string): Promise<string | undefined> {
  const path = `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    const node = nodes[attempt % nodes.length] as NodeProc;
    const r = await node.rest('GET', path).catch(() => undefined);
    if (r?.status === 200) return (r.json().item as { data?: string }).data;
    await sleep(100);
  }
  return undefined;
}

export async function runScenario(s: Scenario, params: RunParams = DEFAULT_RUN): Promise<ScenarioReport> {
  const started = Date.now();
  const events: ScenarioReport['events'] = [];
  const log = (event: string, detail?: Record<string, unknown>) => {
    events.push({ t: Date.now() - started, event, ...(detail && { detail }) });
  };
  const replay = `node chaos/run.ts ${s.name} --seed=${params.seed} --tokens=${params.tokens} --rate=${params.rate}`;
  const base = { scenario: s.name, expectation: s.expectation, params, replay, events };
  const missing = s.unavailable?.();
  if (missing) return { ...base, passed: true, skipped: missing, failures: [], durationMs: 0 };

  const rng = new Rng(params.seed);
  let redis: RedisServer | undefined;
  let cluster: NodeCluster | undefined;
  const proxies: FaultProxy[] = [];
  const subscribers: AuditedSubscriber[] = [];
  const failures: string[] = [];
  let watchdog: NodeJS.Timeout | undefined;
  try {
    redis = await startRedisServer({ appendonly: s.appendonly ?? true, appendfsync: 'always' });
    const r = redis;
    if (s.proxies) {
      for (let i = 0; i < 3; i++) {
        const p = new FaultProxy({ host: '127.0.0.1', port: r.port });
        await p.listen();
        proxies.push(p);
      }
    }
    cluster = await startNodeCluster({
      nodes: 3,
      redis: { host: '127.0.0.1', port: r.port, keyPrefix: `chaos-${s.name}:`, commandTimeoutMs: 500 },
      config: { history: { writeTimeoutMs: 1000 }, logging: { level: 'warn' }, ...s.config },
      logLevel: 'warn',
      ...(s.proxies && {
        nodeConfig: (i: number) => ({
          redis: { host: '127.0.0.1', port: proxies[i]?.port, keyPrefix: `chaos-${s.name}:`, commandTimeoutMs: 500 },
        }),
      }),
      ...(s.launcher && { launcher: s.launcher }),
    });
    const c = cluster;
    const channel = `${AI_PREFIX}chaos-${s.name}`;
    for (let i = 0; i < 3; i++) {
      for (const [mode, window] of [
        ['delta', 0],
        ['full', 40],
      ] as const) {
        const sub = new AuditedSubscriber({
          nodes: () => c.nodes,
          channel,
          mode,
          window,
          startAt: i,
          name: `node${i}-${mode}-w${window}`,
        });
        await sub.start();
        subscribers.push(sub);
      }
    }
    log('subscribed', { subscribers: subscribers.length });
    // The producer starts on the node the scenario is least likely to hurt, and fails over.
    const producer = new TurnProducer({
      nodes: () => c.nodes,
      channel,
      tokens: params.tokens,
      ratePerSecond: params.rate,
      startAt: s.name === 'clock-skew' ? 1 : 0,
      requestDeadlineMs: 30_000,
      ...(s.tokenText && { tokenText: s.tokenText }),
    });
    // Bounded (STANDARDS): whatever hangs, the run ends and reports within its budget.
    const budgetMs = 60_000 + (params.tokens * 1000 * 3) / params.rate;
    watchdog = setTimeout(() => {
      log('watchdog', { budgetMs });
      producer.abort(`scenario exceeded its ${budgetMs} ms budget`);
    }, budgetMs);
    const producing = producer.run();
    const at = Math.floor(params.tokens * (s.at ?? 0.3));
    await sleep((at * 1000) / params.rate);
    const ctx: FaultContext = { cluster: c, redis: r, proxies, subscribers, rng, log };
    log('fault');
    await s.fault(ctx);
    log('healed');
    const result = await producing.catch((err: unknown) => {
      // A lossy scenario may end the turn on a definitive refusal: what was acknowledged stands.
      if (!(s.lossy && err instanceof RefusedError && s.lossy.refusals.includes(err.status))) throw err;
      log('producer refused', { status: err.status, message: err.message.slice(0, 200) });
      const p = producer.progress;
      return {
        channel,
        messageSerial: p.messageSerial ?? '',
        acknowledged: p.acknowledged,
        appends: p.appends,
        retries: 0,
        failovers: 0,
        maxStallMs: 0,
        completed: false,
        refused: err.status,
      };
    });
    log('producer done', { retries: result.retries, failovers: result.failovers, maxStallMs: result.maxStallMs });
    const auditOpts = { ...(s.allowedRecoveryFailures && { allowedRecoveryFailures: s.allowedRecoveryFailures }) };
    if (s.lossy) {
      await sleep(1000);
      for (const sub of subscribers) {
        const facts = {
          name: sub.o.name,
          serials: sub.serials,
          text: sub.reducer.get(result.messageSerial)?.data as string | null | undefined,
          window: sub.o.window ?? 0,
          recoveries: sub.recoveries,
        };
        failures.push(...auditLossySubscriber(facts, result.acknowledged, auditOpts));
        failures.push(...sub.errors.map((e) => `${sub.o.name}: ${e}`));
      }
    } else {
      const lastSerial = 1 + result.appends + (result.completed ? 1 : 0);
      await Promise.all(subscribers.map((sub) => sub.waitFor(lastSerial, 20_000)));
      const stored = await latest(c.nodes, channel, result.messageSerial);
      const stream = { acknowledged: result.acknowledged, stored, lastSerial, firstSerial: 1 };
      failures.push(...auditStream(stream));
      for (const sub of subscribers) {
        const facts = {
          name: sub.o.name,
          serials: sub.serials,
          text: sub.reducer.get(result.messageSerial)?.data as string | null | undefined,
          window: sub.o.window ?? 0,
          recoveries: sub.recoveries,
        };
        failures.push(...auditSubscriber(facts, stream, auditOpts));
        failures.push(...sub.errors.map((e) => `${sub.o.name}: ${e}`));
      }
      failures.push(...(await auditVersionLog(c.nodes, channel, result.messageSerial)));
    }
    if (s.check) failures.push(...(await s.check(ctx)));
    return {
      ...base,
      passed: failures.length === 0,
      failures,
      durationMs: Date.now() - started,
      // The nodes' last log lines, for a failed run's evidence.
      ...(failures.length > 0 && { nodeLogs: c.logs(400) }),
      producer: result,
      subscribers: subscribers.map((sub) => ({
        name: sub.o.name,
        frames: sub.serials.length,
        lastSerial: sub.lastSerial,
        closes: sub.closes,
        recoveries: sub.recoveries,
        ...evidence(sub),
      })),
    };
  } catch (err) {
    failures.push(`run failed: ${(err as Error).message}`);
    if (cluster) failures.push(cluster.logs(15));
    return { ...base, passed: false, failures, durationMs: Date.now() - started };
  } finally {
    clearTimeout(watchdog);
    await Promise.all(subscribers.map((sub) => sub.stop()));
    await cluster?.stop();
    for (const p of proxies) await p.close();
    await redis?.cleanup();
  }
}

/** The store's version log of the turn: one version per delivery serial, none twice. */
async function auditVersionLog(nodes: readonly NodeProc[], channel: string, ms: string): Promise<string[]> {
  const seen = new Map<number, number>();
  let cursor: string | undefined;
  for (let page = 0; page < 50; page++) {
    const q = `limit=1000&direction=oldest_first${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const path = `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}/versions?${q}`;
    const r = await (nodes[0] as NodeProc).rest('GET', path);
    if (r.status !== 200) return [`store: GET versions answered ${r.status}`];
    const body = r.json() as { items: Array<{ delivery_serial: number }>; has_more: boolean; next_cursor?: string };
    for (const v of body.items) seen.set(v.delivery_serial, (seen.get(v.delivery_serial) ?? 0) + 1);
    if (!body.has_more || !body.next_cursor) break;
    cursor = body.next_cursor;
  }
  const twice = [...seen].filter(([, n]) => n > 1).map(([serial]) => serial);
  return twice.length > 0 ? [`store: delivery serials recorded more than once: ${twice.join(', ')}`] : [];
}

/** The deliveries around a subscriber's first serial anomaly: which socket and node sent what, when. */
function evidence(sub: AuditedSubscriber): { anomaly?: unknown[] } {
  const i = firstSerialAnomaly(sub.serials, sub.o.window ?? 0);
  if (i === undefined) return {};
  const from = Math.max(0, i - 8);
  return {
    anomaly: sub.serials.slice(from, i + 8).map((serial, k) => ({ index: from + k, serial, ...sub.trace[from + k] })),
  };
}

function parseArgs(argv: readonly string[]): { names: string[]; params: RunParams; list: boolean } {
  const params: { seed: number; tokens: number; rate: number } = { ...DEFAULT_RUN };
  const names: string[] = [];
  let list = false;
  for (const a of argv) {
    const m = /^--(seed|tokens|rate)=(\d+)$/.exec(a);
    if (m) params[m[1] as 'seed' | 'tokens' | 'rate'] = Number(m[2]);
    else if (a === '--list') list = true;
    else if (!a.startsWith('--')) names.push(a);
    else throw new Error(`unknown option ${a}`);
  }
  return { names, params, list };
}

async function main(): Promise<void> {
  const { names, params, list } = parseArgs(process.argv.slice(2));
  if (list) {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(20)} ${s.expectation}`);
    return;
  }
  const chosen = names.length ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')} (see --list)`);
  const outDir = join(here, 'reports');
  mkdirSync(outDir, { recursive: true });
  let failed = 0;
  for (const s of chosen) {
    process.stdout.write(`chaos ${s.name} … `);
    const report = await runScenario(s, params);
    const file = join(outDir, `${s.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    if (report.skipped) console.log(`skipped (${report.skipped})`);
    else if (report.passed) console.log(`passed in ${(report.durationMs / 1000).toFixed(1)} s → ${file}`);
    else {
      failed++;
      console.log(`FAILED → ${file}\n  - ${report.failures.slice(0, 10).join('\n  - ')}\n  replay: ${report.replay}`);
    }
  }
  if (failed > 0) {
    console.error(`${failed} of ${chosen.length} chaos scenarios failed`);
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
