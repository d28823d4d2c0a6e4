// docs/alerts.md is the runbook the rules link to: one section per alert (the generated ones and
// the chart's), whose GitHub anchor is the fragment of the alert's runbook_url, with its meaning,
// knobs and first steps, and the expression as the render writes it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERT_NAMES } from '../api/v1alpha1/alerts.ts';
import { MonitoringSchema } from '../api/v1alpha1/monitoring.ts';
import { loadCluster, specOf } from './fixtures.ts';
import { alertingRules, runbookUrl } from './prometheusrule.ts';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const doc = read('docs/alerts.md');

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

/** The sections of docs/alerts.md by heading. */
const sections = new Map(
  doc
    .split(/^## /m)
    .slice(1)
    .map((s) => [s.slice(0, s.indexOf('\n')).trim(), s] as const),
);

const chartAlerts = [
  ...read('charts/aitransport-operator/templates/prometheusrule.yaml').matchAll(/- alert: (\w+)/g),
].map((m) => m[1] as string);

describe('docs/alerts.md', () => {
  it('has a runbook section for every alert, at the anchor its runbook_url names', () => {
    const c = loadCluster('cluster-minimal.yaml');
    const base = MonitoringSchema.parse({}).prometheusRule.runbookBaseURL;
    expect(base).toMatch(/\/docs\/alerts\.md$/);
    const anchors = new Set([...sections.keys()].map(anchor));
    for (const name of ALERT_NAMES) {
      expect(sections.has(name), `no "## ${name}" section`).toBe(true);
      const fragment = new URL(runbookUrl(c, name)).hash.slice(1);
      expect(anchors.has(fragment), `${name}: no heading with anchor #${fragment}`).toBe(true);
    }
  });

  it('documents the chart alerts, and the chart links them the same way', () => {
    expect(chartAlerts).toEqual(['AITransportOperatorDown', 'AITransportOperatorReplicasUnavailable']);
    const values = parse(read('charts/aitransport-operator/values.yaml'));
    expect(values.prometheusRule.runbookBaseURL).toBe(MonitoringSchema.parse({}).prometheusRule.runbookBaseURL);
    const template = read('charts/aitransport-operator/templates/prometheusrule.yaml');
    for (const name of chartAlerts) {
      expect(sections.has(name), `no "## ${name}" section`).toBe(true);
      expect(template).toContain(`runbook_url: {{ $base }}#${anchor(name)}`);
    }
  });

  it.each([...ALERT_NAMES])('%s: meaning, knobs, first steps and the rendered expression', (name) => {
    const section = sections.get(name) ?? '';
    for (const part of ['**Meaning.**', '**Expression.**', '**Knobs.**', '**First steps.**']) {
      expect(section, `${name} lacks ${part}`).toContain(part);
    }
    // The render for the cluster the page names (examples/cluster-minimal.yaml with a connection limit).
    const c = loadCluster('cluster-minimal.yaml', (raw) => {
      specOf(raw).config = { websocket: { maxConnections: 10000 } };
    });
    const rule = alertingRules(c).find((r) => r.rule.alert === name)?.rule;
    expect(rule, `${name} is not rendered for the docs cluster`).toBeDefined();
    expect(section).toContain(`\`\`\`promql\n${rule?.expr}\n\`\`\``);
    expect(section).toContain(`for ${rule?.for} ·`);
    expect(section.split('\n')[2]).toMatch(new RegExp(`^${rule?.labels.severity} · `));
  });
});
