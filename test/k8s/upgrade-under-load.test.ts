// The proof of the drain-aware rollout: a 3-pod cluster on Redis is upgraded by the operator
// while AI token streams run and subscribers stay connected. Producers append tokens over the
// signed REST API (op_id per token, so a retry on another node after a failure is idempotent);
// subscribers on every pod hold V2 sockets; when the drain closes them (4200) they reconnect to
// another Ready pod, re-subscribe and sockudo:resume from the last serial they applied.
// Asserted: zero transcript mismatches (every subscriber's reduced text == the stored message ==
// the producer's acknowledged tokens), zero acknowledged appends lost, every subscriber recovered
// without a gap (contiguous serials), and no pod restarted without a drain. Measured (written to
// stderr and <control-plane dir>/upgrade-under-load.json; docs/benchmarks.md has a run): upgrade
// duration, reconnects, token latency (append sent → frame received) during the upgrade.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { MessageReducer } from '../../dataplane/src/messages/reducer.ts';
import { RESOURCE } from '../../operator/src/kube/resources.ts';
import { channelAuth } from '../helpers/node-cluster.ts';
import {
  clusterCr,
  mergePatch,
  podsOf,
  type RolloutEnv,
  settled,
  startRolloutEnv,
  stsOf,
  until,
} from '../helpers/rollout-env.ts';
import { type Frame, TestWsClient } from '../helpers/ws-client.ts';
import { APP, signed } from '../integration/rest-helpers.ts';

const START_TIMEOUT = Number(process.env.AIT_K8S_BUILD_TIMEOUT_MS ?? 45 * 60_000) + 180_000;
const NAME = 'load';
const CHANNELS = 4;
const SUBSCRIBERS_PER_POD = 3;
const TOKEN_INTERVAL_MS = 50; // 20 tokens/s per stream
const TOKENS_PER_TURN = 40;
const WARMUP_MS = 4_000;
const COOLDOWN_MS = 3_000;

let env: RolloutEnv | undefined;
const failed = { value: false };
const E = () => env as RolloutEnv;

beforeAll(async () => {
  env = await startRolloutEnv({ startTimeoutMs: START_TIMEOUT });
}, START_TIMEOUT);

afterAll(async () => {
  await env?.stop(failed.value);
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tx = (status: string) => ({ ai: { transport: { status, role: 'assistant' } } });

/** Pods a client may use now: Ready, with a running process. */
async function readyIps(except?: string): Promise<string[]> {
  const ready = new Set(
    E()
      .runner.running()
      .filter((r) => r.ready)
      .map((r) => r.ip),
  );
  const pods = await podsOf(E().api, NAME).catch(() => []);
  const ips = pods.filter((p) => p.ready && ready.has(p.ip)).map((p) => p.ip);
  const others = ips.filter((ip) => ip !== except);
  return others.length ? others : ips;
}

const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

// ---------------------------------------------------------------- producers

interface Token {
  readonly start: number;
  readonly end: number;
  readonly sentAt: number;
}
interface Turn {
  readonly channel: string;
  readonly ms: string;
  text: string;
  tokens: Token[];
}

class Producer {
  readonly turns: Turn[] = [];
  acked = 0;
  retries = 0;
  failures = 0;
  #stop = false;
  readonly channel: string;
  #loop: Promise<void> | undefined;

  constructor(channel: string) {
    this.channel = channel;
  }

  /** One signed REST call on a Ready pod; on a network error or 5xx, again on another pod (same body). */
  async #call(method: string, p: string, body: unknown): Promise<Record<string, unknown>> {
    let last = '';
    let avoid: string | undefined;
    for (let attempt = 0; attempt < 20; attempt++) {
      const ip = pick(await readyIps(avoid));
      if (!ip) {
        await sleep(100);
        continue;
      }
      try {
        const r = await signed(6001, method, p, body, { host: ip });
        if (r.status === 200) return r.json();
        last = `${r.status} ${r.text.slice(0, 200)}`;
        if (r.status < 500) throw new Error(`permanent: ${last}`);
      } catch (err) {
        if ((err as Error).message.startsWith('permanent')) throw err;
        last = (err as Error).message;
      }
      this.retries++;
      avoid = ip;
      await sleep(50);
    }
    this.failures++;
    throw new Error(`${method} ${p} failed 20 times: ${last}`);
  }

  async #turn(n: number): Promise<void> {
    const created = await this.#call('POST', `/apps/${APP.id}/events`, {
      name: 'ai-output',
      channel: this.channel,
      data: '',
      extras: tx('streaming'),
      idempotency_key: `${this.channel}-turn-${n}`,
    });
    const ms = (created.channels as Record<string, { message_serial: string }>)[this.channel]?.message_serial as string;
    const turn: Turn = { channel: this.channel, ms, text: '', tokens: [] };
    this.turns.push(turn);
    const path = `/apps/${APP.id}/channels/${encodeURIComponent(this.channel)}/messages/${encodeURIComponent(ms)}/append`;
    let next = Date.now();
    for (let i = 0; i < TOKENS_PER_TURN && !this.#stop; i++) {
      const tok = `t${n}.${i} `;
      const sentAt = Date.now();
      await this.#call('POST', path, { data: tok, op_id: `${this.channel}:${n}:${i}` });
      turn.tokens.push({ start: turn.text.length, end: turn.text.length + tok.length, sentAt });
      turn.text += tok;
      this.acked++;
      next += TOKEN_INTERVAL_MS;
      await sleep(Math.max(0, next - Date.now()));
    }
    await this.#call('POST', path, { data: '', extras: tx('complete'), op_id: `${this.channel}:${n}:end` });
  }

  start(): void {
    this.#loop = (async () => {
      for (let n = 0; !this.#stop; n++) await this.#turn(n);
    })();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#loop;
  }
}

// ---------------------------------------------------------------- subscribers

interface ChannelState {
  applied: number;
  streamId: string | undefined;
  readonly reducer: MessageReducer;
  duplicates: number;
  /** Serials skipped (only meaningful with rollup window 0, where every append is its own frame). */
  readonly gaps: string[];
}

/**
 * A V2 subscriber of some channels. `rollup: false` asks for every append as its own frame
 * (append_rollup_window=0): its serials must then be contiguous, so any gap shows. With the
 * default rollup, serials only increase (coalesced appends skip some), and a gap would show as a
 * transcript mismatch. After a reconnect, frames are held until resume_success and applied in
 * serial order (a live frame can arrive before the replay), skipping what was already applied.
 */
class Subscriber {
  readonly id: number;
  readonly channels: string[];
  readonly rollup: boolean;
  readonly state = new Map<string, ChannelState>();
  reconnects = 0;
  resumes = 0;
  readonly closes: number[] = [];
  readonly latencies: Array<{ at: number; ms: number }> = [];
  readonly errors: string[] = [];
  #client: TestWsClient | undefined;
  #ip = '';
  #stopped = false;
  #held: Frame[] | undefined;
  #reconnecting: Promise<void> | undefined;
  readonly producers: Map<string, Producer>;

  constructor(id: number, channels: string[], rollup: boolean, producers: Map<string, Producer>) {
    this.id = id;
    this.channels = channels;
    this.rollup = rollup;
    this.producers = producers;
    for (const ch of channels) {
      this.state.set(ch, {
        applied: 0,
        streamId: undefined,
        reducer: new MessageReducer('delta'),
        duplicates: 0,
        gaps: [],
      });
    }
  }

  #onFrame(f: Frame): void {
    if (!f.channel || typeof f.serial !== 'number' || f.event.endsWith('subscription_succeeded')) return;
    if (this.#held) {
      this.#held.push(f);
      return;
    }
    this.#apply(f);
  }

  #apply(f: Frame): void {
    const ch = f.channel as string;
    const st = this.state.get(ch);
    if (!st) return;
    const serial = f.serial as number;
    if (serial <= st.applied) {
      st.duplicates++;
      return;
    }
    if (!this.rollup && serial !== st.applied + 1) st.gaps.push(`${st.applied + 1}..${serial - 1}`);
    const before = this.#lengths(ch, st);
    st.reducer.apply(f);
    st.applied = serial;
    if (typeof f.stream_id === 'string') st.streamId = f.stream_id;
    this.#recordLatency(ch, st, before);
  }

  #release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    held.sort((a, b) => (a.serial as number) - (b.serial as number));
    for (const f of held) this.#apply(f);
  }

  #lengths(channel: string, st: ChannelState): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of this.producers.get(channel)?.turns ?? []) {
      const d = st.reducer.get(t.ms)?.data;
      out.set(t.ms, typeof d === 'string' ? d.length : 0);
    }
    return out;
  }

  #recordLatency(channel: string, st: ChannelState, before: Map<string, number>): void {
    const now = Date.now();
    for (const t of this.producers.get(channel)?.turns ?? []) {
      const d = st.reducer.get(t.ms)?.data;
      const len = typeof d === 'string' ? d.length : 0;
      const was = before.get(t.ms) ?? 0;
      if (len <= was) continue;
      for (const tok of t.tokens) {
        if (tok.end > was && tok.end <= len) this.latencies.push({ at: tok.sentAt, ms: now - tok.sentAt });
      }
    }
  }

  async #connect(first: boolean, firstIp?: string): Promise<void> {
    const query = new URLSearchParams({ protocol: '2', ...(this.rollup ? {} : { append_rollup_window: '0' }) });
    for (let attempt = 0; attempt < 50 && !this.#stopped; attempt++) {
      const ip = (attempt === 0 && firstIp) || (pick(await readyIps(this.#ip)) ?? '');
      try {
        const c = await TestWsClient.established(`ws://${ip}:6001/app/${APP.key}?${query.toString()}`);
        if (!first) this.#held = [];
        for (const ch of this.channels) {
          c.send({ event: 'sockudo:subscribe', data: { channel: ch, auth: channelAuth(c.socketId, ch) } });
        }
        const acks = await Promise.all(
          this.channels.map((ch) =>
            c.waitFor((f) => f.event === 'sockudo_internal:subscription_succeeded' && f.channel === ch, 5_000),
          ),
        );
        const positions: Record<string, { serial: number; stream_id: string }> = {};
        for (const [i, ch] of this.channels.entries()) {
          const st = this.state.get(ch) as ChannelState;
          const ack = acks[i] as Frame;
          if (first) {
            st.applied = typeof ack.serial === 'number' ? ack.serial : 0;
            st.streamId = ack.stream_id as string;
          } else {
            positions[ch] = { serial: st.applied, stream_id: st.streamId ?? (ack.stream_id as string) };
          }
        }
        this.#client = c;
        this.#ip = ip;
        // the frames received so far, then every later one (nothing slips in between: one thread)
        for (const f of c.frames) this.#onFrame(f);
        c.ws.on('message', (data) => {
          try {
            this.#onFrame(JSON.parse(data.toString()) as Frame);
          } catch {
            // not JSON: ignore
          }
        });
        if (!first) {
          c.send({ event: 'sockudo:resume', data: { channel_positions: positions } });
          const r = await c.waitFor(
            (f) => f.event === 'sockudo:resume_success' || f.event === 'sockudo:resume_failed',
            10_000,
          );
          if (r.event === 'sockudo:resume_failed') this.errors.push(`resume failed: ${String(r.data)}`);
          else this.resumes++;
          this.#release();
        }
        void c.closed.then((info) => {
          if (this.#stopped) return;
          this.closes.push(info.code);
          this.#reconnecting = this.#reconnect();
        });
        return;
      } catch (err) {
        this.#release();
        this.errors.push(`connect ${ip}: ${(err as Error).message}`);
        await sleep(100);
      }
    }
  }

  async #reconnect(): Promise<void> {
    this.reconnects++;
    await this.#connect(false);
  }

  start(ip: string): Promise<void> {
    return this.#connect(true, ip);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#reconnecting;
    this.#client?.close();
  }
}

function percentile(xs: number[], p: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

describe('an upgrade under live token streams', () => {
  it('loses nothing: transcripts match, acknowledged appends survive, subscribers resume without a gap', async () => {
    onTestFailed(() => {
      failed.value = true;
      if (env) process.stderr.write(`${env.debug()}\n`);
    });
    await E().api.create(
      clusterCr(NAME, E().redis.port, {
        upgrade: {
          drain: {
            endpointPropagationSeconds: 1,
            connectionDrainTimeoutSeconds: 15,
            reconnectBatch: { size: 2, intervalMilliseconds: 100 },
          },
          healthGate: { minReadySeconds: 1, stableSeconds: 2, timeoutSeconds: 60 },
        },
      }),
    );
    await until('cluster settled', () => settled(E().api, NAME, 3), 120_000);
    const channels = Array.from({ length: CHANNELS }, (_, i) => `private-ai-load-${i}`);
    const producers = new Map(channels.map((ch) => [ch, new Producer(ch)]));
    const subscribers: Subscriber[] = [];
    const pods = await podsOf(E().api, NAME);
    const starts: Array<Promise<void>> = [];
    let id = 0;
    for (const pod of pods) {
      for (let k = 0; k < SUBSCRIBERS_PER_POD; k++, id++) {
        // every other subscriber takes each append as its own frame (strict serial continuity)
        const s = new Subscriber(
          id,
          [channels[id % CHANNELS] as string, channels[(id + 1) % CHANNELS] as string],
          id % 2 === 1,
          producers,
        );
        subscribers.push(s);
        starts.push(s.start(pod.ip));
      }
    }
    await Promise.all(starts);
    for (const p of producers.values()) p.start();
    await sleep(WARMUP_MS);

    const revBefore = (await stsOf(E().api, NAME)).status?.updateRevision;
    const t0 = Date.now();
    await mergePatch(E().transport, RESOURCE.cluster, NAME, { spec: { version: '0.2.0' } });
    await until(
      'upgrade settled under load',
      async () => {
        const c = await settled(E().api, NAME, 3);
        return c && (await stsOf(E().api, NAME)).status?.updateRevision !== revBefore ? c : undefined;
      },
      240_000,
    );
    const t1 = Date.now();
    await sleep(COOLDOWN_MS);
    for (const p of producers.values()) await p.stop();
    await sleep(2_000); // the last frames
    for (const s of subscribers) await s.stop();

    // ---- the stored truth: each message as the store has it
    const node = (await podsOf(E().api, NAME))[0]?.ip ?? '';
    let mismatches = 0;
    let lost = 0;
    const problems: string[] = [];
    for (const p of producers.values()) {
      for (const t of p.turns) {
        const r = await signed(
          6001,
          'GET',
          `/apps/${APP.id}/channels/${encodeURIComponent(t.channel)}/messages/${encodeURIComponent(t.ms)}`,
          undefined,
          { host: node },
        );
        const stored = (r.json().item as { data?: string } | undefined)?.data ?? '';
        if (stored !== t.text) {
          lost++;
          problems.push(`stored ${t.channel}/${t.ms}: ${stored.length} chars, acked ${t.text.length}`);
        }
        for (const s of subscribers) {
          if (!s.channels.includes(t.channel)) continue;
          const got = s.state.get(t.channel)?.reducer.get(t.ms)?.data ?? '';
          if (got !== stored) {
            mismatches++;
            problems.push(
              `subscriber ${s.id} ${t.channel}/${t.ms}: ${String(got).length} chars, stored ${stored.length}`,
            );
          }
        }
      }
    }
    const gaps = subscribers.flatMap((s) =>
      [...s.state.entries()].flatMap(([ch, st]) =>
        st.gaps.map((g) => `subscriber ${s.id} ${ch}: serials ${g} missing`),
      ),
    );
    const during = subscribers.flatMap((s) => s.latencies.filter((l) => l.at >= t0 && l.at <= t1).map((l) => l.ms));
    const all = subscribers.flatMap((s) => s.latencies.map((l) => l.ms));
    const gone = E().runner.terminations.filter((t) => t.at >= t0);
    const report = {
      date: new Date().toISOString(),
      pods: 3,
      channels: CHANNELS,
      subscribers: subscribers.length,
      subscribersWithoutRollup: subscribers.filter((x) => !x.rollup).length,
      tokensPerSecondPerStream: 1000 / TOKEN_INTERVAL_MS,
      upgradeSeconds: Number(((t1 - t0) / 1000).toFixed(1)),
      appendsAcked: [...producers.values()].reduce((n, p) => n + p.acked, 0),
      appendRetries: [...producers.values()].reduce((n, p) => n + p.retries, 0),
      messages: [...producers.values()].reduce((n, p) => n + p.turns.length, 0),
      reconnects: subscribers.reduce((n, s) => n + s.reconnects, 0),
      resumes: subscribers.reduce((n, s) => n + s.resumes, 0),
      closeCodes: [...new Set(subscribers.flatMap((s) => s.closes))],
      duplicatesDropped: subscribers.reduce(
        (n, s) => n + [...s.state.values()].reduce((m, st) => m + st.duplicates, 0),
        0,
      ),
      latencyMsDuringUpgrade: {
        count: during.length,
        p50: percentile(during, 50),
        p99: percentile(during, 99),
        max: percentile(during, 100),
      },
      latencyMsOverall: { count: all.length, p50: percentile(all, 50), p99: percentile(all, 99) },
      transcriptMismatches: mismatches,
      ackedAppendsLost: lost,
      serialGaps: gaps.length,
      podsTerminated: gone.map((t) => ({
        pod: t.pod,
        drained: t.drainedAt !== undefined && t.wasDraining === true,
        connectionsLeft: t.connectionsLeft,
      })),
      errors: subscribers.flatMap((s) => s.errors).slice(0, 10),
    };
    process.stderr.write(`upgrade-under-load: ${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(path.join(E().cp.dir, 'upgrade-under-load.json'), JSON.stringify(report, null, 2));
    expect(problems.slice(0, 10)).toEqual([]);
    expect(mismatches).toBe(0);
    expect(lost).toBe(0);
    expect(gaps).toEqual([]);
    expect(report.podsTerminated).toHaveLength(3);
    for (const t of report.podsTerminated) expect(t.drained, t.pod).toBe(true);
    // every subscriber of a drained pod came back and resumed
    expect(report.reconnects).toBeGreaterThanOrEqual(subscribers.length);
    expect(report.resumes).toBe(report.reconnects);
    expect(subscribers.flatMap((x) => x.errors)).toEqual([]);
    expect(report.closeCodes).toEqual([4200]);
    expect([...producers.values()].every((p) => p.failures === 0)).toBe(true);
  }, 420_000);
});
