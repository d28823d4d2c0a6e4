// Maintenance windows (spec.upgrade.maintenanceWindows): five-field cron expressions, UTC, naming
// the minutes in which a rollout step may START (a step in flight always finishes). The syntax
// is checked by api/v1alpha1/validate.ts cronProblem; this only evaluates valid expressions.

function fieldMatches(field: string, value: number, lo: number, hi: number): boolean {
  for (const part of field.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) continue;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    let from = lo;
    let to = hi;
    if (m[2] !== undefined) {
      from = Number(m[2]);
      // `5/15` means 5, 20, 35, 50 (from 5 to the end); a plain `5` is just 5.
      to = m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? hi : from;
    }
    if (value >= from && value <= to && (value - from) % step === 0) return true;
  }
  return false;
}

/** Whether the minute of `ms` (UTC) is in the cron expression. Day of week 0 and 7 are Sunday. */
export function cronMatches(expr: string, ms: number): boolean {
  const f = expr.trim().split(/\s+/);
  if (f.length !== 5) return false;
  const d = new Date(ms);
  const [minute, hour, dom, month, dow] = f as [string, string, string, string, string];
  if (!fieldMatches(minute, d.getUTCMinutes(), 0, 59)) return false;
  if (!fieldMatches(hour, d.getUTCHours(), 0, 23)) return false;
  if (!fieldMatches(month, d.getUTCMonth() + 1, 1, 12)) return false;
  const day = d.getUTCDay();
  const domOk = fieldMatches(dom, d.getUTCDate(), 1, 31);
  const dowOk = fieldMatches(dow, day, 0, 7) || (day === 0 && fieldMatches(dow, 7, 0, 7));
  // Classic cron: when both day fields are restricted, either one matching is enough.
  if (dom !== '*' && dow !== '*') return domOk || dowOk;
  return domOk && dowOk;
}

/** No windows = always open. */
export function inMaintenanceWindow(windows: readonly string[] | undefined, ms: number): boolean {
  if (!windows || windows.length === 0) return true;
  return windows.some((w) => cronMatches(w, ms));
}
