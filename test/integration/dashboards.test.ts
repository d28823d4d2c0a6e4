// Every PromQL expression of the Grafana dashboards parses, checked by the real promtool: the
// Grafana variables are replaced by sample values ($__rate_interval → 5m, $namespace → a name,
// multi-value variables → .*), each expression becomes a recording rule in a throw-away rule
// file, and `promtool check rules` must accept the file. A deliberately broken expression must be
// rejected, so the check is known to bite. Metric names and selector scoping are checked by
// scripts/generate/dashboards.test.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DASHBOARD_FILES } from '../../scripts/generate/dashboards.ts';
import { artifactTools, repoRoot, TOOLS_TIMEOUT_MS, type Tools } from '../helpers/artifact-tools.ts';

let tools: Tools;
beforeAll(async () => {
  tools = await artifactTools();
}, TOOLS_TIMEOUT_MS);
afterAll(() => tools?.cleanup());

const SAMPLE: Record<string, string> = {
  __rate_interval: '5m',
  namespace: 'demo-ns',
  job: 'demo-metrics',
  app_id: '.*',
  cluster_namespace: '.*',
};

/** Replaces Grafana variables (`$name`, `${name}`) with sample values; an unknown one is an error. */
function concrete(expr: string): string {
  return expr.replace(/\$\{?([A-Za-z_]+)\}?/g, (_all, name: string) => {
    const v = SAMPLE[name];
    if (v === undefined) throw new Error(`no sample value for the dashboard variable $${name}`);
    return v;
  });
}

interface Panel {
  id: number;
  title: string;
  targets?: Array<{ refId: string; expr: string }>;
}

async function checkRules(name: string, rules: Array<{ record: string; expr: string }>) {
  const dir = tools.tempDir('ait-dash-');
  const file = path.join(dir, `${name}.rules.yaml`);
  writeFileSync(file, stringify({ groups: [{ name, rules }] }));
  return tools.promtool(['check', 'rules', file]);
}

describe.each(DASHBOARD_FILES.map(([p]) => p))('%s', (file) => {
  it('every expression parses (promtool check rules)', async () => {
    const d = JSON.parse(readFileSync(path.join(repoRoot, file), 'utf8')) as { panels: Panel[] };
    const rules = d.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ record: `dashboard_check:panel_${p.id}_${t.refId}`, expr: concrete(t.expr) })),
    );
    expect(rules.length).toBeGreaterThan(8);
    const r = await checkRules(path.basename(file, '.json'), rules);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
  });
});

describe('the promtool check', () => {
  it('rejects an expression that does not parse', async () => {
    const r = await checkRules('broken', [
      {
        record: 'dashboard_check:broken',
        expr: concrete('sum by (pod) (rate(ait_connected{job="$job"}[$__rate_interval])'),
      },
    ]);
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/parse error|unclosed|unexpected/i);
  });
});
