// The generated parts of the Helm chart are fresh and say what their sources say. helm itself
// renders the chart in test/integration/chart.test.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ANNOTATION } from '../../operator/src/api/labels.ts';
import {
  ARGOCD_HEALTH_KEYS,
  CHART_DIR,
  chartCrdPath,
  chartFiles,
  crdFiles,
  escapeHelm,
  renderAnnotationsTable,
  replaceSection,
  valuesDocs,
} from './chart.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('committed chart files', () => {
  it.each(chartFiles().map(([path, render]) => [path, render] as const))(
    '%s is fresh (run npm run generate)',
    (path, render) => {
      expect(read(path)).toBe(render());
    },
  );

  it('has one CRD template per file of crds/', () => {
    expect(crdFiles()).toEqual(['aitransport.io_aitransportclusters.yaml', 'aitransport.io_channelpolicies.yaml']);
  });
});

describe('CRD templates', () => {
  it.each(crdFiles())('%s: the spec of crds/, behind crds.create, kept on uninstall', (file) => {
    const template = read(chartCrdPath(file));
    const lines = template.split('\n');
    expect(lines[0]).toBe('{{- if .Values.crds.create }}');
    expect(lines.at(-2)).toBe('{{- end }}');
    // Without the template actions the rest is the CRD itself.
    const plain = parse(lines.filter((l) => !l.trim().startsWith('{{')).join('\n'));
    const source = parse(read(`crds/${file}`));
    expect(plain.spec).toEqual(source.spec);
    expect(plain.metadata.name).toBe(source.metadata.name);
    expect(plain.metadata.labels).toEqual(source.metadata.labels);
    expect(plain.metadata.annotations).toEqual({
      'helm.sh/resource-policy': 'keep',
      'argocd.argoproj.io/sync-options': 'Prune=false',
    });
  });

  it('escapes Helm actions in generated text', () => {
    expect(escapeHelm('a {{ $value }} b')).toBe('a {{ "{{" }} $value }} b');
  });
});

describe('values documentation', () => {
  const docs = valuesDocs();

  it('documents every value with a comment, a schema type and its default', () => {
    const byPath = new Map(docs.map((d) => [d.path, d]));
    expect(byPath.get('image.tag')).toMatchObject({ type: 'string', default: '""' });
    expect(byPath.get('replicaCount')).toMatchObject({ type: 'integer', default: '2' });
    expect(byPath.get('watchNamespaces')).toMatchObject({ type: 'list of string', default: '[]' });
    expect(byPath.get('securityContext.capabilities.drop')?.default).toBe('["ALL"]');
    for (const d of docs) expect(d.description, d.path).not.toBe('');
  });

  it('covers every leaf of values.yaml', () => {
    const leaves: string[] = [];
    const walk = (v: unknown, path: string) => {
      if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
        for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
      } else leaves.push(path);
    };
    walk(parse(read(`${CHART_DIR}/values.yaml`)), '');
    expect(docs.map((d) => d.path)).toEqual(leaves);
  });

  it('lists the user-set annotations of OPERATOR.md 6.6', () => {
    const table = renderAnnotationsTable();
    for (const key of [
      ANNOTATION.pauseReconciliation,
      ANNOTATION.restartedAt,
      ANNOTATION.drain,
      ANNOTATION.approveStep,
      ANNOTATION.skipHealthGate,
      ANNOTATION.recreateStatefulSet,
    ]) {
      expect(table).toContain(`| \`${key}\` |`);
    }
    // Keys the operator sets are not manual controls.
    expect(table).not.toContain(ANNOTATION.inputHash);
  });

  it('refuses a README without its markers', () => {
    expect(() => replaceSection('no markers', 'values', 'x')).toThrow(/values:start/);
  });
});

describe('Chart.yaml', () => {
  it('versions the chart and the app like package.json', () => {
    const chart = parse(read(`${CHART_DIR}/Chart.yaml`));
    const pkg = JSON.parse(read('package.json')) as { version: string };
    expect(chart.apiVersion).toBe('v2');
    expect(chart.version).toBe(pkg.version);
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.kubeVersion).toBe('>=1.29.0-0');
  });
});

describe('Argo CD snippet', () => {
  it('installs health.lua for both kinds', () => {
    const cm = parse(read(`${CHART_DIR}/files/argocd/argocd-cm.yaml`));
    const lua = read(`${CHART_DIR}/files/argocd/health.lua`);
    expect(Object.keys(cm.data)).toEqual([...ARGOCD_HEALTH_KEYS]);
    for (const key of ARGOCD_HEALTH_KEYS) expect(cm.data[key]).toBe(lua);
  });
});
