import { describe, expect, it } from 'vitest';
import {
  buildEvidence,
  exitCode,
  judgeBench,
  judgeChaos,
  judgeConformance,
  newestByKind,
  type ReportFile,
  reportIdentity,
} from './gates.ts';

const file = (path: string, body: unknown, mtimeMs = 0): ReportFile => ({
  path,
  mtimeMs,
  text: typeof body === 'string' ? body : JSON.stringify(body),
});

/** The shape of vitest's JSON reporter, reduced to what the gate reads. */
const vitest = (tests: Array<[string, 'passed' | 'failed' | 'skipped']>) => ({
  numTotalTests: tests.length,
  numPassedTests: tests.filter(([, s]) => s === 'passed').length,
  numFailedTests: tests.filter(([, s]) => s === 'failed').length,
  numPendingTests: tests.filter(([, s]) => s === 'skipped').length,
  numTodoTests: 0,
  success: tests.every(([, s]) => s !== 'failed'),
  testResults: [{ assertionResults: tests.map(([title, status]) => ({ title, fullName: `suite ${title}`, status })) }],
});

describe('report names', () => {
  it('reads the kind and time of both timestamp styles; other names fall back to mtime', () => {
    expect(reportIdentity(file('test/load/reports/fanout-2026-11-22T10-00-00-000Z.json', {}))).toMatchObject({
      kind: 'fanout',
      writtenAt: '2026-11-22T10:00:00.000Z',
    });
    expect(reportIdentity(file('r/conformance-20261202T070457Z.json', {}))).toMatchObject({
      kind: 'conformance',
      writtenAt: '2026-12-02T07:04:57.000Z',
    });
    expect(reportIdentity(file('r/rollup-fanout-2026-01-02T03-04-05-006Z.json', {})).kind).toBe('rollup-fanout');
    expect(reportIdentity(file('chaos/reports/node-kill.json', {}, Date.UTC(2026, 0, 1)))).toEqual({
      kind: 'node-kill',
      writtenAt: '2026-01-01T00:00:00.000Z',
      order: '2026-01-01T00:00:00.000Z',
    });
  });

  it('keeps the newest report of each kind', () => {
    const newest = newestByKind([
      file('r/fanout-2026-11-22T10-00-00-000Z.json', { n: 1 }),
      file('r/fanout-2026-11-23T09-00-00-000Z.json', { n: 2 }),
      file('r/rollup-2026-11-01T00-00-00-000Z.json', { n: 3 }),
      file('r/fanout-2026-11-22T23-59-59-999Z.json', { n: 4 }),
    ]);
    expect([...newest.keys()]).toEqual(['fanout', 'rollup']);
    expect(newest.get('fanout')?.path).toBe('r/fanout-2026-11-23T09-00-00-000Z.json');
  });
});

describe('the conformance gate', () => {
  const dir = 'test/conformance/reports';

  it('passes on the newest successful run and lists the known deviations', () => {
    const g = judgeConformance([
      file(`${dir}/conformance-20261201T000000Z.json`, vitest([['a', 'failed']])),
      file(
        `${dir}/conformance-20261202T000000Z.json`,
        vitest([
          ['a', 'passed'],
          ['known deviation: replay aggregate', 'passed'],
        ]),
      ),
    ]);
    expect(g.status).toBe('pass');
    expect(g.summary).toBe('2/2 passed, 1 known deviation(s) pinned');
    expect(g.reports).toHaveLength(1);
    expect(g.reports[0]?.file).toBe(`${dir}/conformance-20261202T000000Z.json`);
    expect(g.reports[0]?.details.knownDeviations).toEqual(['known deviation: replay aggregate']);
    expect(g.reports[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('fails on failed tests, on an empty or unsuccessful run, and on a report that is not JSON', () => {
    const failed = judgeConformance([
      file(
        `${dir}/conformance-20261202T000000Z.json`,
        vitest([
          ['cancel', 'failed'],
          ['edit', 'passed'],
        ]),
      ),
    ]);
    expect(failed.status).toBe('fail');
    expect(failed.problems).toContain('1 conformance tests failed: cancel');
    expect(judgeConformance([file(`${dir}/conformance-20261202T000000Z.json`, vitest([]))]).problems).toEqual([
      `${dir}/conformance-20261202T000000Z.json: no tests ran`,
    ]);
    const broken = judgeConformance([file(`${dir}/conformance-20261202T000000Z.json`, '{"numTotal')]);
    expect(broken.status).toBe('fail');
    expect(broken.summary).toMatch(/: not JSON/);
  });

  it('is missing without a report (or without the directory)', () => {
    for (const files of [undefined, [], [file(`${dir}/other.json`, {})]]) {
      const g = judgeConformance(files);
      expect(g.status).toBe('missing');
      expect(g.summary).toBe('no test/conformance/reports/conformance-*.json: run make conformance');
    }
  });
});

describe('the bench gate', () => {
  const r = (name: string, failures: unknown) => file(`test/load/reports/${name}.json`, { failures });

  it('passes when every budgeted benchmark has a newest report without failures', () => {
    const g = judgeBench(
      [r('fanout-2026-11-22T10-00-00-000Z', ['old failure']), r('fanout-2026-11-23T10-00-00-000Z', [])],
      ['fanout'],
    );
    expect(g.status).toBe('pass');
    expect(g.summary).toBe('1 benchmark(s) within budget');
  });

  it('fails with the budget misses of the newest report', () => {
    const g = judgeBench(
      [r('fanout-2026-11-23T10-00-00-000Z', ['efficiency 0.9x < 2.5x the naive floor'])],
      ['fanout'],
    );
    expect(g.status).toBe('fail');
    expect(g.summary).toBe('fanout: efficiency 0.9x < 2.5x the naive floor');
  });

  it('is missing when a budgeted benchmark has no report; fails a report it cannot judge', () => {
    const g = judgeBench([r('fanout-2026-11-23T10-00-00-000Z', [])], ['fanout', 'rollup']);
    expect(g.status).toBe('missing');
    expect(g.problems).toEqual([
      'no test/load/reports/rollup-*.json for the budgeted benchmark "rollup": run make bench',
    ]);
    expect(judgeBench(undefined, ['fanout']).status).toBe('missing');
    const odd = judgeBench([file('test/load/reports/fanout-2026-11-23T10-00-00-000Z.json', { x: 1 })], ['fanout']);
    expect(odd.status).toBe('fail');
    expect(odd.summary).toMatch(/no failures array and no pass\/ok boolean/);
  });
});

describe('the chaos gate', () => {
  it('says so when chaos/reports does not exist yet, or is empty', () => {
    expect(judgeChaos(undefined)).toMatchObject({
      status: 'missing',
      summary: 'chaos/reports/ does not exist: no chaos run yet (make chaos)',
    });
    expect(judgeChaos([]).status).toBe('missing');
  });

  it('judges each scenario by failures[] or a pass boolean', () => {
    const ok = judgeChaos([
      file('chaos/reports/node-kill-2026-11-23T10-00-00-000Z.json', { failures: [] }),
      file('chaos/reports/redis-restart-2026-11-23T10-00-00-000Z.json', { pass: true }),
    ]);
    expect(ok.status).toBe('pass');
    expect(ok.summary).toBe('2 chaos scenario(s) passed');
    const bad = judgeChaos([file('chaos/reports/partition-2026-11-23T10-00-00-000Z.json', { ok: false })]);
    expect(bad).toMatchObject({ status: 'fail', summary: 'partition: ok is false' });
  });
});

describe('the evidence', () => {
  const pass = judgeBench(
    [file('test/load/reports/fanout-2026-12-01T00-00-00-000Z.json', { failures: [] })],
    ['fanout'],
  );
  const missing = judgeChaos(undefined);
  const failing = judgeBench([file('test/load/reports/fanout-2026-12-01T00-00-00-000Z.json', { failures: ['x'] })], []);
  const now = new Date('2026-12-02T08:00:00Z');

  it('passes only when every gate passed; missing gates fail unless allowed', () => {
    const all = buildEvidence({ now, git: { commit: 'abc' }, versions: {}, gates: [pass] });
    expect(all.result).toBe('pass');
    expect(exitCode(all, false)).toBe(0);
    const incomplete = buildEvidence({ now, git: { commit: 'abc' }, versions: {}, gates: [pass, missing] });
    expect(incomplete.result).toBe('incomplete');
    expect(exitCode(incomplete, false)).toBe(1);
    expect(exitCode(incomplete, true)).toBe(0);
    const failed = buildEvidence({ now, git: { commit: 'abc' }, versions: {}, gates: [failing, missing] });
    expect(failed.result).toBe('fail');
    expect(exitCode(failed, true)).toBe(1);
    expect(failed.gates.chaos.status).toBe('missing');
    expect(failed.generatedAt).toBe('2026-12-02T08:00:00.000Z');
  });

  it('warns about reports older than the commit and about a dirty tree', () => {
    const e = buildEvidence({
      now,
      git: { commit: 'abc', committedAt: '2026-12-01T12:00:00+00:00', dirty: true },
      versions: {},
      gates: [pass],
    });
    expect(e.warnings).toEqual([
      'test/load/reports/fanout-2026-12-01T00-00-00-000Z.json was written before the commit (2026-12-01T12:00:00+00:00): it may not test this code',
      'the working tree has uncommitted changes',
    ]);
    const fresh = buildEvidence({
      now,
      git: { commit: 'abc', committedAt: '2026-11-30T00:00:00Z' },
      versions: {},
      gates: [pass],
    });
    expect(fresh.warnings).toEqual([]);
  });
});
