import { describe, expect, it } from 'vitest';
import { dueAction, nativePingIntervalMs, RoundRobin, type SweepView } from './ws-sweep.ts';

const settings = {
  activityTimeoutMs: 120_000,
  pongTimeoutMs: 30_000,
  nativePingIntervalMs: 60_000,
  tokenExpiryGraceMs: 30_000,
};
const base: SweepView = {
  version: 1,
  connectedAtMs: 0,
  lastActivityMs: 0,
  pingSentAtMs: undefined,
  lastNativePingMs: 0,
  tokenExpMs: undefined,
  tokenExpiredNoticeAtMs: undefined,
  authenticated: false,
  userAuthTimeoutMs: undefined,
};

describe('dueAction', () => {
  it('V1: pings after the activity timeout, then times out without a pong', () => {
    expect(dueAction(base, 119_999, settings)).toBe('none');
    expect(dueAction(base, 120_000, settings)).toBe('send-ping');
    const pinged = { ...base, pingSentAtMs: 120_000 };
    expect(dueAction(pinged, 149_999, settings)).toBe('none');
    expect(dueAction(pinged, 150_000, settings)).toBe('pong-timeout');
  });

  it('V2: native pings on their own interval, whatever the activity', () => {
    const v2 = { ...base, version: 2 as const, lastActivityMs: 59_000 };
    expect(dueAction(v2, 59_999, settings)).toBe('none');
    expect(dueAction(v2, 60_000, settings)).toBe('send-native-ping');
    expect(dueAction({ ...v2, pingSentAtMs: 60_000 }, 90_000, settings)).toBe('pong-timeout');
  });

  it('token: notice at exp, close after the grace period', () => {
    const t = { ...base, version: 2 as const, lastNativePingMs: 1e12, tokenExpMs: 10_000 };
    expect(dueAction(t, 9_999, settings)).toBe('none');
    expect(dueAction(t, 10_000, settings)).toBe('token-expired-notice');
    const noticed = { ...t, tokenExpiredNoticeAtMs: 10_000 };
    expect(dueAction(noticed, 39_999, settings)).toBe('none');
    expect(dueAction(noticed, 40_000, settings)).toBe('token-expired-close');
  });

  it('user authentication deadline', () => {
    const c = { ...base, userAuthTimeoutMs: 5_000 };
    expect(dueAction(c, 4_999, settings)).toBe('none');
    expect(dueAction(c, 5_000, settings)).toBe('user-auth-timeout');
    expect(dueAction({ ...c, authenticated: true }, 5_000, settings)).toBe('none');
  });

  it('the most severe duty wins', () => {
    const c = { ...base, pingSentAtMs: 0, userAuthTimeoutMs: 1 };
    expect(dueAction(c, 200_000, settings)).toBe('pong-timeout');
  });

  it('native interval = max(pingInterval, activityTimeout / 2)', () => {
    expect(nativePingIntervalMs(30, 120)).toBe(60_000);
    expect(nativePingIntervalMs(30, 20)).toBe(30_000);
  });
});

describe('RoundRobin', () => {
  it('visits at most budget entries per tick and resumes where it stopped', () => {
    const m = new Map([1, 2, 3, 4, 5].map((n) => [n, n]));
    const rr = new RoundRobin(m);
    const seen: number[] = [];
    rr.tick(2, (v) => seen.push(v));
    rr.tick(2, (v) => seen.push(v));
    rr.tick(2, (v) => seen.push(v));
    expect(seen).toEqual([1, 2, 3, 4, 5, 1]);
  });
  it('never visits an entry twice in one tick and copes with deletes', () => {
    const m = new Map([1, 2, 3].map((n) => [n, n]));
    const rr = new RoundRobin(m);
    rr.tick(2, () => {});
    m.delete(3);
    const seen: number[] = [];
    rr.tick(10, (v) => seen.push(v));
    expect(seen).toEqual([1, 2]);
    expect(new RoundRobin(new Map()).tick(10, () => {})).toBe(0);
  });
});
