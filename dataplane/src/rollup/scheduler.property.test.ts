// Property-style tests of the rollup scheduler with a seeded PRNG (reproduce one run with
// PROPERTY_SEED=<seed>; widen with PROPERTY_RUNS=<n>):
// (a) whatever a random sequence of creates, appends, updates, deletes, terminal appends and op_id
//     retries does, a delta subscriber and a full subscriber of every window group reduce the
//     scheduler's deliveries to exactly the stored aggregate;
// (b) a stream's deliveries over a run of duration D are at most D/W + 2, consecutive deliveries
//     are at least W apart (decision 7), and a steady stream is not starved;
// (c) a deadline flush is at most one tick late.
import { describe, expect, it } from 'vitest';
import { isTerminalTransport } from '../ai/validate.ts';
import { buildCreateFrame, buildMutationFrame, stripInternal, type V2Frame } from '../messages/frames.ts';
import type { Extras, VersionRecord } from '../messages/model.ts';
import { AI_CHANNEL_LIMITS, type MutationInput } from '../messages/mutations.ts';
import { MessageReducer } from '../messages/reducer.ts';
import { MemoryTestStore } from '../messages/testing/memory-store.ts';
import { propertySeeds, Rng } from '../messages/testing/prng.ts';
import { type Delivery, type RollupKey, RollupScheduler } from './scheduler.ts';

const TICK = 5;
const ctx = { channel: 'private-ai-x', stream_id: 'stream-1' };
const keyOf = (ms: string): RollupKey => ({ appId: 'app', channel: ctx.channel, messageSerial: ms });
const status = (s: string, extra: Record<string, string> = {}): Extras => ({
  ai: { transport: { status: s, role: 'assistant', ...extra }, codec: {} },
});

interface Subscriber {
  readonly window: number;
  readonly reducer: MessageReducer;
}

function simulate(seed: number, windows: number[], ending: 'drain' | 'idle') {
  const rng = new Rng(seed);
  let clock = 1_700_000_000_000 + rng.int(0, 4);
  const store = new MemoryTestStore({
    now: () => clock,
    limits: { ...AI_CHANNEL_LIMITS, maxAppendsPerMessage: 300, maxOpenStreamingMessagesPerChannel: 6 },
  });
  const scheduler = new RollupScheduler<VersionRecord>({ maxTrackedStreamsPerChannel: rng.pick([2, 1024]) });
  const subs: Subscriber[] = windows.flatMap((window) =>
    (['delta', 'full'] as const).map((mode) => ({ window, reducer: new MessageReducer(mode) })),
  );
  let frames = 0;
  const send = (window: number, build: (mode: 'delta' | 'full') => V2Frame): void => {
    for (const s of subs) {
      if (s.window !== window) continue;
      frames++;
      s.reducer.apply(JSON.parse(JSON.stringify(stripInternal(build(s.reducer.mode)))));
    }
  };
  const deliver = (ds: Delivery<VersionRecord>[]): void => {
    for (const d of ds) send(d.window, (mode) => buildMutationFrame(ctx, d.message, mode, d.fragment));
  };
  let nextTick = Math.ceil(clock / TICK) * TICK;
  const advance = (dt: number): void => {
    clock += dt;
    for (; nextTick <= clock; nextTick += TICK) deliver(scheduler.tick(nextTick).deliveries);
  };

  const serials: string[] = [];
  let last: { ms: string; input: MutationInput } | undefined;
  let ops = 0;
  const counts = { applied: 0, duplicate: 0, rejected: 0 };
  for (let step = 0; step < 400; step++) {
    advance(rng.pick([0, 0, 1, 1, 2, 3, 4, 7, 15, 45, 130]));
    if (serials.length === 0 || rng.bool(0.06)) {
      const res = store.create({
        name: 'ai-output',
        data: rng.bool(0.85) ? rng.string(rng.int(0, 3)) : { kind: 'json', n: rng.int(0, 9) },
        extras: rng.bool(0.8) ? status('streaming') : undefined,
        message_id: `msg-${step}`,
        client_id: 'agent',
      });
      if (res.ok && res.status === 'applied') {
        serials.push(res.record.message_serial);
        for (const w of windows) send(w, () => buildCreateFrame(ctx, res.record));
      }
      continue;
    }
    const ms = rng.bool(0.7) ? serials[serials.length - 1]! : rng.pick(serials);
    let input: MutationInput;
    const r = rng.float();
    if (last && r < 0.05) {
      input = last.input; // a retry: a duplicate when it had an op_id, otherwise a second version
    } else if (r < 0.78) {
      const terminal = rng.bool(0.04);
      const extras = terminal
        ? status(rng.pick(['complete', 'cancelled']))
        : rng.bool(0.05)
          ? status('streaming', { model: `m${rng.int(0, 3)}` })
          : undefined;
      input = { action: 'append', data: rng.string(rng.int(terminal ? 0 : 1, 5)), extras };
    } else if (r < 0.9) {
      const choice = rng.int(0, 3);
      input =
        choice === 0
          ? { action: 'update', data: rng.string(rng.int(0, 6)) }
          : choice === 1
            ? { action: 'update', extras: status(rng.pick(['streaming', 'complete'])) }
            : choice === 2
              ? { action: 'update', clear_fields: ['data'] }
              : { action: 'update', data: { edited: true } };
    } else {
      input = rng.bool(0.5) ? { action: 'delete', clear_fields: ['data'] } : { action: 'delete', data: '[deleted]' };
    }
    if (input !== last?.input && rng.bool(0.3)) input = { ...input, op_id: `op-${ops++}` };
    const target = input === last?.input ? last.ms : ms;
    last = { ms: target, input };
    const res = store.mutate(target, input);
    if (!res.ok) {
      counts.rejected++;
      continue;
    }
    if (res.status === 'duplicate') {
      counts.duplicate++;
      continue; // no fanout for a duplicate (3.4)
    }
    counts.applied++;
    const rec = res.record;
    const terminal = rec.action === 'append' && isTerminalTransport(rec.extras);
    const action = rec.action as 'append' | 'update' | 'delete';
    deliver(
      scheduler.offer(keyOf(target), { action, terminal, fragment: rec.fragment ?? '', message: rec }, windows, clock),
    );
  }
  if (ending === 'drain') deliver(scheduler.drain(clock));
  else advance(2 * Math.max(...windows) + 2 * TICK);

  return { store, subs, scheduler, counts, frames };
}

describe('(a) subscribers reduce deliveries to the stored aggregate', () => {
  const windowSets = [[0], [40], [0, 20, 40, 100, 500]];
  it.each(
    propertySeeds(24).map((seed, i) => [seed, windowSets[i % windowSets.length]!, i % 2 ? 'drain' : 'idle'] as const),
  )('seed %i, windows %j, ending by %s', (seed, windows, ending) => {
    const { store, subs, scheduler, counts, frames } = simulate(seed, windows, ending);
    // The run exercised the interesting paths.
    expect(counts.applied).toBeGreaterThan(120);
    expect(frames).toBeGreaterThan(0);
    for (const s of subs) {
      const where = `seed ${seed} window ${s.window} ${s.reducer.mode}`;
      expect(s.reducer.counts, where).toMatchObject({ missing_base: 0, invalid: 0, stale: 0 });
      for (const [ms, agg] of store.aggregates) {
        const got = s.reducer.get(ms);
        expect(got, `${where} ${ms}`).toBeDefined();
        expect(got!.version_serial, `${where} ${ms}`).toBe(agg.latest.version_serial);
        expect(got!.data, `${where} ${ms}`).toEqual(agg.latest.data ?? null);
        expect(got!.extras, `${where} ${ms}`).toEqual(agg.latest.extras);
        expect(got!.name, `${where} ${ms}`).toBe(agg.latest.name);
      }
    }
    // Nothing left behind.
    expect(scheduler.stats()).toMatchObject({ heldBytes: 0, pendingWindows: 0 });
    if (ending === 'idle') expect(scheduler.stats().activeStreams).toBe(0);
  });
});

describe('(b) cadence and (c) lateness', () => {
  it.each(propertySeeds(12).flatMap((seed) => [20, 40, 100, 500].map((w) => [seed, w] as const)))(
    'seed %i at W=%i',
    (seed, W) => {
      const rng = new Rng(seed ^ W);
      const scheduler = new RollupScheduler<number>();
      const streams = Array.from({ length: rng.int(1, 4) }, (_, i) => `s${i}`);
      const bursty = rng.bool(0.5);
      const log = new Map<string, Delivery<number>[]>(streams.map((s) => [s, []]));
      const record = (ds: Delivery<number>[]) => {
        for (const d of ds) log.get(d.key.messageSerial)!.push(d);
      };
      let clock = rng.int(0, 4);
      const start = clock;
      const duration = rng.int(1_000, 5_000);
      let nextTick = TICK;
      let n = 0;
      const nextAt = new Map(streams.map((s) => [s, clock]));
      while (clock < start + duration) {
        clock += 1;
        for (; nextTick <= clock; nextTick += TICK) record(scheduler.tick(nextTick).deliveries);
        for (const s of streams) {
          if (nextAt.get(s)! > clock) continue;
          record(scheduler.offer(keyOf(s), { action: 'append', fragment: 'x', message: n++ }, [W], clock));
          nextAt.set(s, clock + (bursty ? rng.pick([0, 1, 2, 3, 4, W + 30, 3 * W]) : rng.int(0, 4)));
        }
      }
      const end = clock;
      for (const s of streams)
        record(scheduler.offer(keyOf(s), { action: 'append', fragment: '.', terminal: true, message: n++ }, [W], end));

      for (const s of streams) {
        const ds = log.get(s)!;
        const where = `seed ${seed} W=${W} ${s} bursty=${bursty}`;
        const D = end - start;
        // (b) the bound of the brief, the spacing it comes from, and no starvation.
        expect(ds.length, where).toBeLessThanOrEqual(D / W + 2);
        const paced = ds.filter((d) => d.reason !== 'flush' && d.reason !== 'terminal');
        for (let i = 1; i < paced.length; i++) {
          expect(paced[i]!.deliveredAtMs - paced[i - 1]!.deliveredAtMs, `${where} #${i}`).toBeGreaterThanOrEqual(W);
        }
        if (!bursty) expect(ds.length, where).toBeGreaterThanOrEqual(Math.floor(D / (W + TICK)) - 1);
        // Every append is represented exactly once.
        const represented = ds.reduce((sum, d) => sum + d.coalesced, 0);
        const offered = ds.reduce((sum, d) => sum + d.fragment.length, 0);
        expect(represented, where).toBe(offered);
        // (c) a deadline flush is at most one tick late, so held text waits at most W + one tick.
        for (const d of ds.filter((x) => x.reason === 'deadline')) {
          expect(d.deliveredAtMs - d.dueMs!, where).toBeGreaterThanOrEqual(0);
          expect(d.deliveredAtMs - d.dueMs!, where).toBeLessThanOrEqual(TICK);
          expect(d.deliveredAtMs - d.firstSeenMs, where).toBeLessThanOrEqual(W + TICK);
        }
      }
      expect(scheduler.stats()).toMatchObject({ activeStreams: 0, heldBytes: 0 });
    },
  );
});
