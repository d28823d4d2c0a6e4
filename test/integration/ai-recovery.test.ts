// Connection recovery (PROTOCOL.md 6.5) over real sockets: a subscriber disconnects mid-stream
// and resumes on a new socket from its last serial — from the hot buffer when the gap is small,
// from the version store when it is not — with no gap and no duplicate; wrong stream ids, legacy
// positions, disabled recovery and missing positions get their documented answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageReducer } from '../../dataplane/src/messages/reducer.ts';
import { APP, parseData, type StreamNode, startStreamNode, subscribePrivate } from '../helpers/stream-node.ts';
import type { Frame, TestWsClient } from '../helpers/ws-client.ts';

let sn: StreamNode;
beforeAll(async () => {
  sn = await startStreamNode({
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
afterAll(async () => {
  await sn?.stop();
});

const streaming = { ai: { transport: { status: 'streaming', role: 'assistant' } } };

async function openStream(channel: string): Promise<string> {
  const r = await sn.publish({ name: 'ai-output', channel, data: '', extras: streaming });
  expect(r.status, r.text).toBe(200);
  return ((r.json().channels as Record<string, Record<string, unknown>>)[channel] as Record<string, unknown>)
    .message_serial as string;
}

async function append(channel: string, ms: string, n: number, from: number): Promise<string> {
  let text = '';
  for (let i = from; i < from + n; i++) {
    const r = await sn.mutate(channel, ms, 'append', { data: `t${i} ` });
    expect(r.status, r.text).toBe(200);
    text += `t${i} `;
  }
  return text;
}

/** Serials of delivered messages (the subscription ack's `serial` is a checkpoint, not a message). */
const serialsOf = (frames: Frame[]) =>
  frames
    .filter((f) => typeof f.serial === 'number' && !f.event.endsWith('subscription_succeeded'))
    .map((f) => f.serial as number);

async function resumeAfterDisconnect(channel: string, gap: number, mode: 'delta' | 'full') {
  const query = { protocol: '2', append_rollup_window: '0', append_mode: mode };
  const first = await sn.socket(query);
  const ack = await subscribePrivate(sn, first, channel);
  const streamId = ack.stream_id as string;
  expect(typeof streamId).toBe('string');
  const ms = await openStream(channel);
  let expected = await append(channel, ms, 3, 0);
  await first.waitFor((f) => f.serial === 4);
  const seen = [...first.frames];
  const last = Math.max(...serialsOf(seen));
  first.close();
  await first.waitClose();
  expected += await append(channel, ms, gap, 3);

  const again = await sn.socket(query);
  await subscribePrivate(sn, again, channel);
  again.send({
    event: 'sockudo:resume',
    data: { channel_positions: { [channel]: { serial: last, stream_id: streamId } } },
  });
  const success = parseData(await again.waitForEvent('sockudo:resume_success'));
  expected += await append(channel, ms, 2, 3 + gap);
  const lastSerial = 1 + 3 + gap + 2;
  await again.waitFor((f) => f.serial === lastSerial);
  const reducer = new MessageReducer(mode);
  for (const f of [...seen, ...again.frames]) reducer.apply(f);
  expect(reducer.get(ms)?.data).toBe(expected);
  const all = [...serialsOf(seen), ...serialsOf(again.frames)];
  expect(all, 'every serial exactly once').toEqual(Array.from({ length: lastSerial }, (_, i) => i + 1));
  again.close();
  return success;
}

describe('sockudo:resume', () => {
  it('replays a small gap from the hot buffer', async () => {
    const success = await resumeAfterDisconnect('private-ai-hot', 3, 'delta');
    expect(success.failed).toEqual([]);
    expect(success.recovered).toMatchObject([{ channel: 'private-ai-hot', source: 'hot', replayed: 3 }]);
  });

  it('replays a gap larger than the hot buffer from the version store', async () => {
    const success = await resumeAfterDisconnect('private-ai-cold', 12, 'delta');
    expect(success.recovered).toMatchObject([{ channel: 'private-ai-cold', source: 'cold', replayed: 12 }]);
  });

  it('recovers a full-mode socket (cold tier) to the same text', async () => {
    const success = await resumeAfterDisconnect('private-ai-full', 4, 'full');
    expect(success.recovered).toMatchObject([{ source: 'cold', replayed: 4 }]);
  });

  it('replays to a full-mode socket the aggregate of each version, not the latest text every time', async () => {
    const channel = 'private-ai-full-versions';
    const query = { protocol: '2', append_rollup_window: '0', append_mode: 'full' };
    const first = await sn.socket(query);
    const ack = await subscribePrivate(sn, first, channel);
    const ms = await openStream(channel);
    await first.waitFor((f) => f.serial === 1);
    first.close();
    await first.waitClose();
    await append(channel, ms, 8, 0);
    const again = await sn.socket(query);
    await subscribePrivate(sn, again, channel);
    again.send({
      event: 'sockudo:resume',
      data: { channel_positions: { [channel]: { serial: 1, stream_id: ack.stream_id } } },
    });
    expect(parseData(await again.waitForEvent('sockudo:resume_success')).recovered).toMatchObject([{ source: 'cold' }]);
    const replayed = again.frames.filter((f) => f.event === 'sockudo:message.append').map((f) => f.data);
    expect(replayed).toEqual(
      Array.from({ length: 8 }, (_, k) => Array.from({ length: k + 1 }, (_, i) => `t${i} `).join('')),
    );
    again.close();
  });

  it('replays one frame per run of appends to a socket with a rollup window, as live rollup would', async () => {
    const channel = 'private-ai-full-window';
    const query = { protocol: '2', append_rollup_window: '40', append_mode: 'full' };
    const first = await sn.socket(query);
    const ack = await subscribePrivate(sn, first, channel);
    const ms = await openStream(channel);
    await first.waitFor((f) => f.serial === 1);
    first.close();
    await first.waitClose();
    const text = await append(channel, ms, 8, 0);
    const again = await sn.socket(query);
    await subscribePrivate(sn, again, channel);
    again.send({
      event: 'sockudo:resume',
      data: { channel_positions: { [channel]: { serial: 1, stream_id: ack.stream_id } } },
    });
    const success = parseData(await again.waitForEvent('sockudo:resume_success'));
    expect(success.recovered).toMatchObject([{ source: 'cold', replayed: 1, position: { serial: 9 } }]);
    const replayed = again.frames.filter((f) => f.event === 'sockudo:message.append');
    expect(replayed.map((f) => [f.serial, f.data])).toEqual([[9, text]]);
    again.close();
  });

  it('answers a wrong stream id with stream_reset and releases live frames after resume_success', async () => {
    const channel = 'private-ai-reset';
    const ms = await openStream(channel);
    const c = await sn.socket({ protocol: '2', append_rollup_window: '0' });
    await subscribePrivate(sn, c, channel);
    c.send({ event: 'sockudo:resume', data: { channel_positions: { [channel]: { serial: 1, stream_id: 'nope' } } } });
    const failed = await c.waitForEvent('sockudo:resume_failed');
    expect(failed.channel).toBe(channel);
    expect(parseData(failed)).toMatchObject({ code: 'stream_reset', expected_stream_id: 'nope' });
    const success = parseData(await c.waitForEvent('sockudo:resume_success'));
    expect(success.failed).toMatchObject([{ channel, code: 'stream_reset' }]);
    await append(channel, ms, 1, 0);
    await c.waitFor((f) => f.event === 'sockudo:message.append');
    c.close();
  });

  it('gives continuity_unverifiable to a legacy serial-only position the hot buffer cannot serve', async () => {
    const channel = 'private-ai-legacy';
    const ms = await openStream(channel);
    await append(channel, ms, 8, 0);
    const c = await sn.socket({ protocol: '2' });
    await subscribePrivate(sn, c, channel);
    c.send({ event: 'sockudo:resume', data: { channel_serials: { [channel]: 1 } } });
    expect(parseData(await c.waitForEvent('sockudo:resume_failed'))).toMatchObject({ code: 'continuity_unverifiable' });
    c.close();
  });

  it('refuses a resume without positions (4302) and a malformed one (4000); V1 sockets ignore it', async () => {
    const c = await sn.socket({ protocol: '2' });
    c.send({ event: 'sockudo:resume', data: {} });
    expect(parseData(await c.waitForEvent('sockudo:error'))).toMatchObject({ code: 4302 });
    c.send({ event: 'sockudo:resume', data: { channel_positions: { x: { serial: -1 } } } });
    expect(parseData(await c.waitForEvent('sockudo:error'))).toMatchObject({ code: 4000 });
    c.close();
    const v1 = await sn.socket({ protocol: '7' });
    v1.send({ event: 'pusher:resume', data: { channel_positions: { x: { serial: 1 } } } });
    v1.send({ event: 'pusher:ping' });
    await v1.waitForEvent('pusher:pong');
    expect(v1.frames.map((f) => f.event)).toEqual(['pusher:connection_established', 'pusher:pong']);
    v1.close();
  });
});

describe('recovery disabled', () => {
  let off: StreamNode;
  beforeAll(async () => {
    off = await startStreamNode({ recovery: { enabled: false } });
  });
  afterAll(async () => {
    await off?.stop();
  });
  it('answers 4301 and omits the recovery checkpoint from the ack', async () => {
    const c: TestWsClient & { socketId: string } = await off.socket({ protocol: '2' });
    const ack = await subscribePrivate(off, c, 'private-ai-x');
    expect(ack.stream_id).toBeUndefined();
    expect(parseData(ack).attach_serial).toBe(0);
    c.send({ event: 'sockudo:resume', data: { channel_positions: { 'private-ai-x': { serial: 0 } } } });
    expect(parseData(await c.waitForEvent('sockudo:error'))).toMatchObject({
      code: 4301,
      message: 'Connection recovery is not enabled',
    });
    c.close();
  });
});
