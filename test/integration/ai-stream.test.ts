// A full AI turn over real sockets (run start, output create, appends at a steady rate, terminal
// append, run end), watched by V2 delta, V2 full and protocol-7 subscribers; then late joiners.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageReducer } from '../../dataplane/src/messages/reducer.ts';
import {
  APP,
  messagePath,
  parseData,
  type StreamNode,
  sleep,
  startStreamNode,
  subscribePrivate,
} from '../helpers/stream-node.ts';
import type { Frame } from '../helpers/ws-client.ts';

let sn: StreamNode;
beforeAll(async () => {
  sn = await startStreamNode();
});
afterAll(async () => {
  await sn?.stop();
});

const aiOut = (status: string, extra: Record<string, string> = {}) => ({
  ai: { transport: { status, role: 'assistant', 'run-id': 'run-1', ...extra }, codec: {} },
});

const APPENDS = 400;

function framesOf(frames: Frame[], ms: string): Frame[] {
  return frames.filter(
    (f) => (f.extras as { headers?: Record<string, unknown> } | undefined)?.headers?.sockudo_message_serial === ms,
  );
}

describe('an AI turn', () => {
  it('streams to delta, full and protocol-7 subscribers; rollup bounds the frames; every view converges', async () => {
    const channel = 'private-ai-session-1';
    const delta = await sn.socket({ protocol: '2' });
    const full = await sn.socket({ protocol: '2', append_mode: 'full', append_rollup_window: '0' });
    const v1 = await sn.socket({ protocol: '7' });
    for (const c of [delta, full])
      expect((await subscribePrivate(sn, c, channel)).event).toBe('sockudo_internal:subscription_succeeded');
    expect((await subscribePrivate(sn, v1, channel, {}, 'pusher')).event).toBe(
      'pusher_internal:subscription_succeeded',
    );

    const start = await sn.publish({ name: 'ai-run-start', channel, data: '', extras: aiOut('streaming') });
    expect(start.status).toBe(200);
    const created = await sn.publish({ name: 'ai-output', channel, data: '', extras: aiOut('streaming') });
    expect(created.status, created.text).toBe(200);
    const ack = (created.json().channels as Record<string, Record<string, unknown>>)[channel] as Record<
      string,
      unknown
    >;
    const ms = ack.message_serial as string;
    expect(ack.acknowledgement_id).toBe(ms);
    expect(ack.delivery_serial).toBeGreaterThan(0);

    // 400 appends at 100 tokens/s, paced against the clock (not cumulative sleeps).
    const tokens: string[] = [];
    const t0 = Date.now();
    for (let i = 0; i < APPENDS; i++) {
      const tok = `tok${i} `;
      tokens.push(tok);
      const r = await sn.mutate(channel, ms, 'append', { data: tok });
      expect(r.status, r.text).toBe(200);
      await sleep(t0 + (i + 1) * 10 - Date.now());
    }
    const done = await sn.mutate(channel, ms, 'append', { data: '.', extras: aiOut('complete') });
    expect(done.status, done.text).toBe(200);
    const elapsed = Date.now() - t0;
    const end = await sn.publish({
      name: 'ai-run-end',
      channel,
      data: '',
      extras: aiOut('complete', { 'run-reason': 'complete' }),
    });
    expect(end.status).toBe(200);
    const expected = `${tokens.join('')}.`;

    await delta.waitFor((f) => f.event === 'ai-run-end');
    await full.waitFor((f) => f.event === 'ai-run-end');
    await v1.waitFor((f) => f.event === 'ai-run-end');

    for (const [c, mode] of [
      [delta, 'delta'],
      [full, 'full'],
    ] as const) {
      const r = new MessageReducer(mode);
      for (const f of c.frames) r.apply(f);
      expect(r.get(ms)?.data, mode).toBe(expected);
      const serials = c.frames.filter((f) => typeof f.serial === 'number').map((f) => f.serial as number);
      expect(
        [...serials].sort((a, b) => a - b),
        `${mode} serials in order`,
      ).toEqual(serials);
    }
    // Window 0 (full socket): every append delivered; window 40 (delta): at most 1000/W per second + 2.
    expect(framesOf(full.frames, ms).filter((f) => f.event === 'sockudo:message.append')).toHaveLength(APPENDS + 1);
    const deltaAppends = framesOf(delta.frames, ms).filter((f) => f.event === 'sockudo:message.append').length;
    expect(deltaAppends).toBeLessThanOrEqual(Math.ceil(elapsed / 40) + 2);
    expect(deltaAppends).toBeLessThan(APPENDS / 2);
    // Protocol 7: creates as plain events, never mutations, no V2 fields.
    expect(v1.frames.some((f) => f.event.startsWith('sockudo:'))).toBe(false);
    const v1Out = v1.frames.find((f) => f.event === 'ai-output');
    expect(v1Out && ('extras' in v1Out || 'serial' in v1Out)).toBe(false);

    const latest = await sn.rest('GET', messagePath(channel, ms));
    expect(latest.status, latest.text).toBe(200);
    const item = latest.json().item as Record<string, unknown>;
    expect(item.data).toBe(expected);
    expect(item.message_serial).toBe(ms);
    expect(item.action).toBe('append');

    const versions = await sn.rest('GET', messagePath(channel, ms, '/versions?limit=5&direction=oldest_first'));
    expect(versions.status, versions.text).toBe(200);
    expect(versions.status, versions.text).toBe(200);
    const vitems = versions.json().items as Array<Record<string, unknown>>;
    expect(vitems.map((v) => v.data)).toEqual(['', 'tok0 ', 'tok1 ', 'tok2 ', 'tok3 ']);
    expect(versions.json().has_more).toBe(true);

    // A late joiner: rewind and until_attach give the aggregate, never a gap or a duplicate.
    const late = await sn.socket({ protocol: '2' });
    const lateAck = await subscribePrivate(sn, late, channel, { rewind: 10 });
    const attach = parseData(lateAck).attach_serial as number;
    expect(attach).toBe(3);
    await late.waitForEvent('sockudo:rewind_complete');
    const reducer = new MessageReducer('delta');
    for (const f of late.frames) if (f.message_serial) reducer.seed(f);
    expect(reducer.get(ms)?.data).toBe(expected);
    late.send({ event: 'sockudo:channel_history', data: { channel, until_attach: true, direction: 'oldest_first' } });
    const page = parseData(await late.waitForEvent('sockudo:channel_history'));
    const items = page.items as Array<Record<string, unknown>>;
    expect(items.map((i) => i.event_name)).toEqual(['ai-run-start', 'ai-output', 'ai-run-end']);
    expect((items[1]?.message as Record<string, unknown> | undefined)?.data).toBe(expected);
    expect((page.bounds as Record<string, unknown>).attach_serial).toBe(3);

    const hist = await sn.rest('GET', `/apps/${APP.id}/channels/${channel}/history?limit=2`);
    expect(hist.status, hist.text).toBe(200);
    expect((hist.json().items as unknown[]).length).toBe(2);
    expect(hist.json().has_more).toBe(true);
    for (const c of [delta, full, v1, late]) c.close();
  }, 30_000);
});
