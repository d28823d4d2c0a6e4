// Durable state and its operations: a store that lost acknowledged data is detected by epoch
// (reset_required), listed by the admin API, reset (guarded by the state re-check) with
// subscribers told to re-sync; purge; REST history paging; channel policies hot-reloaded from a
// file without dropping connections.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryHistoryStore } from '../../dataplane/src/history/memory-store.ts';
import { memoryStores } from '../../dataplane/src/server/streams.ts';
import { APP, parseData, type StreamNode, sleep, startStreamNode, subscribePrivate } from '../helpers/stream-node.ts';
import { testConfig } from './rest-helpers.ts';

describe('data loss, reset_required and reset', () => {
  let sn: StreamNode;
  let history: MemoryHistoryStore;
  beforeAll(async () => {
    const stores = memoryStores(testConfig(), Date.now);
    history = stores.history as MemoryHistoryStore;
    sn = await startStreamNode({}, { stores });
  });
  afterAll(async () => {
    await sn?.stop();
  });

  it('detects lost history, lists the channel, resets it only while reset_required, and tells subscribers', async () => {
    const channel = 'private-ai-lossy';
    const c = await sn.socket({ protocol: '2' });
    await subscribePrivate(sn, c, channel);
    for (let i = 0; i < 3; i++) {
      const r = await sn.publish({ name: 'ai-output', channel, data: `m${i}` });
      expect(r.status).toBe(200);
    }
    history.simulateDataLoss();
    // The next write finds its epoch gone: a new epoch in reset_required (decision 11).
    expect((await sn.publish({ name: 'ai-output', channel, data: 'after' })).status).toBe(200);
    const state = await sn.rest('GET', `/apps/${APP.id}/channels/${channel}/history/state`);
    expect((state.json().stream as { state: Record<string, unknown> }).state).toMatchObject({
      durable_state: 'reset_required',
      reset_required: true,
      recovery_allowed: false,
    });
    const listed = await sn.admin('GET', '/admin/channels?state=reset_required');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.json().items).toMatchObject([{ appId: APP.id, channel, durableState: 'reset_required' }]);
    const skipped = await sn.admin('POST', '/admin/history/reset', {
      appId: APP.id,
      channel,
      reason: 'test',
      expectState: 'degraded',
    });
    expect(skipped.json()).toMatchObject({ result: 'skipped' });
    const reset = await sn.admin('POST', '/admin/history/reset', {
      appId: APP.id,
      channel,
      reason: 'lost data after store restart',
      requestedBy: 'test',
      expectState: 'reset_required',
    });
    expect(reset.status, reset.text).toBe(200);
    expect(reset.json()).toMatchObject({ result: 'reset', purgedMessages: 1 });
    const notice = parseData(await c.waitForEvent('sockudo:stream_reset'));
    const ackStream = c.frames.find((f) => f.event === 'sockudo_internal:subscription_succeeded')?.stream_id;
    expect(notice.previous_stream_id).toBe(ackStream);
    expect(notice.stream_id).not.toBe(ackStream);
    const after = await sn.rest('GET', `/apps/${APP.id}/channels/${channel}/history/state`);
    expect((after.json().stream as { state: Record<string, unknown> }).state).toMatchObject({
      durable_state: 'healthy',
    });
    expect((await sn.admin('GET', '/admin/channels')).json().items).toEqual([]);
    const status = (await sn.admin('GET', '/admin/status')).json();
    expect(status.history).toMatchObject({ store: 'memory', reachable: true });
    expect(status.policies).toMatchObject({ source: 'inline' });
    c.close();
  });

  it('validates admin bodies and REST reset/purge confirmations', async () => {
    expect((await sn.admin('POST', '/admin/history/reset', { appId: APP.id })).status).toBe(400);
    expect((await sn.admin('GET', '/admin/channels?state=sad')).status).toBe(400);
    const channel = 'private-ai-purge';
    for (let i = 0; i < 4; i++) await sn.publish({ name: 'ai-output', channel, data: `m${i}` });
    const path = `/apps/${APP.id}/channels/${channel}/history`;
    const noConfirm = await sn.rest('POST', `${path}/purge`, { mode: 'all', reason: 'x' });
    expect(noConfirm.status).toBe(400);
    const purge = await sn.rest('POST', `${path}/purge`, {
      confirm_channel: channel,
      confirm_operation: 'purge',
      mode: 'before_serial',
      before_serial: 3,
      reason: 'cleanup',
    });
    expect(purge.status, purge.text).toBe(200);
    expect(purge.json()).toMatchObject({ ok: true, operation: 'purge', purged_messages: 2 });
    const page = (await sn.rest('GET', `${path}?direction=oldest_first&limit=1`)).json();
    expect((page.items as Array<{ serial: number }>).map((i) => i.serial)).toEqual([3]);
    const next = (await sn.rest('GET', `${path}?direction=oldest_first&limit=1&cursor=${page.next_cursor}`)).json();
    expect((next.items as Array<{ serial: number }>).map((i) => i.serial)).toEqual([4]);
    expect((await sn.rest('GET', `${path}?cursor=garbage`)).status).toBe(400);
    expect((await sn.rest('GET', `${path}?limit=0`)).status).toBe(400);
    const resetBad = await sn.rest('POST', `${path}/reset`, { confirm_channel: channel, confirm_operation: 'reset' });
    expect(resetBad.status).toBe(400);
  });
});

describe('channel policies from a file', () => {
  let sn: StreamNode;
  let dir: string;
  let file: string;
  const doc = (prefixes: string[]) =>
    JSON.stringify({ version: 1, policies: [{ name: 'p', appId: APP.id, channels: { prefixes } }] });
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ait-policies-'));
    file = join(dir, 'channel-policies.json');
    writeFileSync(file, doc(['keep-']));
    sn = await startStreamNode({ channelPolicies: { file, reloadIntervalMs: 100 } });
  });
  afterAll(async () => {
    await sn?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies a changed file without dropping connections, and keeps the last good one', async () => {
    const c = await sn.socket({ protocol: '2' });
    await c.subscribe('chat-room', {}, 'sockudo');
    const hist = () => sn.rest('GET', `/apps/${APP.id}/channels/chat-room/history`);
    expect((await hist()).status).toBe(422);
    writeFileSync(file, doc(['keep-', 'chat-']));
    await waitUntil(async () => (await hist()).status === 200);
    expect((await sn.publish({ name: 'said', channel: 'chat-room', data: 'hi' })).status).toBe(200);
    const got = await c.waitForEvent('said');
    expect(got.serial).toBe(1);
    writeFileSync(file, '{"version":1,"policies":[{"name":"broken"}]}');
    await waitUntil(async () => (await sn.admin('GET', '/admin/policies')).json().lastError !== null);
    expect((await hist()).status, 'the last good policies stay').toBe(200);
    expect(c.closeInfo).toBeUndefined();
    const policies = (await sn.admin('GET', '/admin/policies')).json();
    expect(policies).toMatchObject({ source: 'file', count: 1, generation: 2 });
    c.close();
  });
});

async function waitUntil(cond: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error('condition not met in time');
}
