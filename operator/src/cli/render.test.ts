import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { LABEL } from '../api/labels.ts';
import { EXAMPLE_NAMESPACE } from '../render/fixtures.ts';
import { type Io, runAit } from './main.ts';
import { PLACEHOLDER_UID } from './render.ts';

const ROOT = new URL('../../../', import.meta.url);
const example = (f: string) => readFileSync(new URL(`examples/${f}`, ROOT), 'utf8');
const golden = (name: string) =>
  readFileSync(new URL(`operator/src/render/testdata/${name}.golden.yaml`, ROOT), 'utf8').replace(/^#.*\n/, '');

/** The example as `kubectl get -o yaml` would show it: with the uid the goldens use. */
function asServed(file: string): string {
  const obj = parse(example(file)) as { metadata: Record<string, unknown> };
  obj.metadata.uid = `uid-${String(obj.metadata.name)}`;
  return stringify(obj);
}

function run(args: string[], files: Record<string, string>) {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    readFile: (p) => {
      const text = files[p];
      if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return text;
    },
  };
  return { code: runAit(args, io), stdout, stderr };
}

describe('ait render', () => {
  it('prints exactly the golden render of each example (same objects, same order, same bytes)', () => {
    for (const name of ['cluster-minimal', 'cluster-production']) {
      const r = run(['render', '-f', 'c.yaml', '-n', EXAMPLE_NAMESPACE], { 'c.yaml': asServed(`${name}.yaml`) });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(golden(name));
    }
  });

  it('renders ChannelPolicies into the ConfigMap of their cluster, from several files or one stream', () => {
    const files = { 'c.yaml': asServed('cluster-production.yaml'), 'p.yaml': example('channelpolicy-ai.yaml') };
    const two = run(['render', '-f', 'c.yaml', '-f', 'p.yaml', '-n', EXAMPLE_NAMESPACE], files);
    expect(two.code).toBe(0);
    const cm = golden('channelpolicy-ai');
    expect(two.stdout).toContain(cm.trim());
    const one = run(['render', '-f', 'all.yaml', '-n', EXAMPLE_NAMESPACE], {
      'all.yaml': `${files['c.yaml']}---\n${files['p.yaml']}`,
    });
    expect(one.stdout).toBe(two.stdout);
  });

  it('uses a placeholder uid (and says so) when the input has none', () => {
    const r = run(['render', '-f', 'c.yaml'], { 'c.yaml': example('cluster-minimal.yaml') });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`uid: ${PLACEHOLDER_UID}`);
    expect(r.stdout).toContain('namespace: default');
    expect(r.stderr).toContain('do not apply this output by hand');
  });

  it('renders without monitoring objects when told the CRDs are missing', () => {
    const r = run(['render', '-f', 'c.yaml', '--monitoring-crds=false'], {
      'c.yaml': example('cluster-production.yaml'),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('kind: ServiceMonitor');
    expect(r.stdout).not.toContain('kind: PrometheusRule');
  });

  it('puts the operator namespace and labels into the NetworkPolicy', () => {
    const r = run(
      ['render', '-f', 'c.yaml', '--operator-namespace', 'ops', '--operator-pod-labels', 'app=op,tier=ctl'],
      {
        'c.yaml': example('cluster-minimal.yaml'),
      },
    );
    expect(r.code).toBe(0);
    const np = r.stdout.split('---\n').find((d) => d.includes('kind: NetworkPolicy')) ?? '';
    expect(parse(np).spec.ingress[1].from[0]).toEqual({
      namespaceSelector: { matchLabels: { [LABEL.namespaceName]: 'ops' } },
      podSelector: { matchLabels: { app: 'op', tier: 'ctl' } },
    });
  });

  it('exits 1 with every field error of an invalid spec, and prints no objects', () => {
    const bad = example('cluster-minimal.yaml').replace(
      'spec:\n',
      'spec:\n  pod:\n    terminationGracePeriodSeconds: 5\n',
    );
    const policy = example('channelpolicy-ai.yaml')
      .replace('name: chat', 'name: demo')
      .replace('windowMs: 40', 'windowMs: 30');
    const r = run(['render', '-f', 'c.yaml', '-f', 'p.yaml'], { 'c.yaml': bad, 'p.yaml': policy });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'AITransportCluster default/demo: spec.pod.terminationGracePeriodSeconds: 5s is less than',
    );
    expect(r.stderr).toContain(
      'ChannelPolicy default/assistant-ai: spec.rollup.windowMs: rollup.windowMs must be one of',
    );
  });

  it('reports a policy whose cluster is not in the input, and objects it cannot render', () => {
    const r = run(['render', '-f', 'p.yaml', '-f', 'c.yaml', '-f', 'x.yaml'], {
      'p.yaml': example('channelpolicy-ai.yaml'),
      'c.yaml': example('cluster-minimal.yaml'),
      'x.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'ChannelPolicy default/assistant-ai: spec.clusterRef.name: no AITransportCluster chat in the input',
    );
    expect(r.stderr).toContain('ConfigMap default/x: only AITransportCluster and ChannelPolicy can be rendered');
  });

  it('exits 2 on usage errors and unreadable files, 1 on broken YAML', () => {
    expect(run(['render'], {}).code).toBe(2);
    expect(run(['render', '--nope'], {}).code).toBe(2);
    expect(run(['frobnicate'], {}).code).toBe(2);
    expect(run(['render', '-f', 'missing.yaml'], {}).stderr).toContain('cannot read missing.yaml: ENOENT');
    expect(run(['render', '-f', 'c.yaml', '--monitoring-crds=maybe'], { 'c.yaml': '' }).code).toBe(2);
    const broken = run(['render', '-f', 'b.yaml'], { 'b.yaml': 'kind: [unclosed\n' });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('b.yaml: document 1');
  });

  it('works as a process: node operator/src/ait.ts render reads stdin with -f -', () => {
    const entry = fileURLToPath(new URL('operator/src/ait.ts', ROOT));
    const ok = spawnSync(process.execPath, [entry, 'render', '-f', '-', '-n', EXAMPLE_NAMESPACE], {
      input: asServed('cluster-minimal.yaml'),
      encoding: 'utf8',
    });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(golden('cluster-minimal'));
    const bad = spawnSync(process.execPath, [entry, 'render', '-f', '-'], {
      input: example('cluster-minimal.yaml').replace('version: "0.1.0"', 'version: "latest"'),
      encoding: 'utf8',
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('spec.version');
  });
});
