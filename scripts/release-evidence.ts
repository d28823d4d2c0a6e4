// `make release-evidence`: collects the newest JSON report of each release gate (OPERATIONS.md
// "Release gates") — `make conformance` (test/conformance/reports/), `make bench`
// (test/load/reports/) and `make chaos` (chaos/reports/) — with the versions, git commit and date
// into one file, release-evidence.json, and says pass / fail / missing per gate.
//
//   node scripts/release-evidence.ts [--allow-missing] [--out <file>] [--root <dir>]
//
// Exit 1 when a gate failed, or when one has no report (unless --allow-missing, which only
// warns); 2 on a usage error or when the output cannot be written. Judging is pure (release-evidence/gates.ts); this file does the I/O.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import {
  buildEvidence,
  type Evidence,
  exitCode,
  type Gate,
  judgeBench,
  judgeChaos,
  judgeConformance,
  type ReportFile,
} from './release-evidence/gates.ts';

export const REPORT_DIRS = {
  conformance: 'test/conformance/reports',
  bench: 'test/load/reports',
  chaos: 'chaos/reports',
} as const;

/** Runtime dependencies whose installed versions go into the evidence. */
const DEPENDENCIES = ['ws', 'ioredis', 'zod', 'prom-client', 'jose', 'pino', 'yaml', '@kubernetes/client-node'];

/** The JSON files of a report directory, or undefined when it does not exist. */
function readReports(root: string, dir: string): ReportFile[] | undefined {
  const abs = join(root, dir);
  if (!existsSync(abs)) return undefined;
  return readdirSync(abs)
    .filter((n) => n.endsWith('.json'))
    .map((n) => {
      const file = join(abs, n);
      return { path: relative(root, file), mtimeMs: statSync(file).mtimeMs, text: readFileSync(file, 'utf8') };
    });
}

function git(root: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, {
      cwd: root,
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

function gitFacts(root: string): Record<string, unknown> {
  const commit = git(root, ['rev-parse', 'HEAD']);
  if (!commit) return { commit: null, reason: 'not a git checkout, or git is not installed' };
  const status = git(root, ['status', '--porcelain']);
  return {
    commit,
    branch: git(root, ['rev-parse', '--abbrev-ref', 'HEAD']) ?? null,
    committedAt: git(root, ['show', '-s', '--format=%cI', 'HEAD']) ?? null,
    dirty: status === undefined ? null : status.length > 0,
  };
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function versions(root: string): Record<string, unknown> {
  const pkg = readJson(join(root, 'package.json'));
  let chart: Record<string, unknown> | undefined;
  try {
    chart = parseYaml(readFileSync(join(root, 'charts/aitransport-operator/Chart.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
  } catch {}
  const deps: Record<string, string | null> = {};
  for (const d of DEPENDENCIES) {
    deps[d] = (readJson(join(root, 'node_modules', d, 'package.json'))?.version as string | undefined) ?? null;
  }
  return {
    aitransport: pkg?.version ?? null,
    chart: chart?.version ?? null,
    chartAppVersion: chart?.appVersion ?? null,
    node: process.version,
    dependencies: deps,
  };
}

/** The benchmarks that have a committed budget: each must have a report. */
function budgetedBenchmarks(root: string): string[] {
  const budgets = readJson(join(root, 'test/load/budgets.json'));
  return budgets ? Object.keys(budgets).sort() : [];
}

export function collectEvidence(root: string, now = new Date()): Evidence {
  const gates: Gate[] = [
    judgeConformance(readReports(root, REPORT_DIRS.conformance)),
    judgeBench(readReports(root, REPORT_DIRS.bench), budgetedBenchmarks(root)),
    judgeChaos(readReports(root, REPORT_DIRS.chaos)),
  ];
  return buildEvidence({ now, git: gitFacts(root), versions: versions(root), gates });
}

export function formatEvidence(e: Evidence, out: string): string {
  const rows = [['gate', 'status', 'newest report(s)', 'summary']];
  for (const g of Object.values(e.gates)) {
    rows.push([g.gate, g.status, g.reports.map((r) => r.file).join(', ') || '—', g.summary]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const lines = rows.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c)).join('  '));
  const problems = Object.values(e.gates).flatMap((g) => g.problems.slice(1).map((p) => `  ${g.gate}: ${p}`));
  const commit = typeof e.git.commit === 'string' ? e.git.commit.slice(0, 12) : 'unknown commit';
  return [
    `release evidence for ${String(e.versions.aitransport)} at ${commit} → ${out}`,
    ...lines,
    ...problems,
    ...e.warnings.map((w) => `warning: ${w}`),
    `result: ${e.result.toUpperCase()}`,
    '',
  ].join('\n');
}

function main(argv: string[]): number {
  let values: { 'allow-missing'?: boolean; out?: string; root?: string };
  try {
    values = parseArgs({
      args: argv,
      options: { 'allow-missing': { type: 'boolean' }, out: { type: 'string' }, root: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`release-evidence: ${(err as Error).message}\n`);
    return 2;
  }
  const root = resolve(values.root ?? fileURLToPath(new URL('..', import.meta.url)));
  const out = resolve(root, values.out ?? 'release-evidence.json');
  const evidence = collectEvidence(root);
  try {
    writeFileSync(out, `${JSON.stringify(evidence, null, 2)}\n`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    process.stderr.write(`release-evidence: cannot write ${out}: ${code}\n`);
    return 2;
  }
  process.stdout.write(formatEvidence(evidence, relative(process.cwd(), out) || out));
  const allowMissing = values['allow-missing'] === true;
  const code = exitCode(evidence, allowMissing);
  if (code === 0 && evidence.result === 'incomplete') {
    process.stderr.write('release-evidence: warning: some gates have no report (--allow-missing)\n');
  }
  return code;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  process.exitCode = main(process.argv.slice(2));
}
