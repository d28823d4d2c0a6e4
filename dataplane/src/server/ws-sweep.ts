// Time-driven connection duties, decided by one pure function and driven by ONE periodic
// sweep for the whole engine (STANDARDS C3: no timer per socket, bounded work per tick):
// - V1 heartbeat: after activityTimeout idle send `pusher:ping`; no reply within
//   pongTimeout → close 4201 (PROTOCOL.md 1.3);
// - V2 heartbeat: native ping every max(pingInterval, activityTimeout/2); no native pong
//   within pongTimeout → close 4201;
// - capability token expiry: `sockudo:token_expired` 40142 at `exp`, close 4009 when not
//   refreshed within the grace period (PROTOCOL.md 2.4);
// - enableUserAuthentication: not signed in / authorized in time → close 4009.

export interface SweepView {
  readonly version: 1 | 2;
  readonly connectedAtMs: number;
  readonly lastActivityMs: number;
  /** When the outstanding ping (V1 app-level or V2 native) was sent; undefined = none. */
  readonly pingSentAtMs: number | undefined;
  /** V2: when the last native ping was sent (connectedAtMs before the first). */
  readonly lastNativePingMs: number;
  /** Capability token `exp` in ms, when the connection has a token. */
  readonly tokenExpMs: number | undefined;
  /** When `token_expired` was sent for the current token. */
  readonly tokenExpiredNoticeAtMs: number | undefined;
  /** Signed in, token-authenticated, or subscribed to a private/presence channel. */
  readonly authenticated: boolean;
  /** The app's user-authentication deadline in ms after connect; undefined = not required. */
  readonly userAuthTimeoutMs: number | undefined;
}

export interface SweepSettings {
  readonly activityTimeoutMs: number;
  readonly pongTimeoutMs: number;
  readonly nativePingIntervalMs: number;
  readonly tokenExpiryGraceMs: number;
}

export type SweepAction =
  | 'none'
  | 'pong-timeout'
  | 'token-expired-close'
  | 'user-auth-timeout'
  | 'token-expired-notice'
  | 'send-ping'
  | 'send-native-ping';

/** The one duty due for a connection now; the most severe first. */
export function dueAction(c: SweepView, now: number, s: SweepSettings): SweepAction {
  if (c.pingSentAtMs !== undefined && now - c.pingSentAtMs >= s.pongTimeoutMs) return 'pong-timeout';
  if (c.tokenExpiredNoticeAtMs !== undefined && now - c.tokenExpiredNoticeAtMs >= s.tokenExpiryGraceMs) {
    return 'token-expired-close';
  }
  if (c.userAuthTimeoutMs !== undefined && !c.authenticated && now - c.connectedAtMs >= c.userAuthTimeoutMs) {
    return 'user-auth-timeout';
  }
  if (c.tokenExpMs !== undefined && c.tokenExpiredNoticeAtMs === undefined && now >= c.tokenExpMs) {
    return 'token-expired-notice';
  }
  if (c.pingSentAtMs === undefined) {
    if (c.version === 1 && now - c.lastActivityMs >= s.activityTimeoutMs) return 'send-ping';
    if (c.version === 2 && now - c.lastNativePingMs >= s.nativePingIntervalMs) return 'send-native-ping';
  }
  return 'none';
}

/** V2 native ping interval: max(pingIntervalSeconds, activityTimeoutSeconds / 2), in ms. */
export function nativePingIntervalMs(pingIntervalSeconds: number, activityTimeoutSeconds: number): number {
  return Math.max(pingIntervalSeconds, activityTimeoutSeconds / 2) * 1000;
}

/**
 * Round-robin visitor over a live Map: each `tick` visits at most `budget` values, resuming
 * where the previous tick stopped, so a full pass over N entries takes ceil(N/budget) ticks.
 * Entries added or deleted meanwhile are handled by Map iteration semantics.
 */
export class RoundRobin<K, V> {
  readonly #map: Map<K, V>;
  #it: Iterator<V> | undefined;

  constructor(map: Map<K, V>) {
    this.#map = map;
  }

  tick(budget: number, visit: (v: V) => void): number {
    let visited = 0;
    let restarted = false;
    const limit = Math.min(budget, this.#map.size);
    while (visited < limit) {
      this.#it ??= this.#map.values();
      const next = this.#it.next();
      if (next.done) {
        this.#it = undefined;
        if (restarted || this.#map.size === 0) break;
        restarted = true;
        continue;
      }
      visited++;
      visit(next.value);
    }
    return visited;
  }
}
