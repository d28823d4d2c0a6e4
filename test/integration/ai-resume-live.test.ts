// Resume while the stream is live (PROTOCOL.md 6.5): a client reconnects again and again to a
// channel whose turn keeps streaming, sends `sockudo:resume` right behind its subscribe, and
// keeps whatever each socket got. Replay, the frames held during the replay and the live frames
// after it must join into one strictly increasing serial sequence — contiguous at window 0 — for
// delta and full mode, with a standing subscriber keeping the window group busy meanwhile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageReducer } from '../../dataplane/src/messages/reducer.ts';
import { type StreamNode, startStreamNode, subscribePrivate } from '../helpers/stream-node.ts';
import type { Frame } from '../helpers/ws-client.ts';

let sn: StreamNode;
beforeAll(async () => {
  sn = await startStreamNode();
});
afterAll(async () => {
  await sn?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const streaming = { ai: { transport: { status: 'streaming', role: 'assistant' } } };

async function resumeLoop(mode: 'delta' | 'full', window: number) {
  const channel = `private-ai-resume-live-${mode}-${window}`;
  const query = { protocol: '2', append_mode: mode, append_rollup_window: String(window) };
  // The standing subscriber: the window group has members while the resumer attaches.
  const standing = await sn.socket(query);
  await subscribePrivate(sn, standing, channel);
  const created = await sn.publish({ name: 'ai-output', channel, data: '', extras: streaming });
  expect(created.status, created.text).toBe(200);
  const ms = ((created.json().channels as Record<string, Record<string, unknown>>)[channel] as Record<string, unknown>)
    .message_serial as string;

  let sent = '';
  let producing = true;
  const producer = (async () => {
    for (let i = 0; producing && i < 400; i++) {
      const r = await sn.mutate(channel, ms, 'append', { data: `t${i} ` });
      expect(r.status, r.text).toBe(200);
      sent += `t${i} `;
      await sleep(4);
    }
  })();

  const serials: number[] = [];
  const reducer = new MessageReducer(mode);
  let streamId: string | undefined;
  let last = 0;
  for (let round = 0; round < 12; round++) {
    const c = await sn.socket(query);
    const auth = sn.auth(c.socketId, channel);
    c.send({ event: 'sockudo:subscribe', data: { channel, auth } });
    if (round > 0) {
      c.send({
        event: 'sockudo:resume',
        data: { channel_positions: { [channel]: { serial: last, stream_id: streamId } } },
      });
    }
    const ack = await c.waitForEvent('sockudo_internal:subscription_succeeded');
    streamId ??= ack.stream_id as string;
    if (round > 0) await c.waitForEvent('sockudo:resume_success');
    await sleep(30 + ((round * 37) % 90));
    c.close();
    await c.waitClose();
    for (const f of c.frames as Frame[]) {
      if (f.channel !== channel || typeof f.serial !== 'number' || f.event.endsWith('subscription_succeeded')) continue;
      // The first socket joins mid-stream: it starts from what it was sent live.
      if (round === 0 && serials.length === 0 && f.event !== 'sockudo:message.create') {
        continue;
      }
      serials.push(f.serial);
      reducer.apply(f);
      last = Math.max(last, f.serial);
    }
  }
  producing = false;
  await producer;
  for (let i = 1; i < serials.length; i++) {
    const prev = serials[i - 1] as number;
    const cur = serials[i] as number;
    expect(cur, `serial at index ${i} after ${prev}: ${serials.slice(Math.max(0, i - 5), i + 5)}`).toBeGreaterThan(
      prev,
    );
    if (window === 0) expect(cur, `gap at index ${i}`).toBe(prev + 1);
  }
  // Everything the reconnecting client saw reduces to a prefix of what was sent.
  const text = (reducer.get(ms)?.data as string | undefined) ?? '';
  expect(sent.startsWith(text), `reduced ${text.length} chars is not a prefix of the sent text`).toBe(true);
  standing.close();
}

describe('resume while the stream is live', () => {
  for (const [mode, window] of [
    ['delta', 0],
    ['full', 0],
    ['delta', 40],
    ['full', 40],
  ] as const) {
    it(`${mode} mode, window ${window}: replay, held and live frames join without duplicate or gap`, async () => {
      await resumeLoop(mode, window);
    }, 30_000);
  }
});
