// Pieces shared by the small Redis stores (publish claims, claims, active streams, revocations,
// the HTTP idempotency cache).
import type { RedisConnection } from './client.ts';
import type { RedisKeys } from './keys.ts';

/** Lua `I(x)`: an integer as decimal text (tostring and redis.call print 1e+15 past 14 digits). */
export const LUA_INT = `local function I(x) return string.format('%d', x) end
`;

export interface RedisStoreOptions {
  readonly connection: RedisConnection;
  /** Key layout (default: the connection's prefix, default bucket counts). */
  readonly keys?: RedisKeys;
  /** Injected clock: every expiry decision uses it (not Redis' clock). */
  readonly now?: () => number;
  /** How long past its logical expiry a key may linger before PX deletes it (default 60 s), so
   * a Redis clock a little ahead of ours never drops a live entry. */
  readonly gcGraceMs?: number;
}

export function checkKey(label: string, v: string, max: number): void {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new TypeError(`${label} must be a non-empty string of at most ${max} chars`);
  }
}

export function graceOf(opts: { readonly gcGraceMs?: number }): number {
  const g = opts.gcGraceMs ?? 60_000;
  if (!Number.isSafeInteger(g) || g < 0) throw new TypeError('gcGraceMs must be a non-negative integer');
  return g;
}
