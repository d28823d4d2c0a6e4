// Golden files (STYLE.md 18): the full rendered set of every example CR, in
// testdata/<example>.golden.yaml. `UPDATE_GOLDEN=1 npx vitest run operator/src/render` rewrites
// them; review the diff like code.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { FACTS, loadCluster, loadPolicy } from './fixtures.ts';
import { stableJson } from './hash.ts';
import { renderAll } from './index.ts';
import type { KubeObject } from './meta.ts';

function toYaml(objects: readonly KubeObject[], source: string): string {
  const header = `# Rendered from examples/${source} by operator/src/render (golden.test.ts). UPDATE_GOLDEN=1 rewrites it.\n`;
  return (
    header +
    objects.map((o) => `---\n${stringify(o, { lineWidth: 0, aliasDuplicateObjects: false, version: '1.1' })}`).join('')
  );
}

function checkGolden(name: string, text: string): void {
  const url = new URL(`./testdata/${name}.golden.yaml`, import.meta.url);
  if (process.env.UPDATE_GOLDEN) {
    writeFileSync(url, text);
    return;
  }
  let committed = '';
  try {
    committed = readFileSync(url, 'utf8');
  } catch {}
  expect(text, `testdata/${name}.golden.yaml is stale: run UPDATE_GOLDEN=1 npx vitest run operator/src/render`).toBe(
    committed,
  );
}

describe('golden renders of the examples', () => {
  it('cluster-minimal', () => {
    const objects = renderAll(loadCluster('cluster-minimal.yaml'), [], FACTS);
    checkGolden('cluster-minimal', toYaml(objects, 'cluster-minimal.yaml'));
    // No Redis without spec.redis, and Secrets are never rendered (only referenced).
    expect(objects.map((o) => o.metadata?.name)).not.toContain('demo-redis');
    expect(objects.map((o) => o.kind)).not.toContain('Secret');
  });

  it('cluster-production', () => {
    const objects = renderAll(loadCluster('cluster-production.yaml'), [], FACTS);
    checkGolden('cluster-production', toYaml(objects, 'cluster-production.yaml'));
  });

  it('channelpolicy-ai: only the objects the policy changes (on cluster-production)', () => {
    const cluster = loadCluster('cluster-production.yaml');
    const before = new Map(renderAll(cluster, [], FACTS).map((o) => [`${o.kind}/${o.metadata?.name}`, stableJson(o)]));
    const after = renderAll(cluster, [loadPolicy('channelpolicy-ai.yaml')], FACTS);
    const changed = after.filter((o) => before.get(`${o.kind}/${o.metadata?.name}`) !== stableJson(o));
    checkGolden('channelpolicy-ai', toYaml(changed, 'channelpolicy-ai.yaml (with examples/cluster-production.yaml)'));
    expect(changed.map((o) => o.kind)).toEqual(['ConfigMap']);
  });

  it('reads back identically with a YAML 1.1 parser (kubectl, GitOps tools): `yes` stays a string', () => {
    const objects = renderAll(loadCluster('cluster-production.yaml'), [], FACTS);
    const docs = parseAllDocuments(toYaml(objects, 'x'), { version: '1.1' });
    const back = (Array.isArray(docs) ? docs : [docs]).map((d) => d.toJS());
    expect(back).toEqual(JSON.parse(JSON.stringify(objects)));
  });

  it('renders the same bytes twice (no clock, no randomness)', () => {
    const a = toYaml(renderAll(loadCluster('cluster-production.yaml'), [], FACTS), 'x');
    const b = toYaml(renderAll(loadCluster('cluster-production.yaml'), [], FACTS), 'x');
    expect(a).toBe(b);
  });
});
