// The release gates of OPERATIONS.md ("Release gates") judged from their JSON reports: the newest
// report of each kind, pass / fail / missing per gate, and the evidence document that
// `make release-evidence` writes. Pure: scripts/release-evidence.ts reads the files and runs git.
import { createHash } from 'node:crypto';

export interface ReportFile {
  /** Path relative to the repository root. */
  readonly path: string;
  readonly mtimeMs: number;
  readonly text: string;
}

export type GateStatus = 'pass' | 'fail' | 'missing';

export interface ReportSummary {
  readonly file: string;
  readonly kind: string;
  readonly sha256: string;
  /** From the file name's timestamp, else its modification time (ISO 8601). */
  readonly writtenAt: string;
  readonly status: 'pass' | 'fail';
  readonly problems: readonly string[];
  readonly details: Record<string, unknown>;
}

export interface Gate {
  readonly gate: 'conformance' | 'bench' | 'chaos';
  readonly target: string;
  readonly status: GateStatus;
  readonly summary: string;
  readonly problems: readonly string[];
  readonly reports: readonly ReportSummary[];
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** `fanout-2026-11-22T10-00-00-000Z.json` → kind `fanout`, its time; other names: the whole name, mtime. */
export function reportIdentity(f: ReportFile): { kind: string; writtenAt: string; order: string } {
  const name = basename(f.path).replace(/\.json$/, '');
  const m = /^(.+?)-(\d{4})-?(\d{2})-?(\d{2})T(\d{2})[-:]?(\d{2})[-:]?(\d{2})(?:[-.:]?(\d{3}))?Z?$/.exec(name);
  if (!m) {
    const iso = new Date(f.mtimeMs).toISOString();
    return { kind: name, writtenAt: iso, order: iso };
  }
  const [, kind, y, mo, d, h, mi, s, ms] = m as unknown as string[];
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms ?? '000'}Z`;
  return { kind: kind as string, writtenAt: iso, order: iso };
}

/** The newest report of each kind. */
export function newestByKind(files: readonly ReportFile[]): Map<string, ReportFile> {
  const out = new Map<string, { f: ReportFile; order: string }>();
  for (const f of files) {
    const id = reportIdentity(f);
    const prev = out.get(id.kind);
    if (!prev || id.order > prev.order || (id.order === prev.order && f.path > prev.f.path)) {
      out.set(id.kind, { f, order: id.order });
    }
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v.f]));
}

function parse(f: ReportFile): { ok: true; value: Record<string, unknown> } | { ok: false; problem: string } {
  try {
    const value = JSON.parse(f.text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, problem: `${f.path}: not a JSON object` };
    }
    return { ok: true, value: value as Record<string, unknown> };
  } catch (err) {
    return { ok: false, problem: `${f.path}: not JSON (${(err as Error).message})` };
  }
}

function summary(f: ReportFile, problems: string[], details: Record<string, unknown>): ReportSummary {
  const id = reportIdentity(f);
  return {
    file: f.path,
    kind: id.kind,
    sha256: createHash('sha256').update(f.text).digest('hex'),
    writtenAt: id.writtenAt,
    status: problems.length ? 'fail' : 'pass',
    problems,
    details,
  };
}

function gate(
  name: Gate['gate'],
  target: string,
  reports: ReportSummary[],
  missing: string[],
  passSummary: string,
): Gate {
  const problems = [...missing, ...reports.flatMap((r) => r.problems)];
  const failed = reports.some((r) => r.status === 'fail');
  const status: GateStatus = failed ? 'fail' : missing.length || reports.length === 0 ? 'missing' : 'pass';
  return {
    gate: name,
    target,
    status,
    summary: status === 'pass' ? passSummary : (problems[0] ?? 'no report'),
    problems,
    reports,
  };
}

/** The title prefix of an `it.fails` test that pins a known data-plane deviation. */
export const KNOWN_DEVIATION = 'known deviation:';

interface VitestAssertion {
  readonly title?: string;
  readonly fullName?: string;
  readonly status?: string;
  readonly failureMessages?: readonly string[];
}

/** `make conformance`: vitest's JSON report; passes when the run succeeded with no failed test. */
export function judgeConformance(files: readonly ReportFile[] | undefined): Gate {
  const target = 'make conformance';
  const newest = [...newestByKind(files ?? []).values()].filter((f) => reportIdentity(f).kind === 'conformance');
  const f = newest[0];
  if (!f) {
    return gate(
      'conformance',
      target,
      [],
      ['no test/conformance/reports/conformance-*.json: run make conformance'],
      '',
    );
  }
  const p = parse(f);
  if (!p.ok) return gate('conformance', target, [summary(f, [p.problem], {})], [], '');
  const r = p.value;
  const tests = (Array.isArray(r.testResults) ? r.testResults : []).flatMap(
    (t: { assertionResults?: VitestAssertion[] }) => t.assertionResults ?? [],
  ) as VitestAssertion[];
  const failed = tests.filter((t) => t.status === 'failed');
  const problems: string[] = [];
  if (typeof r.numTotalTests !== 'number' || r.numTotalTests === 0) problems.push(`${f.path}: no tests ran`);
  if (r.success !== true) problems.push(`${f.path}: the run did not succeed`);
  if (typeof r.numFailedTests === 'number' && r.numFailedTests > 0) {
    problems.push(`${r.numFailedTests} conformance tests failed: ${failed.map((t) => t.title).join('; ')}`);
  }
  const deviations = tests.filter((t) => t.title?.startsWith(KNOWN_DEVIATION)).map((t) => t.title);
  const details = {
    total: r.numTotalTests,
    passed: r.numPassedTests,
    failed: r.numFailedTests,
    skipped: (Number(r.numPendingTests) || 0) + (Number(r.numTodoTests) || 0),
    knownDeviations: deviations,
    tests: tests.map((t) => ({ name: t.fullName ?? t.title, status: t.status })),
  };
  const s = summary(f, problems, details);
  const tail = deviations.length ? `, ${deviations.length} known deviation(s) pinned` : '';
  return gate('conformance', target, [s], [], `${String(r.numPassedTests)}/${String(r.numTotalTests)} passed${tail}`);
}

/** A report of the bench/chaos convention: `failures: []` passes; `pass`/`ok: true|false` is accepted too. */
function judgeConventional(f: ReportFile): ReportSummary {
  const p = parse(f);
  if (!p.ok) return summary(f, [p.problem], {});
  const r = p.value;
  const kind = reportIdentity(f).kind;
  if (Array.isArray(r.failures)) {
    return summary(
      f,
      r.failures.map((x) => `${kind}: ${String(x)}`),
      { failures: r.failures },
    );
  }
  for (const key of ['pass', 'passed', 'ok']) {
    if (typeof r[key] === 'boolean') return summary(f, r[key] ? [] : [`${kind}: ${key} is false`], { [key]: r[key] });
  }
  return summary(f, [`${f.path}: no failures array and no pass/ok boolean: cannot judge it`], {});
}

/**
 * `make bench`: the newest report of each benchmark; every benchmark with a committed budget
 * (test/load/budgets.json) must have one, and none may have failures.
 */
export function judgeBench(files: readonly ReportFile[] | undefined, budgeted: readonly string[]): Gate {
  const newest = newestByKind(files ?? []);
  const reports = [...newest.values()].map(judgeConventional);
  const missing = budgeted
    .filter((k) => !newest.has(k))
    .map((k) => `no test/load/reports/${k}-*.json for the budgeted benchmark "${k}": run make bench`);
  return gate('bench', 'make bench', reports, missing, `${reports.length} benchmark(s) within budget`);
}

/** `make chaos`: the newest report of each scenario; the directory may not exist yet. */
export function judgeChaos(files: readonly ReportFile[] | undefined): Gate {
  if (files === undefined) {
    return gate('chaos', 'make chaos', [], ['chaos/reports/ does not exist: no chaos run yet (make chaos)'], '');
  }
  const reports = [...newestByKind(files).values()].map(judgeConventional);
  const missing = reports.length ? [] : ['chaos/reports/ holds no report: run make chaos'];
  return gate('chaos', 'make chaos', reports, missing, `${reports.length} chaos scenario(s) passed`);
}

export interface Evidence {
  readonly schema: 1;
  readonly generatedAt: string;
  /** fail: a gate failed; incomplete: none failed, some are missing; pass: every gate passed. */
  readonly result: 'pass' | 'fail' | 'incomplete';
  readonly git: Record<string, unknown>;
  readonly versions: Record<string, unknown>;
  readonly gates: Record<Gate['gate'], Gate>;
  readonly warnings: readonly string[];
}

export function buildEvidence(input: {
  readonly now: Date;
  readonly git: Record<string, unknown> & { committedAt?: string | null };
  readonly versions: Record<string, unknown>;
  readonly gates: readonly Gate[];
}): Evidence {
  const warnings: string[] = [];
  const committed = typeof input.git.committedAt === 'string' ? input.git.committedAt : undefined;
  const committedMs = committed === undefined ? Number.NaN : Date.parse(committed);
  for (const g of input.gates) {
    for (const r of g.reports) {
      if (Date.parse(r.writtenAt) < committedMs) {
        warnings.push(`${r.file} was written before the commit (${committed}): it may not test this code`);
      }
    }
  }
  if (input.git.dirty === true) warnings.push('the working tree has uncommitted changes');
  return {
    schema: 1,
    generatedAt: input.now.toISOString(),
    result: input.gates.some((g) => g.status === 'fail')
      ? 'fail'
      : input.gates.some((g) => g.status === 'missing')
        ? 'incomplete'
        : 'pass',
    git: input.git,
    versions: input.versions,
    gates: Object.fromEntries(input.gates.map((g) => [g.gate, g])) as Record<Gate['gate'], Gate>,
    warnings,
  };
}

/** 1 when a gate failed, or is missing without `allowMissing`. */
export function exitCode(e: Evidence, allowMissing: boolean): number {
  const gates = Object.values(e.gates);
  if (gates.some((g) => g.status === 'fail')) return 1;
  if (!allowMissing && gates.some((g) => g.status === 'missing')) return 1;
  return 0;
}
