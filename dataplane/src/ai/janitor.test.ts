import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load.ts';
import { FakeEngine } from '../server/rest/fake-engine.ts';
import { OrphanJanitor, orphanExtras } from './janitor.ts';

const TTL = 60_000;
const config = resolveConfig(
  {
    nodeId: 'n1',
    apps: [{ id: 'a', key: 'k', secret: 's' }],
    aiTransport: { enabled: true, channelPrefixes: ['private-ai-'], orphanTtlMs: TTL },
  },
  { env: {} },
);
const CH = 'private-ai-1';

let t: number;
let engine: FakeEngine;
const now = () => t;

function janitor(nodeId = 'n1', e = engine) {
  return new OrphanJanitor({
    nodeId,
    now,
    registry: e.streams.stores.activeStreams,
    claims: e.streams.stores.jobClaims,
    versions: e.streams.stores.versions,
    publisher: e.streams.publisher,
    orphanTtlMs: TTL,
    intervalMs: 1000,
    storeTimeoutMs: 1000,
    metrics: e.metrics,
    logger: pino({ level: 'silent' }),
  });
}

async function openStream(): Promise<string> {
  const ack = await engine.streams.publisher.publish({
    appId: 'a',
    channel: CH,
    event: 'ai-output',
    data: '',
    extras: { ai: { transport: { status: 'streaming', 'run-id': 'r1' } } },
  });
  return ack.message_serial as string;
}

beforeEach(() => {
  t = 1_700_000_000_000;
  engine = new FakeEngine(config, now);
});

describe('OrphanJanitor', () => {
  it('cancels a stream idle past the orphan TTL with a normal update', async () => {
    const ms = await openStream();
    await engine.streams.publisher.mutate({
      appId: 'a',
      channel: CH,
      messageSerial: ms,
      mutation: { action: 'append', data: 'hello' },
      actor: { privileged: true },
    });
    t += TTL - 1;
    expect((await janitor().runOnce()).cancelled).toBe(0);
    t += 2;
    const report = await janitor().runOnce();
    expect(report).toMatchObject({ examined: 1, claimed: 1, cancelled: 1, failed: 0 });
    const latest = await engine.streams.stores.versions.latest('a', CH, ms);
    expect(latest?.latest.action).toBe('update');
    expect(latest?.latest.data).toBe('hello');
    expect(latest?.latest.description).toBe('AI stream orphan timeout');
    expect(latest?.latest.extras).toMatchObject({
      ai: { transport: { status: 'cancelled', 'error-code': 'orphan_timeout', 'run-id': 'r1' } },
    });
    const last = engine.delivered.at(-1);
    expect(last?.kind === 'version' && last.record.action).toBe('update');
    // The update ended the stream: nothing left to do.
    t += TTL * 3;
    expect((await janitor().runOnce()).examined).toBe(0);
  });

  it('lets exactly one of several janitors cancel a stream', async () => {
    await openStream();
    t += TTL + 1;
    const reports = await Promise.all([janitor('n1').runOnce(), janitor('n2').runOnce(), janitor('n3').runOnce()]);
    expect(reports.reduce((n, r) => n + r.cancelled, 0)).toBe(1);
    expect(engine.delivered.filter((m) => m.kind === 'version' && m.record.action === 'update')).toHaveLength(1);
  });

  it('refreshes instead of cancelling when the latest version moved since the registry entry', async () => {
    const ms = await openStream();
    const registry = engine.streams.stores.activeStreams;
    const stale = await registry.get('a', CH, ms);
    await engine.streams.publisher.mutate({
      appId: 'a',
      channel: CH,
      messageSerial: ms,
      mutation: { action: 'append', data: 'x' },
      actor: { privileged: true },
    });
    // A lagging registry write left the old version behind.
    await registry.remove('a', CH, ms);
    if (!stale) throw new Error('no registry entry');
    const { lastSeenMs: _l, ...entry } = stale;
    await registry.upsert(entry, 10 * TTL);
    t += TTL + 1;
    expect(await janitor().runOnce()).toMatchObject({ cancelled: 0, refreshed: 1 });
    expect((await engine.streams.stores.versions.latest('a', CH, ms))?.latest.action).toBe('append');
  });

  it('keeps the stream extras and only changes the transport status', () => {
    expect(orphanExtras({ headers: { h: 1 }, ai: { transport: { role: 'assistant' }, codec: { c: 'x' } } })).toEqual({
      headers: { h: 1 },
      ai: {
        transport: {
          role: 'assistant',
          status: 'cancelled',
          'error-code': 'orphan_timeout',
          'error-message': 'stream cancelled after orphan timeout',
        },
        codec: { c: 'x' },
      },
    });
  });
});
