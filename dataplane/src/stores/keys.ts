// Store key scoping (STANDARDS I1): every key a store builds starts with the app id, encoded so
// that no (app, channel, ...) tuple can collide with another whatever characters they contain.

/** An unambiguous composite key: each part is length-prefixed. */
export function scopedKey(...parts: readonly string[]): string {
  let out = '';
  for (const p of parts) out += `${p.length}:${p}|`;
  return out;
}

/** Validates the tenant and channel of a store call; a bad argument is a programming error. */
export function assertScope(appId: string, channel?: string): void {
  if (typeof appId !== 'string' || appId.length === 0 || appId.length > 256) {
    throw new TypeError(`store: appId must be a non-empty string of at most 256 chars`);
  }
  if (channel !== undefined && (typeof channel !== 'string' || channel.length === 0 || channel.length > 1024)) {
    throw new TypeError(`store: channel must be a non-empty string of at most 1024 chars`);
  }
}

/** Validates a TTL in milliseconds. */
export function assertTtl(label: string, ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new TypeError(`${label} must be a positive integer (ms)`);
}
