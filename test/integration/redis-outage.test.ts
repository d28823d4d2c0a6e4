// Redis stopped and restarted under a token stream (STANDARDS F1-F3): writes that cannot be made
// durable are refused with a retryable 503 (never acked then lost), channels report degraded, the
// stream resumes by itself when Redis is back; with AOF nothing acknowledged is lost, and without
// persistence the loss is detected through the channel's epoch and surfaces as reset_required.
import { afterEach, describe, expect, it } from 'vitest';
import { MessageReducer } from '../../dataplane/src/messages/reducer.ts';
import { AI_PREFIX, channelAuth, type NodeCluster, type NodeProc, startNodeCluster } from '../helpers/node-cluster.ts';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts';
import { APP } from './rest-helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tx = (status: string) => ({ ai: { transport: { status, role: 'assistant' } } });

let redis: RedisServer | undefined;
let cluster: NodeCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  await redis?.cleanup();
  cluster = undefined;
  redis = undefined;
});

async function setup(appendonly: boolean) {
  redis = await startRedisServer({ appendonly, appendfsync: 'always' });
  cluster = await startNodeCluster({
    nodes: 2,
    redis: { host: '127.0.0.1', port: redis.port, keyPrefix: 'ait-outage:', commandTimeoutMs: 300 },
    config: { history: { writeTimeoutMs: 500 } },
  });
  return { redis, cluster };
}

/** Appends `tok` until it is acknowledged, retrying 503s with op_id (so a retry never doubles it). */
async function appendAcked(node: NodeProc, channel: string, ms: string, tok: string, opId: string, deadlineMs: number) {
  const path = `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}/append`;
  let refused = 0;
  for (;;) {
    const r = await node.rest('POST', path, { data: tok, op_id: opId });
    if (r.status === 200) return refused;
    expect(r.status, r.text).toBe(503);
    expect(r.headers['retry-after']).toBeDefined();
    refused++;
    if (Date.now() > deadlineMs) throw new Error(`append ${opId} not acknowledged in time`);
    await sleep(100);
  }
}

describe('Redis outage under a token stream', () => {
  it('with AOF: bounded stall, degraded while down, nothing acknowledged lost, healthy after', async () => {
    const { redis: r, cluster: c } = await setup(true);
    const [producer, watcher] = c.nodes as [NodeProc, NodeProc];
    const channel = `${AI_PREFIX}outage`;
    const sub = await watcher.socket({ protocol: '2', append_rollup_window: '0' });
    sub.send({ event: 'sockudo:subscribe', data: { channel, auth: channelAuth(sub.socketId, channel) } });
    await sub.waitForEvent('sockudo_internal:subscription_succeeded');
    const created = await producer.rest('POST', `/apps/${APP.id}/events`, {
      name: 'ai-output',
      channel,
      data: '',
      extras: tx('streaming'),
    });
    const ms = (
      (created.json().channels as Record<string, Record<string, unknown>>)[channel] as Record<string, unknown>
    ).message_serial as string;
    let acked = '';
    let refusedTotal = 0;
    const deadline = Date.now() + 30_000;
    for (let i = 0; i < 40; i++) {
      if (i === 10) {
        await r.stop();
        const path = `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}/append`;
        const refused = await producer.rest('POST', path, { data: 'never', op_id: 'refused-while-down' });
        expect(refused.status).toBe(503);
        expect(refused.json()).toMatchObject({ code: 'service_unavailable' });
        // The node reports the channel degraded while the store cannot say so itself.
        let degraded = 0;
        for (let k = 0; k < 30 && degraded === 0; k++) {
          await sleep(100);
          degraded = await producer.metric('history_degraded_channels');
        }
        expect(degraded).toBeGreaterThan(0);
        expect((await producer.admin('GET', '/admin/status')).json().history).toMatchObject({ reachable: false });
        setTimeout(() => void r.restart(), 500);
      }
      const tok = `t${i} `;
      refusedTotal += await appendAcked(producer, channel, ms, tok, `op-${i}`, deadline);
      acked += tok;
      if (i === 11) expect(await producer.metric('history_write_failures_total')).toBeGreaterThan(0);
      await sleep(10);
    }
    expect(refusedTotal, 'writes were refused while Redis was down').toBeGreaterThan(0);
    // The watcher reconnects to Redis with its own backoff: retry its 503s as a client would.
    let latest = await watcher.rest(
      'GET',
      `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}`,
    );
    for (let k = 0; k < 50 && latest.status === 503; k++) {
      await sleep(100);
      latest = await watcher.rest(
        'GET',
        `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}`,
      );
    }
    expect(latest.status, latest.text).toBe(200);
    expect((latest.json().item as { data: string }).data).toBe(acked);
    await sub.waitFor((f) => f.event === 'sockudo:message.append' && f.data === 't39 ', 15_000);
    const red = new MessageReducer('delta');
    for (const f of sub.frames) red.apply(f);
    expect(red.get(ms)?.data).toBe(acked);
    const state = await producer.rest('GET', `/apps/${APP.id}/channels/${channel}/history/state`);
    expect((state.json().stream as { state: { durable_state: string } }).state.durable_state).not.toBe(
      'reset_required',
    );
    expect(await producer.metric('history_reset_required_channels')).toBe(0);
    // 'never' was refused, not acknowledged: it must not be there.
    expect(acked.includes('never')).toBe(false);
    sub.close();
  }, 90_000);

  it('without persistence: an empty restart is detected as reset_required and reported', async () => {
    const { redis: r, cluster: c } = await setup(false);
    const node = c.nodes[0] as NodeProc;
    const channel = `${AI_PREFIX}lost`;
    for (let i = 0; i < 3; i++) {
      const res = await node.rest('POST', `/apps/${APP.id}/events`, { name: 'ai-output', channel, data: `m${i}` });
      expect(res.status).toBe(200);
    }
    await r.stop();
    await r.restart();
    // The node reconnects by itself; its next write finds the epoch gone.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await node.rest('POST', `/apps/${APP.id}/events`, { name: 'ai-output', channel, data: 'after' }))
        .status;
      if (status !== 200) await sleep(100);
    }
    expect(status).toBe(200);
    const state = await node.rest('GET', `/apps/${APP.id}/channels/${channel}/history/state`);
    expect((state.json().stream as { state: Record<string, unknown> }).state).toMatchObject({
      durable_state: 'reset_required',
      reason: 'durable_stream_lost',
    });
    const listed = await node.admin('GET', '/admin/channels?state=reset_required');
    expect(listed.json().items).toMatchObject([{ channel, durableState: 'reset_required' }]);
    let gauge = 0;
    for (let i = 0; i < 60 && gauge === 0; i++) {
      gauge = await node.metric('history_reset_required_channels');
      if (gauge === 0) await sleep(250);
    }
    expect(gauge).toBe(1);
  }, 90_000);

  it('without persistence: an append to a message the store lost says so and reports the channel', async () => {
    const { redis: r, cluster: c } = await setup(false);
    const node = c.nodes[0] as NodeProc;
    const channel = `${AI_PREFIX}lost-append`;
    const created = await node.rest('POST', `/apps/${APP.id}/events`, { name: 'ai-output', channel, data: '' });
    expect(created.status).toBe(200);
    const ms = (
      (created.json().channels as Record<string, Record<string, unknown>>)[channel] as Record<string, unknown>
    ).message_serial as string;
    const path = `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}/append`;
    expect((await node.rest('POST', path, { data: 'a' })).status).toBe(200);
    await r.stop();
    await r.restart();
    let res = await node.rest('POST', path, { data: 'b' });
    for (let i = 0; i < 50 && res.status === 503; i++) {
      await sleep(100);
      res = await node.rest('POST', path, { data: 'b' });
    }
    expect(res.status, res.text).toBe(404);
    expect(res.json().error).toMatch(/lost its durable history.*reset_required/);
    // Only appends after the loss, no create: the channel is still listed and counted.
    const listed = await node.admin('GET', '/admin/channels?state=reset_required');
    expect(listed.json().items).toMatchObject([{ channel, durableState: 'reset_required' }]);
  }, 90_000);
});
