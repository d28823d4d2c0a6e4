// AI Transport conventions over real sockets and signed REST: cancel and regenerate sequences,
// the orphan janitor, the terminal-append lock and the AI limits, `extras.ai` validation,
// ai-input/ai-cancel over WebSocket (identity, stamping, anti-spoof), idempotency by message_id
// and op_id, and mutation authorization by socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCapabilityToken } from '../../dataplane/src/auth/index.ts';
import { MessageReducer } from '../../dataplane/src/messages/reducer.ts';
import {
  APP,
  messagePath,
  parseData,
  type StreamNode,
  signin,
  sleep,
  startStreamNode,
  subscribePrivate,
} from '../helpers/stream-node.ts';

let sn: StreamNode;
beforeAll(async () => {
  sn = await startStreamNode({
    aiTransport: {
      enabled: true,
      channelPrefixes: ['private-ai-'],
      orphanTtlMs: 300,
      janitorIntervalMs: 100,
      maxAppendsPerMessage: 5,
      maxOpenStreamingMessagesPerChannel: 2,
      maxAccumulatedMessageBytes: 2048,
    },
    apps: [{ ...APP, enableClientMessages: true }],
  });
});
afterAll(async () => {
  await sn?.stop();
});

const tx = (status: string, extra: Record<string, string> = {}) => ({
  ai: { transport: { status, role: 'assistant', ...extra } },
});

async function create(channel: string, extras: unknown = tx('streaming'), more: Record<string, unknown> = {}) {
  const r = await sn.publish({ name: 'ai-output', channel, data: '', extras, ...more });
  expect(r.status, r.text).toBe(200);
  return ((r.json().channels as Record<string, Record<string, unknown>>)[channel] as Record<string, unknown>)
    .message_serial as string;
}

describe('stream lifecycle', () => {
  it('cancel: ai-cancel from the user, then the producer ends the stream cancelled', async () => {
    const channel = 'private-ai-cancel';
    const user = await sn.socket({ protocol: '2' });
    await signin(user, 'u1');
    await subscribePrivate(sn, user, channel);
    const ms = await create(channel, tx('streaming', { 'run-id': 'r1' }));
    await sn.mutate(channel, ms, 'append', { data: 'partial' });
    user.send({ event: 'ai-cancel', channel, data: '', extras: { ai: { transport: { 'run-id': 'r1' } } } });
    const echoed = await user.waitForEvent('ai-cancel');
    const stamped = (echoed.extras as { ai: { transport: Record<string, string> } }).ai.transport;
    expect(stamped['run-client-id']).toBe('u1');
    const done = await sn.mutate(channel, ms, 'append', { data: '', extras: tx('cancelled', { 'run-id': 'r1' }) });
    expect(done.status, done.text).toBe(200);
    const after = await sn.mutate(channel, ms, 'append', { data: 'late' });
    expect(after.status).toBe(400);
    expect(after.json()).toMatchObject({ code: 'invalid_input', error: 'cannot append to a terminal message' });
    const latest = (await sn.rest('GET', messagePath(channel, ms))).json().item as Record<string, unknown>;
    expect(latest.data).toBe('partial');
    user.close();
  });

  it('regenerate: a new output names the old one; both stay readable', async () => {
    const channel = 'private-ai-regen';
    const first = await create(channel, tx('complete', { 'codec-message-id': 'c1' }));
    const second = await create(channel, tx('streaming', { 'msg-regenerate': 'c1' }));
    expect(second).not.toBe(first);
    const r = await sn.rest('GET', `/apps/${APP.id}/channels/${channel}/history?direction=oldest_first`);
    const items = r.json().items as Array<{ message: { extras: { ai: { transport: Record<string, string> } } } }>;
    expect(items.map((i) => i.message.extras.ai.transport['msg-regenerate'] ?? null)).toEqual([null, 'c1']);
    await sn.mutate(channel, second, 'update', { extras: tx('complete') });
  });

  it('the orphan janitor cancels a stream whose producer went silent, and subscribers see it', async () => {
    const channel = 'private-ai-orphan';
    const c = await sn.socket({ protocol: '2' });
    await subscribePrivate(sn, c, channel);
    const ms = await create(channel);
    await sn.mutate(channel, ms, 'append', { data: 'half a sen' });
    const update = await c.waitFor((f) => f.event === 'sockudo:message.update', 5000);
    const t = (update.extras as { ai: { transport: Record<string, string> } }).ai.transport;
    expect(t).toMatchObject({ status: 'cancelled', 'error-code': 'orphan_timeout' });
    expect(update.data).toBe('half a sen');
    expect(await metric('ai_orphans_cancelled_total')).toBeGreaterThanOrEqual(1);
    c.close();
  });
});

async function metric(name: string): Promise<number> {
  const text = await sn.node.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`ait_${name}{`) || l.startsWith(`ait_${name} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('limits', () => {
  it('caps appends per message, accumulated bytes and open streams (413, ai_code 40009)', async () => {
    const channel = 'private-ai-limits';
    const ms = await create(channel);
    for (let i = 0; i < 5; i++) expect((await sn.mutate(channel, ms, 'append', { data: 'x' })).status).toBe(200);
    const sixth = await sn.mutate(channel, ms, 'append', { data: 'x' });
    expect(sixth.status).toBe(413);
    expect(sixth.json()).toMatchObject({ code: 'payload_too_large', ai_code: 40009 });
    const big = await create(channel);
    const tooBig = await sn.mutate(channel, big, 'append', { data: 'y'.repeat(3000) });
    expect(tooBig.status).toBe(413);
    // Two are streaming now: a third streaming create is refused, a non-streaming one is not.
    const third = await sn.publish({ name: 'ai-output', channel, data: '', extras: tx('streaming') });
    expect(third.status).toBe(413);
    expect(third.json().error).toMatch(/open streaming message count/);
    expect((await sn.publish({ name: 'ai-output', channel, data: 'done', extras: tx('complete') })).status).toBe(200);
    for (const m of [ms, big]) await sn.mutate(channel, m, 'update', { extras: tx('complete') });
  });

  it('rejects bad extras.ai with the registry codes, and AI events off AI channels', async () => {
    const channel = 'private-ai-bad';
    const bad = async (extras: unknown, name = 'ai-output', ch = channel) =>
      (await sn.publish({ name, channel: ch, data: '', extras })).json();
    expect(await bad({ ai: { transport: { nope: 'x' } } })).toMatchObject({ ai_code: 104000, status: 400 });
    expect(await bad({ ai: { transport: { role: 'wizard' } } })).toMatchObject({ ai_code: 104000 });
    expect(await bad({ ai: { transport: { model: 'm'.repeat(300) } } })).toMatchObject({
      ai_code: 104001,
      status: 413,
    });
    expect(await bad({ ai: { other: {} } })).toMatchObject({ ai_code: 104000 });
    expect(await bad({ ai: { transport: { status: 'streaming' } } }, 'ai-output', 'not-ai')).toMatchObject({
      ai_code: 104003,
      status: 403,
    });
    expect(await bad(undefined, 'ai-run-start', 'not-ai')).toMatchObject({ ai_code: 104003 });
    const mid = await sn.publish({ name: 'ai-output', channel, data: '', message_id: 'm'.repeat(65) });
    expect(mid.json()).toMatchObject({ ai_code: 104001 });
    const batch = await sn.rest('POST', `/apps/${APP.id}/batch_events`, {
      batch: [
        { name: 'ai-output', channel, data: 'ok', extras: tx('complete') },
        { name: 'ai-output', channel, data: '', extras: { ai: { transport: { nope: '1' } } } },
      ],
    });
    expect(batch.status).toBe(400);
    expect(batch.json().items).toMatchObject([{ index: 1 }]);
    const hist = await sn.rest('GET', `/apps/${APP.id}/channels/${channel}/history`);
    expect(hist.json().items, 'nothing of the invalid batch was published').toEqual([]);
  });
});

describe('ai-input over WebSocket', () => {
  it('stamps the verified client id, echoes by default, and creates a versioned message', async () => {
    const channel = 'private-ai-input';
    const agent = await sn.socket({ protocol: '2' });
    await subscribePrivate(sn, agent, channel);
    const user = await sn.socket({ protocol: '2' });
    await signin(user, 'alice');
    await subscribePrivate(sn, user, channel);
    user.send({ event: 'ai-input', channel, data: 'hi there', message_id: 'in-1', extras: { ai: { transport: {} } } });
    const got = await agent.waitForEvent('ai-input');
    expect(got.message_id).toBe('in-1');
    expect((got.extras as { ai: { transport: Record<string, string> } }).ai.transport['input-client-id']).toBe('alice');
    expect((got.extras as { headers: Record<string, unknown> }).headers.sockudo_action).toBe('message.create');
    expect(got.user_id).toBe('alice');
    await user.waitForEvent('ai-input');
    user.close();
    agent.close();
  });

  it('refuses spoofed ids, agent events, missing identity, V1 and unsubscribed sockets', async () => {
    const channel = 'private-ai-spoof';
    const user = await sn.socket({ protocol: '2' });
    const err = async (frame: Record<string, unknown>) => {
      user.send(frame);
      return parseData(await user.waitForEvent('sockudo:error'));
    };
    await subscribePrivate(sn, user, channel);
    expect(await err({ event: 'ai-input', channel, data: 'x' })).toMatchObject({ code: 4009 });
    await signin(user, 'bob');
    expect(
      await err({ event: 'ai-input', channel, data: 'x', extras: { ai: { transport: { 'input-client-id': 'eve' } } } }),
    ).toMatchObject({ code: 4000, ai_code: 104002 });
    expect(await err({ event: 'ai-output', channel, data: 'x' })).toMatchObject({ code: 4000, ai_code: 104003 });
    expect(await err({ event: 'ai-input', channel: 'private-ai-other', data: 'x' })).toMatchObject({ code: 4301 });
    user.close();
    const v1 = await sn.socket({ protocol: '7' });
    v1.send({ event: 'ai-input', channel, data: 'x' });
    expect(parseData(await v1.waitForEvent('pusher:error'))).toMatchObject({ code: 4000, ai_code: 104003 });
    v1.close();
  });
});

describe('idempotency', () => {
  it('a retried publish with the same message_id returns the first ack and is not broadcast again', async () => {
    const channel = 'private-ai-idem';
    const c = await sn.socket({ protocol: '2' });
    await subscribePrivate(sn, c, channel);
    const body = { name: 'ai-output', channel, data: 'once', message_id: 'msg-1', extras: tx('complete') };
    const a = await sn.publish(body);
    const b = await sn.publish(body);
    expect(b.json()).toEqual(a.json());
    const conflict = await sn.publish({ ...body, data: 'twice' });
    expect(conflict.status).toBe(400);
    expect(conflict.json().error).toMatch(/different payload/);
    await sleep(50);
    expect(c.frames.filter((f) => f.event === 'ai-output')).toHaveLength(1);
    c.close();
  });

  it('op_id makes a retried mutation a duplicate (no second version, no fanout)', async () => {
    const channel = 'private-ai-op';
    const ms = await create(channel);
    const r1 = await sn.mutate(channel, ms, 'append', { data: 'a', op_id: 'op-1' });
    const r2 = await sn.mutate(channel, ms, 'append', { data: 'a', op_id: 'op-1' });
    expect(r1.json()).toMatchObject({ status: 'applied', action: 'append', accepted: true });
    expect(r2.json()).toMatchObject({ status: 'duplicate', version_serial: r1.json().version_serial });
    const r3 = await sn.mutate(channel, ms, 'append', { data: 'b', op_id: 'op-1' });
    expect(r3.status).toBe(400);
    const item = (await sn.rest('GET', messagePath(channel, ms))).json().item as Record<string, unknown>;
    expect(item.data).toBe('a');
    await sn.mutate(channel, ms, 'update', { extras: tx('complete') });
  });
});

describe('mutation authorization and errors', () => {
  it('lets a socket mutate its own message with message-append-own, never someone else’s', async () => {
    const channel = 'private-ai-own';
    const owner = await sn.socket({ protocol: '2' });
    await signin(owner, 'carol', { message_append_own: ['private-ai-*'] });
    const other = await sn.socket({ protocol: '2' });
    await signin(other, 'dave', { message_append_own: ['private-ai-*'] });
    owner.send({ event: 'sockudo:subscribe', data: { channel, auth: sn.auth(owner.socketId, channel) } });
    await owner.waitForEvent('sockudo_internal:subscription_succeeded');
    owner.send({ event: 'ai-input', channel, data: 'q', message_id: 'own-1' });
    const created = await owner.waitForEvent('ai-input');
    const ms = (created.extras as { headers: Record<string, string> }).headers.sockudo_message_serial as string;
    const mine = await sn.mutate(channel, ms, 'append', { data: '!', socket_id: owner.socketId });
    expect(mine.status, mine.text).toBe(200);
    const theirs = await sn.mutate(channel, ms, 'append', { data: '?', socket_id: other.socketId });
    expect(theirs.status).toBe(403);
    expect(theirs.json()).toEqual({
      error: 'mutations not permitted on this channel',
      code: 'mutable_not_permitted',
      ai_code: 93002,
      status: 403,
    });
    expect((await sn.mutate(channel, ms, 'append', { data: '?', socket_id: '1.2' })).status).toBe(404);
    owner.close();
    other.close();
  });

  it('answers unknown messages, bad bodies and non-versioned channels with documented errors', async () => {
    expect((await sn.mutate('private-ai-x', 'nope', 'append', { data: 'x' })).status).toBe(404);
    expect((await sn.rest('GET', messagePath('private-ai-x', 'nope'))).status).toBe(404);
    const bad = await sn.mutate('private-ai-x', 'nope', 'append', { data: 5 });
    expect(bad.json()).toMatchObject({ status: 400, code: 'invalid_input' });
    const plain = await sn.mutate('plain-channel', 'm', 'update', { data: 'x' });
    expect(plain.status).toBe(422);
    expect(plain.json().code).toBe('feature_disabled');
    expect((await sn.rest('GET', `/apps/${APP.id}/channels/plain-channel/history`)).status).toBe(422);
    const summary = await sn.mutate('private-ai-x', 'nope', 'summary', {});
    expect(summary.status).toBe(422);
  });

  it('streams appends in batches with per-item results', async () => {
    const channel = 'private-ai-batch';
    const ms = await create(channel);
    const r = await sn.rest('POST', `/apps/${APP.id}/appends`, {
      appends: [
        { channel, message_serial: ms, data: 'a' },
        { channel, message_serial: ms, data: 'b', op_id: 'x1' },
        { channel, message_serial: 'missing', data: 'c' },
      ],
    });
    expect(r.status, r.text).toBe(207);
    expect(r.json()).toMatchObject({ applied: 2, failed: 1 });
    expect((r.json().results as Array<Record<string, unknown>>).map((x) => x.status ?? x.code)).toEqual([
      'applied',
      'applied',
      'not_found',
    ]);
    const item = (await sn.rest('GET', messagePath(channel, ms))).json().item as Record<string, unknown>;
    expect(item.data).toBe('ab');
    const invalid = await sn.rest('POST', `/apps/${APP.id}/appends`, { appends: [{ channel, data: 'x' }] });
    expect(invalid.status).toBe(400);
    const reducer = new MessageReducer('full');
    reducer.seed(item);
    expect(reducer.get(ms)?.data).toBe('ab');
    await sn.mutate(channel, ms, 'update', { extras: tx('complete') });
  });

  it('applies a large batch in order across several messages (the handler yields between slices)', async () => {
    const channels = ['private-ai-batch-a', 'private-ai-batch-b'];
    const serials = [await create(channels[0] as string), await create(channels[1] as string)];
    // The suite caps appends per message at 5: 2 messages × 5, repeated over 40 more channels.
    const more = await Promise.all(
      Array.from(
        { length: 40 },
        async (_, i) => [`private-ai-batch-${i}`, await create(`private-ai-batch-${i}`)] as const,
      ),
    );
    const targets = [...channels.map((c, i) => [c, serials[i] as string] as const), ...more];
    const appends = targets.flatMap(([channel, ms]) =>
      Array.from({ length: 5 }, (_, k) => ({ channel, message_serial: ms, data: `${k}` })),
    );
    expect(appends.length).toBeGreaterThan(64);
    const r = await sn.rest('POST', `/apps/${APP.id}/appends`, { appends });
    expect(r.status, r.text).toBe(200);
    expect(r.json()).toMatchObject({ applied: appends.length, failed: 0 });
    for (const [channel, ms] of [targets[0], targets[targets.length - 1]] as Array<readonly [string, string]>) {
      expect((await sn.rest('GET', messagePath(channel, ms))).json().item).toMatchObject({ data: '01234' });
    }
  });
});

describe('a producer streaming appends over its WebSocket', () => {
  // Default AI limits here (the suite's node caps appends per message at 5).
  let sn: StreamNode;
  beforeAll(async () => {
    sn = await startStreamNode();
  });
  afterAll(async () => {
    await sn?.stop();
  });
  const create = async (channel: string) => {
    const r = await sn.publish({ name: 'ai-output', channel, data: '', extras: tx('streaming') });
    return ((r.json().channels as Record<string, Record<string, unknown>>)[channel] as Record<string, unknown>)
      .message_serial as string;
  };
  it('applies sockudo:append in order with acks, needs message-append-any, and dedupes op_id', async () => {
    const channel = 'private-ai-producer';
    const token = await issueCapabilityToken(APP, {
      clientId: 'agent-1',
      // The token claim maps channel patterns to operations (PROTOCOL.md 2.4).
      capabilities: { 'private-ai-*': ['subscribe', 'publish', 'message-append-any'] },
      ttlSeconds: 600,
      nowMs: Date.now(),
    });
    const producer = await sn.socket({ protocol: '2', token });
    expect((await producer.subscribe(channel, {}, 'sockudo')).event).toBe('sockudo_internal:subscription_succeeded');
    const viewer = await sn.socket({ protocol: '2', append_rollup_window: '0' });
    await subscribePrivate(sn, viewer, channel);
    const ms = await create(channel);
    const parts = Array.from({ length: 50 }, (_, i) => `w${i} `);
    parts.forEach((data, i) => {
      producer.send({ event: 'sockudo:append', data: { channel, message_serial: ms, data, id: `a${i}` } });
    });
    const lastAck = await producer.waitFor((f) => f.event === 'sockudo:append_ack' && parseData(f).id === 'a49');
    expect(parseData(lastAck)).toMatchObject({ status: 'applied', message_serial: ms, action: 'append' });
    const item = (await sn.rest('GET', messagePath(channel, ms))).json().item as Record<string, unknown>;
    expect(item.data).toBe(parts.join(''));
    await viewer.waitFor((f) => f.event === 'sockudo:message.append' && f.data === 'w49 ');
    const r = new MessageReducer('delta');
    for (const f of viewer.frames) r.apply(f);
    expect(r.get(ms)?.data).toBe(parts.join(''));
    // op_id makes a resent append a duplicate.
    producer.send({ event: 'sockudo:append', data: { channel, message_serial: ms, data: '!', op_id: 'o1', id: 'd1' } });
    producer.send({ event: 'sockudo:append', data: { channel, message_serial: ms, data: '!', op_id: 'o1', id: 'd2' } });
    const dup = await producer.waitFor((f) => f.event === 'sockudo:append_ack' && parseData(f).id === 'd2');
    expect(parseData(dup).status).toBe('duplicate');
    // A viewer without the grant is refused (93002); a bad frame is 4000.
    viewer.send({ event: 'sockudo:append', data: { channel, message_serial: ms, data: 'x' } });
    const denied = await viewer.waitForEvent('sockudo:error');
    expect(denied.channel).toBe(channel);
    expect(parseData(denied)).toMatchObject({ code: 4000 });
    expect(parseData(denied).message).toBe('mutations not permitted on this channel');
    producer.send({ event: 'sockudo:append', data: { channel, data: 'x' } });
    expect(parseData(await producer.waitForEvent('sockudo:error')).code).toBe(4000);
    const info = await sn.rest('GET', `/apps/${APP.id}/channels/${channel}`);
    expect(info.json().ai).toMatchObject({ active_streams: 1, message_count: 1, last_history_serial: 1 });
    await sn.mutate(channel, ms, 'update', { extras: tx('complete') });
    expect((await sn.rest('GET', `/apps/${APP.id}/channels/${channel}`)).json().ai).toMatchObject({
      active_streams: 0,
    });
    producer.close();
    viewer.close();
  });
});
