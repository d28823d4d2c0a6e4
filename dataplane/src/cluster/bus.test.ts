import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { HistoryStore } from '../history/store.ts';
import type { VersionStore } from '../history/version-store.ts';
import { createMetrics } from '../metrics/registry.ts';
import type { ChannelSignal, VersionMessage } from '../pipeline/message.ts';
import { ClusterBus } from './bus.ts';
import { encodeEnvelope } from './envelope.ts';

function version(action: 'create' | 'append', serial: number, data: string): VersionMessage {
  return {
    kind: 'version',
    appId: 'a',
    channel: 'private-ai-c',
    streamId: 's',
    terminal: false,
    record: {
      action,
      message_serial: 'm',
      version_serial: `v${String(serial).padStart(4, '0')}`,
      history_serial: 1,
      delivery_serial: serial,
      timestamp_ms: serial,
      data,
      ...(action === 'append' && { fragment: data.slice(-1) }),
    },
  };
}

describe('ClusterBus aggregate completion', () => {
  it('does not complete from an aggregate cached before a stretch it did not follow', async () => {
    let full = true;
    const delivered: ChannelSignal[] = [];
    // The store's answer for the message (only `latest` is read on a cache miss).
    const versions = { latest: async () => ({ latest: { data: 'abcd' } }) } as unknown as VersionStore;
    const bus = new ClusterBus({
      nodeId: 'b',
      transport: { publish: () => undefined },
      history: {} as HistoryStore,
      versions,
      deliver: (s) => delivered.push(s),
      applyControl: () => 0,
      needsAggregate: () => full,
      metrics: createMetrics('t', { defaultMetrics: false }),
      logger: pino({ level: 'silent' }),
      storeTimeoutMs: 1000,
      gapTimeoutMs: 1000,
      maxPendingPerChannel: 100,
    });
    const fromA = (m: VersionMessage) => bus.receive(encodeEnvelope('a', m));
    fromA(version('create', 1, ''));
    fromA(version('append', 2, 'a'));
    full = false; // the full-mode socket left this node
    fromA(version('append', 3, 'ab'));
    fromA(version('append', 4, 'abc'));
    full = true; // another one joined
    fromA(version('append', 5, 'abcd'));
    await new Promise((r) => setTimeout(r, 20));
    bus.stop();
    const data = delivered.map((s) => (s as VersionMessage).record.data);
    // 2 completed from the cached create; 3 and 4 pass without aggregate; 5 from the store, not 'a' + 'd'.
    expect(data).toEqual(['', 'a', undefined, undefined, 'abcd']);
  });
});
