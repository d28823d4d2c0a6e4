import { describe, expect, it } from 'vitest';
import { cronMatches, inMaintenanceWindow } from './maintenance.ts';

const at = (iso: string) => Date.parse(iso);

describe('cronMatches (UTC)', () => {
  it.each([
    ['* * * * *', '2026-06-01T12:34:00Z', true],
    ['* 1-4 * * *', '2026-06-01T03:59:00Z', true],
    ['* 1-4 * * *', '2026-06-01T05:00:00Z', false],
    ['*/15 * * * *', '2026-06-01T05:45:00Z', true],
    ['*/15 * * * *', '2026-06-01T05:46:00Z', false],
    ['5/20 * * * *', '2026-06-01T05:25:00Z', true],
    ['5 * * * *', '2026-06-01T05:25:00Z', false],
    ['0-10/5 2 * * *', '2026-06-01T02:10:00Z', true],
    ['* * * 6 *', '2026-06-01T00:00:00Z', true],
    ['* * * 7 *', '2026-06-01T00:00:00Z', false],
    // 2026-06-07 is a Sunday: 0 and 7 both name it
    ['* * * * 0', '2026-06-07T10:00:00Z', true],
    ['* * * * 7', '2026-06-07T10:00:00Z', true],
    ['* * * * 1-5', '2026-06-07T10:00:00Z', false],
    // both day fields restricted: either matches (the 1st, or a Sunday)
    ['* * 1 * 0', '2026-06-07T10:00:00Z', true],
    ['* * 1 * 0', '2026-06-01T10:00:00Z', true],
    ['* * 1 * 0', '2026-06-02T10:00:00Z', false],
    ['* * *', '2026-06-02T10:00:00Z', false],
  ])('%s at %s → %s', (expr, iso, want) => {
    expect(cronMatches(expr, at(iso))).toBe(want);
  });

  it('no windows means always open; any matching window opens it', () => {
    expect(inMaintenanceWindow(undefined, at('2026-06-01T12:00:00Z'))).toBe(true);
    expect(inMaintenanceWindow([], at('2026-06-01T12:00:00Z'))).toBe(true);
    expect(inMaintenanceWindow(['* 1 * * *', '* 12 * * *'], at('2026-06-01T12:00:00Z'))).toBe(true);
    expect(inMaintenanceWindow(['* 1 * * *'], at('2026-06-01T12:00:00Z'))).toBe(false);
  });
});
