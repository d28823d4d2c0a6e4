import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRICS } from './catalog.ts';
import { camelCase, createMetrics } from './registry.ts';

describe('createMetrics', () => {
  it('creates one instrument per catalog metric under the prefix', async () => {
    const m = createMetrics('ait');
    m.connected.inc({ app_id: 'a' });
    m.newConnectionsTotal.inc({ app_id: 'a' });
    m.broadcastLatencyMs.observe({ app_id: 'a', channel_type: 'public', recipient_count_bucket: '1' }, 3);
    const text = await m.registry.metrics();
    expect(text).toContain('ait_connected{app_id="a"} 1');
    expect(text).toContain('ait_new_connections_total{app_id="a"} 1');
    expect(text).toContain('ait_broadcast_latency_ms_bucket{le="5",app_id="a",channel_type="public"');
    expect(text).toMatch(/ait_nodejs_eventloop_lag_seconds \d/);
    for (const spec of METRICS) {
      if ('collector' in spec) expect(text, spec.name).toContain(`ait_${spec.name}`);
      else expect((m as unknown as Record<string, unknown>)[camelCase(spec.name)], spec.name).toBeDefined();
    }
  });

  it('keeps registries apart and honours another prefix', async () => {
    const a = createMetrics('sockudo', { defaultMetrics: false });
    const b = createMetrics('sockudo', { defaultMetrics: false });
    a.connected.inc({ app_id: 'x' });
    expect(await b.registry.metrics()).not.toContain('sockudo_connected{app_id="x"} 1');
    expect(await a.registry.metrics()).toContain('sockudo_connected{app_id="x"} 1');
  });

  it('rejects an invalid prefix', () => {
    expect(() => createMetrics('1bad')).toThrow(TypeError);
  });

  it('docs/metrics.md documents every metric of the catalog', () => {
    const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
    const documented = new Set([...doc.matchAll(/^\|\s*`([a-z0-9_]+)`\s*\|/gm)].map((x) => x[1]));
    const names = METRICS.map((m) => m.name as string);
    expect(names.filter((n) => !documented.has(n))).toEqual([]);
    expect([...documented].filter((n) => n !== undefined && !names.includes(n))).toEqual([]);
  });
});
