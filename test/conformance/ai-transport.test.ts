// Protocol conformance of the AI Transport sequences (PROTOCOL.md 4–7, docs/ai-transport.md):
// each scenario runs against a real data-plane node, is watched by a V2 delta subscriber, a V2
// full subscriber (both append_rollup_window=0) and a protocol-7 subscriber, asserts the semantic
// properties (harness.ts `assertSemantics`, `verifyLatest`) and compares the normalised transcript
// with test/conformance/golden/<scenario>.json. `make conformance`; UPDATE_GOLDEN=1 rewrites.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { APP, parseData, type StreamNode, startStreamNode } from '../helpers/stream-node.ts';
import type { Frame } from '../helpers/ws-client.ts';
import { Scenario } from './harness.ts';

let sn: StreamNode;
let current: Scenario | undefined;

beforeAll(async () => {
  sn = await startStreamNode({
    // A small hot buffer, so a gap of a dozen messages must come from the version store.
    recovery: { maxBufferSize: 5 },
    channelPolicies: {
      policies: [
        {
          name: 'ai',
          appId: APP.id,
          channels: { prefixes: ['private-ai-'] },
          history: { recovery: { maxReplayMessages: 200 } },
        },
      ],
    },
  });
});
afterEach(() => {
  current?.close();
  current = undefined;
});
afterAll(async () => {
  await sn?.stop();
});

function scenario(name: string): Scenario {
  current = new Scenario(sn, name);
  return current;
}

/** The three subscribers every scenario records; the delta one is the user's device. */
async function standard(sc: Scenario): Promise<void> {
  await sc.join('v2-delta', { protocol: 2, user: 'user-1' });
  await sc.join('v2-full', { protocol: 2, mode: 'full' });
  await sc.join('v1', { protocol: 7 });
}

const output = (status: string, extra: Record<string, string> = {}) => ({ status, role: 'assistant', ...extra });

async function finish(sc: Scenario, opts: Parameters<Scenario['assertSemantics']>[0] = {}): Promise<void> {
  await sc.settle();
  await sc.verifyLatest();
  sc.assertSemantics(opts);
  sc.checkGolden();
}

async function tokens(sc: Scenario, ms: string, list: readonly string[]): Promise<void> {
  for (const t of list) await sc.append(ms, t);
}

const transportOf = (f: Frame) => (f.extras as { ai: { transport: Record<string, string> } }).ai.transport;

describe('AI Transport conformance', () => {
  it('normal turn: input, run start, streamed output, terminal append, run end', async () => {
    const sc = scenario('normal-turn');
    await standard(sc);
    // A delta subscriber at the default window: its appends are normalised to their text.
    await sc.join('v2-delta-w40', { protocol: 2, window: 40 });
    await sc.clientPublish('v2-delta', 'ai-input', 'What is rollup?', { 'codec-message-id': 'q1' }, 'in-1');
    await sc.publish('ai-run-start', '', { 'run-id': 'r1', 'invocation-id': 'i1', 'input-codec-message-id': 'q1' });
    const a = { 'run-id': 'r1', 'codec-message-id': 'a1', stream: 'true' };
    const ms = await sc.publish('ai-output', '', output('streaming', a));
    await tokens(sc, ms, ['Rollup', ' coalesces', ' the', ' appends', ' of', ' a', ' stream', ' per', ' window']);
    await sc.append(ms, '.', output('complete', a));
    await sc.publish('ai-run-end', '', { 'run-id': 'r1', 'run-reason': 'complete' });
    await finish(sc);
  });

  it('cancel: ai-cancel from the device, the output ends cancelled and stays locked, run end cancelled', async () => {
    const sc = scenario('cancel');
    await standard(sc);
    await sc.clientPublish('v2-delta', 'ai-input', 'Write a long story', { 'codec-message-id': 'q1' }, 'in-1');
    await sc.publish('ai-run-start', '', { 'run-id': 'r1', 'invocation-id': 'i1' });
    const a = { 'run-id': 'r1', 'codec-message-id': 'a1', stream: 'true' };
    const ms = await sc.publish('ai-output', '', output('streaming', a));
    await tokens(sc, ms, ['Once', ' upon', ' a']);
    await sc.clientPublish('v2-delta', 'ai-cancel', '', { 'run-id': 'r1' });
    await sc.append(ms, '', output('cancelled', a));
    // The terminal-append lock: nothing more is accepted, nothing more is delivered.
    await sc.append(ms, ' time', undefined, 400);
    await sc.publish('ai-run-end', '', { 'run-id': 'r1', 'run-reason': 'cancelled' });
    await finish(sc);
    const cancel = sc
      .sub('v2-full')
      .received()
      .find((f) => f.event === 'ai-cancel') as Frame;
    expect(transportOf(cancel)['run-client-id'], 'the server stamps the verified id').toBe('user-1');
  });

  it('error: the output is ended by an update with the error, then run end with run-reason error', async () => {
    const sc = scenario('error');
    await standard(sc);
    await sc.publish('ai-run-start', '', { 'run-id': 'r1', 'invocation-id': 'i1' });
    const a = { 'run-id': 'r1', 'codec-message-id': 'a1', stream: 'true' };
    const ms = await sc.publish('ai-output', '', output('streaming', a));
    await tokens(sc, ms, ['The answer', ' is']);
    const error = { 'error-code': 'model_overloaded', 'error-message': 'the model is overloaded' };
    await sc.mutate('update', ms, { extras: { ai: { transport: output('cancelled', { ...a, ...error }) } } });
    await sc.publish('ai-run-end', '', { 'run-id': 'r1', 'run-reason': 'error', ...error });
    await finish(sc);
  });

  it('edit: the user forks an earlier input; the new run answers the edited one', async () => {
    const sc = scenario('edit');
    await standard(sc);
    await sc.clientPublish('v2-delta', 'ai-input', 'What is rolup?', { 'codec-message-id': 'q1' }, 'in-1');
    await sc.publish('ai-run-start', '', { 'run-id': 'r1', 'invocation-id': 'i1', 'input-codec-message-id': 'q1' });
    const a1 = { 'run-id': 'r1', 'codec-message-id': 'a1', parent: 'q1' };
    const first = await sc.publish('ai-output', '', output('streaming', a1));
    await tokens(sc, first, ['Did you', ' mean']);
    await sc.append(first, ' rollup?', output('complete', a1));
    await sc.publish('ai-run-end', '', { 'run-id': 'r1', 'run-reason': 'complete' });
    await sc.clientPublish(
      'v2-delta',
      'ai-input',
      'What is rollup?',
      { 'codec-message-id': 'q2', 'fork-of': 'q1' },
      'in-2',
    );
    await sc.publish('ai-run-start', '', { 'run-id': 'r2', 'invocation-id': 'i2', 'input-codec-message-id': 'q2' });
    const a2 = { 'run-id': 'r2', 'codec-message-id': 'a2', parent: 'q2' };
    const second = await sc.publish('ai-output', '', output('streaming', a2));
    await tokens(sc, second, ['Egress', ' coalescing']);
    await sc.append(second, '.', output('complete', a2));
    await sc.publish('ai-run-end', '', { 'run-id': 'r2', 'run-reason': 'complete' });
    await finish(sc);
  });

  it('regenerate: a new output names the one it replaces; both stay readable', async () => {
    const sc = scenario('regenerate');
    await standard(sc);
    await sc.clientPublish('v2-delta', 'ai-input', 'Name a colour', { 'codec-message-id': 'q1' }, 'in-1');
    await sc.publish('ai-run-start', '', { 'run-id': 'r1', 'invocation-id': 'i1' });
    const a1 = { 'run-id': 'r1', 'codec-message-id': 'a1' };
    const first = await sc.publish('ai-output', '', output('streaming', a1));
    await sc.append(first, 'Blue', output('complete', a1));
    await sc.publish('ai-run-end', '', { 'run-id': 'r1', 'run-reason': 'complete' });
    await sc.publish('ai-run-start', '', { 'run-id': 'r2', 'invocation-id': 'i2' });
    const a2 = { 'run-id': 'r2', 'codec-message-id': 'a2', 'msg-regenerate': 'a1' };
    const second = await sc.publish('ai-output', '', output('streaming', a2));
    await tokens(sc, second, ['Ochre', ',', ' perhaps']);
    await sc.append(second, '.', output('complete', a2));
    await sc.publish('ai-run-end', '', { 'run-id': 'r2', 'run-reason': 'complete' });
    await finish(sc);
  });

  it('late join: rewind on subscribe, and until_attach history before and after live frames', async () => {
    const sc = scenario('late-join');
    await sc.publish('ai-run-start', '', { 'run-id': 'r1', 'invocation-id': 'i1' });
    const a = { 'run-id': 'r1', 'codec-message-id': 'a1' };
    const ms = await sc.publish('ai-output', '', output('streaming', a));
    await tokens(sc, ms, ['Half', ' of', ' the', ' text']);

    await sc.join('v2-delta', { protocol: 2, subscribe: { rewind: 10 } });
    await sc.sub('v2-delta').client.waitForEvent('sockudo:rewind_complete');
    // until_attach before anything new arrived ...
    const ack = await sc.join('v2-full', { protocol: 2, mode: 'full' });
    const full = sc.sub('v2-full');
    const history = { channel: sc.channel, until_attach: true, direction: 'oldest_first' };
    await sc.send('v2-full', { event: 'sockudo:channel_history', data: history });
    await full.client.waitForEvent('sockudo:channel_history');
    await sc.join('v1', { protocol: 7 });
    // ... and after live appends, which the client holds until the page is in.
    await sc.join('v2-delta-until-attach', { protocol: 2 });
    await tokens(sc, ms, [', and', ' the']);
    const late = sc.sub('v2-delta-until-attach');
    await sc.send(late.name, { event: 'sockudo:channel_history', data: history });
    const page = parseData(await late.client.waitForEvent('sockudo:channel_history'));
    expect((page.bounds as Record<string, unknown>).attach_serial).toBe(parseData(ack).attach_serial);
    await sc.append(ms, ' rest.', output('complete', a));
    await sc.publish('ai-run-end', '', { 'run-id': 'r1', 'run-reason': 'complete' });
    await finish(sc);
  });

  for (const [name, gap, source] of [
    ['recovery-hot', 3, 'hot'],
    ['recovery-cold', 12, 'cold'],
  ] as const) {
    it(`${name}: devices drop mid-stream and resume from their last serial (${source} tier)`, async () => {
      const sc = scenario(name);
      await standard(sc);
      await sc.publish('ai-run-start', '', { 'run-id': 'r1', 'invocation-id': 'i1' });
      const a = { 'run-id': 'r1', 'codec-message-id': 'a1' };
      const ms = await sc.publish('ai-output', '', output('streaming', a));
      await tokens(sc, ms, ['t0', ' t1', ' t2']);
      await sc.settle();
      const positions = new Map<string, { serial: number; stream_id: string }>();
      for (const n of ['v2-delta', 'v2-full']) {
        const frames = sc.sub(n).received();
        const ack = frames.find((f) => f.event.endsWith('subscription_succeeded')) as Frame;
        const serial = Math.max(...frames.filter((f) => f.event !== ack.event).map((f) => Number(f.serial ?? 0)));
        positions.set(n, { serial, stream_id: ack.stream_id as string });
      }
      for (const n of ['v2-delta', 'v2-full', 'v1']) await sc.disconnect(n);
      await tokens(
        sc,
        ms,
        Array.from({ length: gap }, (_, i) => ` g${i}`),
      );
      const recovered: unknown[] = [];
      for (const n of ['v2-delta', 'v2-full']) {
        const s = sc.sub(n);
        await sc.join(n, s.opts);
        await sc.send(n, { event: 'sockudo:resume', data: { channel_positions: { [sc.channel]: positions.get(n) } } });
        recovered.push(...(parseData(await s.client.waitForEvent('sockudo:resume_success')).recovered as unknown[]));
      }
      await sc.join('v1', { protocol: 7 });
      await tokens(sc, ms, [' t3']);
      await sc.append(ms, ' t4.', output('complete', a));
      await sc.publish('ai-run-end', '', { 'run-id': 'r1', 'run-reason': 'complete' });
      await finish(sc);
      expect(recovered).toMatchObject([{ source, replayed: gap }, { replayed: gap }]);
    });
  }

  // A full-mode socket that resumes from the version store gets each replayed append with the
  // aggregate as of that version (messages/replay.ts), like the live frames it missed.
  it('full-mode resume: each replayed append carries the aggregate as of its version', async () => {
    const sc = scenario('full-replay-aggregate');
    await sc.join('v2-full', { protocol: 2, mode: 'full' });
    const a = { 'run-id': 'r1', 'codec-message-id': 'a1' };
    const ms = await sc.publish('ai-output', '', output('streaming', a));
    await tokens(sc, ms, ['t0']);
    await sc.settle();
    const ack = sc
      .sub('v2-full')
      .received()
      .find((f) => f.event.endsWith('subscription_succeeded')) as Frame;
    await sc.disconnect('v2-full');
    await tokens(sc, ms, [' g0', ' g1']);
    await sc.join('v2-full', { protocol: 2, mode: 'full' });
    const position = { serial: 2, stream_id: ack.stream_id };
    await sc.send('v2-full', { event: 'sockudo:resume', data: { channel_positions: { [sc.channel]: position } } });
    await sc.sub('v2-full').client.waitForEvent('sockudo:resume_success');
    await sc.append(ms, '', output('complete', a));
    await sc.settle();
    sc.assertSemantics();
    sc.assertFramesCarryTheirVersion('v2-full');
  });

  it('concurrent turns on one channel: two runs stream interleaved and end in the other order', async () => {
    const sc = scenario('concurrent-turns');
    await standard(sc);
    await sc.clientPublish('v2-delta', 'ai-input', 'Compare A and B', { 'codec-message-id': 'q1' }, 'in-1');
    await sc.publish('ai-run-start', '', { 'run-id': 'r1', 'invocation-id': 'i1' });
    await sc.publish('ai-run-start', '', { 'run-id': 'r2', 'invocation-id': 'i2' });
    const x = { 'run-id': 'r1', 'codec-message-id': 'a1' };
    const y = { 'run-id': 'r2', 'codec-message-id': 'a2' };
    const a = await sc.publish('ai-output', '', output('streaming', x));
    const b = await sc.publish('ai-output', '', output('streaming', y));
    for (let i = 0; i < 4; i++) {
      await sc.append(a, ` a${i}`);
      await sc.append(b, ` b${i}`);
    }
    await sc.append(b, '.', output('complete', y));
    await sc.publish('ai-run-end', '', { 'run-id': 'r2', 'run-reason': 'complete' });
    await sc.append(a, '.', output('complete', x));
    await sc.publish('ai-run-end', '', { 'run-id': 'r1', 'run-reason': 'complete' });
    await finish(sc);
  });

  it('suspended continuation: run suspends for the user, resumes with a new invocation id, same run id', async () => {
    const sc = scenario('suspend-resume');
    await standard(sc);
    await sc.clientPublish('v2-delta', 'ai-input', 'Book the 9:40 flight', { 'codec-message-id': 'q1' }, 'in-1');
    await sc.publish('ai-run-start', '', { 'run-id': 'r1', 'invocation-id': 'i1' });
    const a1 = { 'run-id': 'r1', 'invocation-id': 'i1', 'codec-message-id': 'a1' };
    const first = await sc.publish('ai-output', '', output('streaming', a1));
    await tokens(sc, first, ['Found it', '. Book', ' it?']);
    await sc.append(first, '', output('complete', a1));
    await sc.publish('ai-run-suspend', '', { 'run-id': 'r1', 'invocation-id': 'i1' });
    await sc.clientPublish('v2-delta', 'ai-input', 'Yes', { 'codec-message-id': 'q2', parent: 'a1' }, 'in-2');
    await sc.publish('ai-run-resume', '', { 'run-id': 'r1', 'invocation-id': 'i2', 'run-continue': 'true' });
    const a2 = { 'run-id': 'r1', 'invocation-id': 'i2', 'codec-message-id': 'a2' };
    const second = await sc.publish('ai-output', '', output('streaming', a2));
    await tokens(sc, second, ['Booked', '.']);
    await sc.append(second, '', output('complete', a2));
    await sc.publish('ai-run-end', '', { 'run-id': 'r1', 'invocation-id': 'i2', 'run-reason': 'complete' });
    await finish(sc);
    const runs = sc
      .sub('v2-full')
      .received()
      .filter((f) => f.event.startsWith('ai-run-'))
      .map((f) => [f.event, transportOf(f)['run-id'], transportOf(f)['invocation-id']]);
    expect(runs).toEqual([
      ['ai-run-start', 'r1', 'i1'],
      ['ai-run-suspend', 'r1', 'i1'],
      ['ai-run-resume', 'r1', 'i2'],
      ['ai-run-end', 'r1', 'i2'],
    ]);
  });
});
