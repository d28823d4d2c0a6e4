// Append rollup windows (PROTOCOL.md 5, decision 12): the values a subscriber may ask for with
// `append_rollup_window`, and the validation the socket engine applies at subscribe/upgrade.

/** Allowed `append_rollup_window` values in ms; 0 means "every append as it comes". */
export const ALLOWED_ROLLUP_WINDOWS_MS = [0, 20, 40, 100, 500] as const;
export type RollupWindowMs = (typeof ALLOWED_ROLLUP_WINDOWS_MS)[number];

export const MIN_ROLLUP_WINDOW_MS = 0;
export const MAX_ROLLUP_WINDOW_MS = 500;
/** `[ai_transport.rollup].default_window_ms`. */
export const DEFAULT_ROLLUP_WINDOW_MS: RollupWindowMs = 40;
/** The deadline worker's tick (`wheel_tick_ms`). */
export const DEFAULT_WHEEL_TICK_MS = 5;

export function isAllowedRollupWindow(v: unknown): v is RollupWindowMs {
  return typeof v === 'number' && (ALLOWED_ROLLUP_WINDOWS_MS as readonly number[]).includes(v);
}

/**
 * Parses a client-supplied window (query string or subscribe data). Returns the default for
 * undefined, the window for an allowed value, and undefined for anything else (the caller
 * answers 400 / rejects the subscribe).
 */
export function parseRollupWindow(
  raw: unknown,
  dflt: RollupWindowMs = DEFAULT_ROLLUP_WINDOW_MS,
): RollupWindowMs | undefined {
  if (raw === undefined || raw === null || raw === '') return dflt;
  const n = typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : raw;
  return isAllowedRollupWindow(n) ? n : undefined;
}
