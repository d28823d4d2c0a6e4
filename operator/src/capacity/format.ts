// The human-readable form of a plan (`ait plan` without --json): the verdict, one table row per
// dimension, the formulas, the budgets with where each comes from, and the cluster settings.
import { type Dimension, fmt, type Plan } from './model.ts';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${fmt(v, u === 0 ? 0 : 1)} ${UNITS[u]}`;
}

export function formatValue(value: number, unit: Dimension['unit']): string {
  switch (unit) {
    case 'bytes':
      return bytes(value);
    case 'bytes/s':
      return `${bytes(value)}/s`;
    case 'cores':
      return `${fmt(value, 2)} cores`;
    default:
      return `${fmt(value, value < 100 ? 1 : 0)} ${unit}`;
  }
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatPlan(plan: Plan): string {
  const out: string[] = [];
  const verdict = plan.feasible ? 'OK' : 'NOT FEASIBLE';
  const how = plan.computed
    ? `computed: connections need ${plan.nodesFor.connections}, CPU needs ${plan.nodesFor.cpu ?? 'no node count'}, ` +
      `minNodes ${plan.nodesFor.minNodes}`
    : 'fixed by the profile (fleet.nodes)';
  out.push(`profile ${plan.profile}: ${verdict}`);
  out.push(`nodes: ${plan.nodes} (${how}); headroom ${fmt(plan.headroom * 100)} %; transport ${plan.transport}`);
  for (const p of plan.problems) out.push(`  ! ${p}`);
  out.push('');
  const rows = [['dimension', 'scope', 'value', 'limit', 'check']];
  for (const d of plan.dimensions) {
    rows.push([
      d.dimension,
      d.scope,
      formatValue(d.value, d.unit),
      d.limit === undefined ? '' : formatValue(d.limit, d.unit),
      d.ok === undefined ? '' : d.ok ? 'ok' : 'OVER',
    ]);
  }
  out.push(table(rows));
  out.push('', 'formulas:');
  out.push(table(plan.dimensions.map((d) => [`  ${d.dimension}`, d.formula])));
  out.push(
    '',
    `derived: ${fmt(plan.derived.meanSubscribers, 2)} subscribers per session, ` +
      `${fmt(plan.derived.responsesPerSecond, 1)} responses/s, ` +
      `${fmt(plan.derived.framesPerSubscriberPerStream, 1)} append frames/s per subscriber and stream, ` +
      `retention multiplier ${fmt(plan.derived.retentionMultiplier, 2)}`,
  );
  out.push('', 'budgets:');
  out.push(table(Object.entries(plan.budgets).map(([k, b]) => [`  ${k}`, fmt(b.value, 2), b.source])));
  out.push('', 'AITransportCluster settings for this plan:');
  out.push(table(Object.entries(plan.suggested).map(([k, v]) => [`  ${k}:`, String(v)])));
  return `${out.join('\n')}\n`;
}
