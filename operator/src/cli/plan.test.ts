import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Io, runAit } from './main.ts';

const ROOT = new URL('../../../', import.meta.url);
const profileText = (f: string) => readFileSync(new URL(`test/load/profiles/${f}`, ROOT), 'utf8');

function run(args: string[], files: Record<string, string> = {}) {
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

// 2000 connections over 800 per node (after 20 % headroom) → 3 nodes; the CPU needs 8 (see
// capacity/model.test.ts for the arithmetic).
const HAND = JSON.stringify({
  name: 'hand',
  durationSeconds: 100,
  connections: 2000,
  activeStreams: 100,
  tokensPerSecond: 50,
  subscribersPerSession: { min: 1, max: 1 },
  rollupWindowMs: 0,
  budgets: {
    connectionsPerNode: 1000,
    appendsPerSecondPerCore: 1000,
    egressFramesPerSecondPerCore: 10_000,
    transportMessagesPerSecondPerCore: 100_000,
  },
});

describe('ait plan', () => {
  it('prints the plan as a table: verdict, node count, every dimension, budgets with sources, settings', () => {
    const r = run(['plan', '--profile', 'p.json'], { 'p.json': HAND });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('profile hand: OK');
    expect(lines[1]).toBe(
      'nodes: 8 (computed: connections need 3, CPU needs 8, minNodes 1); headroom 20 %; transport all-channels',
    );
    expect(r.stdout).toMatch(/^connections per node {2,}node {2,}250 connections {2,}800 connections {2,}ok$/m);
    expect(r.stdout).toMatch(/^CPU per node {2,}node {2,}0\.73 cores {2,}0\.8 cores {2,}ok$/m);
    expect(r.stdout).toMatch(/^append ingress rate {2,}cluster {2,}5 000 appends\/s$/m);
    expect(r.stdout).toMatch(/^ {2}connectionsPerNode {2,}1 000 {2,}profile$/m);
    expect(r.stdout).toMatch(/^ {2}coresPerNode {2,}1 {2,}one Node\.js event loop/m);
    expect(r.stdout).toMatch(/^ {2}spec\.replicas: {2,}8$/m);
    for (const d of [
      'active streams per node (p95)',
      'fanout egress before rollup',
      'fanout egress after rollup (W = 0 ms)',
      'rollup memory ceiling per node',
      'history bytes per response',
      'history store write rate',
    ]) {
      expect(r.stdout).toContain(d);
    }
  });

  it('prints JSON with --json: the plan and the profile with its defaults', () => {
    const r = run(['plan', '-p', 'p.json', '--json'], { 'p.json': HAND });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      nodes: number;
      feasible: boolean;
      dimensions: Array<{ id: string; value: number }>;
      input: { headroom: number; rollupWindowMs: number };
    };
    expect(out.nodes).toBe(8);
    expect(out.feasible).toBe(true);
    expect(out.input).toMatchObject({ headroom: 0.2, rollupWindowMs: 0 });
    expect(out.dimensions.find((d) => d.id === 'history_write_rate')?.value).toBe(5050);
  });

  it('evaluates a given node count with --nodes and exits 3 when it does not fit', () => {
    const r = run(['plan', '-p', 'p.json', '--nodes', '4'], { 'p.json': HAND });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('profile hand: NOT FEASIBLE');
    expect(r.stdout).toContain('nodes: 4 (fixed by the profile (fleet.nodes))');
    expect(r.stdout).toContain('  ! 1.41 cores per node exceed 0.8');
    expect(r.stdout).toMatch(/^CPU per node .* OVER$/m);
  });

  it('exits 1 with every problem of an invalid profile, and prints no plan', () => {
    const bad = JSON.stringify({ ...JSON.parse(HAND), rollupWindowMs: 33, subscribersPerSession: { min: 2, max: 1 } });
    const r = run(['plan', '-p', 'bad.json'], { 'bad.json': bad });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'ait plan: invalid profile:\n' +
        '  bad.json: subscribersPerSession.max: must be at least subscribersPerSession.min (2)\n' +
        '  bad.json: rollupWindowMs: Invalid option: expected one of 0|20|40|100|500\n',
    );
    expect(run(['plan', '-p', 'x.json'], { 'x.json': 'not: [valid' }).code).toBe(1);
  });

  it('exits 2 on usage errors', () => {
    expect(run(['plan']).stderr).toContain('give --profile <file>');
    expect(run(['plan']).code).toBe(2);
    expect(run(['plan', '--profile']).code).toBe(2);
    expect(run(['plan', '-p', 'p.json', '--frobnicate']).code).toBe(2);
    expect(run(['plan', '-p', 'missing.json']).stderr).toBe('ait plan: cannot read missing.json: ENOENT\n');
    for (const n of ['0', '-1', '2.5', 'many', '1000000']) {
      const r = run(['plan', '-p', 'p.json', '--nodes', n], { 'p.json': HAND });
      expect(r.code, n).toBe(2);
      // parseArgs itself refuses '-1' (it looks like an option).
      if (n !== '-1') expect(r.stderr, n).toContain('--nodes must be a whole number');
    }
    expect(run(['help']).stdout).toContain('usage: ait plan --profile <file>');
  });

  it('docs/capacity.md shows the current plan of the headline profile', () => {
    const doc = readFileSync(new URL('docs/capacity.md', ROOT), 'utf8');
    const r = run(['plan', '-p', 'h.json'], { 'h.json': profileText('headline-1m.json') });
    // When this fails, budgets or formulas changed: paste the new output into the doc.
    expect(doc).toContain(`\`\`\`\n${r.stdout}\`\`\``);
  });

  it('works as a process on the committed profiles: the headline needs a transport that scales', () => {
    const entry = fileURLToPath(new URL('operator/src/ait.ts', ROOT));
    const headline = spawnSync(
      process.execPath,
      [entry, 'plan', '--json', '--profile', fileURLToPath(new URL('test/load/profiles/headline-1m.json', ROOT))],
      { encoding: 'utf8' },
    );
    expect(headline.status).toBe(3);
    const plan = JSON.parse(headline.stdout) as {
      nodes: number;
      nodesFor: { connections: number };
      problems: string[];
    };
    expect(plan.nodesFor.connections).toBe(63); // 1 000 000 / (20 000 × 0.8) = 62.5
    expect(plan.problems[0]).toMatch(/every node receives every channel's commits/);
    const local = spawnSync(process.execPath, [entry, 'plan', '-p', '-'], {
      input: profileText('local-smoke.json'),
      encoding: 'utf8',
    });
    expect(local.status).toBe(0);
    expect(local.stdout).toMatch(/^profile local-smoke: OK$/m);
  });
});
