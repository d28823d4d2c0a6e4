// scripts/release-evidence.ts as a process, on a throw-away repository root with hand-made reports.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('./release-evidence.ts', import.meta.url));
let root: string | undefined;

afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

function repo(files: Record<string, unknown>): string {
  root = mkdtempSync(join(tmpdir(), 'release-evidence-'));
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), typeof body === 'string' ? body : JSON.stringify(body));
  }
  return root;
}

function run(dir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [SCRIPT, '--root', dir, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const BASE = {
  'package.json': { name: 'aitransport', version: '9.8.7' },
  'charts/aitransport-operator/Chart.yaml':
    'apiVersion: v2\nname: aitransport-operator\nversion: 9.8.7\nappVersion: "9.8.7"\n',
  'test/load/budgets.json': { fanout: { maxLostDeliveries: 0 } },
  'test/conformance/reports/conformance-20261202T070457Z.json': {
    numTotalTests: 1,
    numPassedTests: 1,
    numFailedTests: 0,
    success: true,
    testResults: [{ assertionResults: [{ title: 'normal turn', status: 'passed' }] }],
  },
  'test/load/reports/fanout-2026-12-02T07-00-00-000Z.json': { failures: [] },
};

describe('make release-evidence', () => {
  it('writes release-evidence.json with versions, commit, date and each gate; a missing chaos gate fails', () => {
    const dir = repo(BASE);
    const r = run(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^conformance {2}pass {5}test\/conformance\/reports\/conformance-20261202T070457Z\.json {2}1\/1 passed$/m,
    );
    expect(r.stdout).toMatch(/^chaos {8}missing .*chaos\/reports\/ does not exist/m);
    expect(r.stdout).toContain('result: INCOMPLETE');
    const e = JSON.parse(readFileSync(join(dir, 'release-evidence.json'), 'utf8'));
    expect(e).toMatchObject({
      schema: 1,
      result: 'incomplete',
      versions: { aitransport: '9.8.7', chart: '9.8.7', chartAppVersion: '9.8.7', node: process.version },
      git: { commit: null },
      gates: { conformance: { status: 'pass' }, bench: { status: 'pass' }, chaos: { status: 'missing' } },
    });
    expect(Date.parse(e.generatedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('--allow-missing only warns about the missing gate; a failed gate still exits 1', () => {
    const dir = repo(BASE);
    const nowhere = run(dir, '--allow-missing', '--out', 'out/evidence.json');
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/^release-evidence: cannot write .*out\/evidence\.json: ENOENT$/m);
    mkdirSync(join(dir, 'out'));
    const again = run(dir, '--allow-missing', '--out', 'out/evidence.json');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('warning: some gates have no report (--allow-missing)');
    expect(JSON.parse(readFileSync(join(dir, 'out/evidence.json'), 'utf8')).result).toBe('incomplete');

    writeFileSync(
      join(dir, 'test/load/reports/fanout-2026-12-02T08-00-00-000Z.json'),
      '{"failures":["p99 9 ms > 5 ms"]}',
    );
    mkdirSync(join(dir, 'chaos/reports'), { recursive: true });
    writeFileSync(join(dir, 'chaos/reports/node-kill-2026-12-02T08-00-00-000Z.json'), '{"failures":[]}');
    const failed = run(dir, '--allow-missing');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^bench +fail .*fanout: p99 9 ms > 5 ms$/m);
    expect(failed.stdout).toContain('result: FAIL');
  });

  it('exits 2 on a usage error', () => {
    const dir = repo(BASE);
    expect(run(dir, '--frobnicate').code).toBe(2);
  });
});
