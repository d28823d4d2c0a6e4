import { describe, expect, it } from 'vitest';
import { MemoryRevocationStore, revocationTtlMs } from './revocations.ts';

const T0 = 1_750_000_000_000;
const HOUR = 3_600_000;

describe('revocationTtlMs', () => {
  it.each<[string, { ttl_seconds?: unknown; expires_at?: unknown }, number]>([
    ['ttl_seconds', { ttl_seconds: 60 }, 60_000],
    ['ttl_seconds wins over expires_at', { ttl_seconds: 60, expires_at: T0 / 1000 + 3600 }, 60_000],
    ['expires_at minus now', { expires_at: T0 / 1000 + 3600 }, HOUR],
    ['24 h when neither is given', {}, 24 * HOUR],
    ['at least 1 s for a tiny ttl', { ttl_seconds: 0.2 }, 1000],
    ['at least 1 s for a zero ttl', { ttl_seconds: 0 }, 1000],
    ['at least 1 s for a negative ttl', { ttl_seconds: -5 }, 1000],
    ['at least 1 s for an expires_at in the past', { expires_at: T0 / 1000 - 10 }, 1000],
    ['fractional ttl rounded up to a whole ms', { ttl_seconds: 1.0005 }, 1001],
    ['a non-numeric ttl falls back to expires_at', { ttl_seconds: '60', expires_at: T0 / 1000 + 120 }, 120_000],
    ['NaN and Infinity are ignored', { ttl_seconds: Number.NaN, expires_at: Number.POSITIVE_INFINITY }, 24 * HOUR],
    ['null values are ignored', { ttl_seconds: null, expires_at: null }, 24 * HOUR],
  ])('%s', (_name, body, want) => {
    expect(revocationTtlMs(body, T0)).toBe(want);
  });
});

describe('MemoryRevocationStore', () => {
  it('revokes by jti only', async () => {
    const s = new MemoryRevocationStore();
    await s.revoke({ appId: 'a', jti: 'j1', ttlMs: HOUR }, T0);
    expect(await s.isRevoked('a', 'j1', 'c1', T0)).toBe(true);
    expect(await s.isRevoked('a', 'j1', undefined, T0)).toBe(true);
    expect(await s.isRevoked('a', 'j2', 'c1', T0)).toBe(false);
    expect(await s.isRevoked('a', undefined, 'c1', T0)).toBe(false);
  });

  it('revokes by client id, whatever the token', async () => {
    const s = new MemoryRevocationStore();
    await s.revoke({ appId: 'a', clientId: 'c1', ttlMs: HOUR }, T0);
    expect(await s.isRevoked('a', 'any-jti', 'c1', T0)).toBe(true);
    expect(await s.isRevoked('a', undefined, 'c1', T0)).toBe(true);
    expect(await s.isRevoked('a', 'any-jti', 'c2', T0)).toBe(false);
  });

  it('revokes both keys when both are given', async () => {
    const s = new MemoryRevocationStore();
    await s.revoke({ appId: 'a', jti: 'j1', clientId: 'c1', ttlMs: HOUR }, T0);
    expect(await s.isRevoked('a', 'j1', 'other', T0)).toBe(true);
    expect(await s.isRevoked('a', 'other', 'c1', T0)).toBe(true);
  });

  it('keeps jti and client id namespaces apart', async () => {
    const s = new MemoryRevocationStore();
    await s.revoke({ appId: 'a', jti: 'same', ttlMs: HOUR }, T0);
    expect(await s.isRevoked('a', undefined, 'same', T0)).toBe(false);
  });

  it('isolates apps (tenant isolation)', async () => {
    const s = new MemoryRevocationStore();
    await s.revoke({ appId: 'a', jti: 'j1', clientId: 'c1', ttlMs: HOUR }, T0);
    expect(await s.isRevoked('b', 'j1', 'c1', T0)).toBe(false);
  });

  it('expires an entry at its TTL', async () => {
    const s = new MemoryRevocationStore();
    await s.revoke({ appId: 'a', jti: 'j1', ttlMs: 1000 }, T0);
    expect(await s.isRevoked('a', 'j1', undefined, T0 + 999)).toBe(true);
    expect(await s.isRevoked('a', 'j1', undefined, T0 + 1000)).toBe(false);
    expect(s.size).toBe(0);
  });

  it('lets a second revocation extend but never shorten the first', async () => {
    const s = new MemoryRevocationStore();
    await s.revoke({ appId: 'a', jti: 'j1', ttlMs: HOUR }, T0);
    await s.revoke({ appId: 'a', jti: 'j1', ttlMs: 1000 }, T0);
    expect(await s.isRevoked('a', 'j1', undefined, T0 + HOUR - 1)).toBe(true);
    await s.revoke({ appId: 'a', jti: 'j1', ttlMs: 2 * HOUR }, T0);
    expect(await s.isRevoked('a', 'j1', undefined, T0 + 2 * HOUR - 1)).toBe(true);
    expect(s.size).toBe(1);
  });

  it.each<[string, { appId: string; jti?: string; clientId?: string; ttlMs: number }]>([
    ['neither jti nor client id', { appId: 'a', ttlMs: HOUR }],
    ['empty jti and client id', { appId: 'a', jti: '', clientId: '', ttlMs: HOUR }],
    ['no app id', { appId: '', jti: 'j', ttlMs: HOUR }],
    ['a zero ttl', { appId: 'a', jti: 'j', ttlMs: 0 }],
    ['a NaN ttl', { appId: 'a', jti: 'j', ttlMs: Number.NaN }],
  ])('refuses %s', async (_name, r) => {
    await expect(new MemoryRevocationStore().revoke(r, T0)).rejects.toThrow(TypeError);
  });

  it('prune drops expired entries and empty apps', async () => {
    const s = new MemoryRevocationStore();
    await s.revoke({ appId: 'a', jti: 'short', ttlMs: 1000 }, T0);
    await s.revoke({ appId: 'a', jti: 'long', ttlMs: HOUR }, T0);
    await s.revoke({ appId: 'b', jti: 'short', ttlMs: 1000 }, T0);
    expect(s.prune(T0 + 5000)).toBe(2);
    expect(s.size).toBe(1);
    expect(await s.isRevoked('a', 'long', undefined, T0 + 5000)).toBe(true);
  });

  describe('bounded size', () => {
    it('evicts expired entries before live ones when an app is full', async () => {
      const s = new MemoryRevocationStore({ maxEntriesPerApp: 3 });
      await s.revoke({ appId: 'a', jti: 'old', ttlMs: 1000 }, T0);
      await s.revoke({ appId: 'a', jti: 'j2', ttlMs: HOUR }, T0);
      await s.revoke({ appId: 'a', jti: 'j3', ttlMs: HOUR }, T0);
      await s.revoke({ appId: 'a', jti: 'j4', ttlMs: HOUR }, T0 + 2000);
      expect(s.size).toBe(3);
      expect(s.evictedUnexpired).toBe(0);
      for (const j of ['j2', 'j3', 'j4']) expect(await s.isRevoked('a', j, undefined, T0 + 2000)).toBe(true);
    });

    it('then evicts the live entry closest to expiry, and counts it', async () => {
      const s = new MemoryRevocationStore({ maxEntriesPerApp: 3 });
      await s.revoke({ appId: 'a', jti: 'j1', ttlMs: 3 * HOUR }, T0);
      await s.revoke({ appId: 'a', jti: 'soonest', ttlMs: HOUR }, T0);
      await s.revoke({ appId: 'a', jti: 'j3', ttlMs: 2 * HOUR }, T0);
      await s.revoke({ appId: 'a', jti: 'new', ttlMs: HOUR / 2 }, T0);
      expect(s.size).toBe(3);
      expect(s.evictedUnexpired).toBe(1);
      expect(await s.isRevoked('a', 'soonest', undefined, T0)).toBe(false);
      for (const j of ['j1', 'j3', 'new']) expect(await s.isRevoked('a', j, undefined, T0)).toBe(true);
    });

    it('one app filling up never evicts another app', async () => {
      const s = new MemoryRevocationStore({ maxEntriesPerApp: 2 });
      await s.revoke({ appId: 'victim', jti: 'v', ttlMs: 1000 }, T0);
      for (let i = 0; i < 50; i++) await s.revoke({ appId: 'noisy', jti: `n${i}`, ttlMs: HOUR }, T0);
      expect(await s.isRevoked('victim', 'v', undefined, T0)).toBe(true);
      expect(s.size).toBe(3);
    });

    it('stays within the cap under many distinct revocations', async () => {
      const s = new MemoryRevocationStore({ maxEntriesPerApp: 100 });
      for (let i = 0; i < 1000; i++) await s.revoke({ appId: 'a', clientId: `c${i}`, ttlMs: HOUR + i }, T0);
      expect(s.size).toBe(100);
      expect(await s.isRevoked('a', undefined, 'c999', T0)).toBe(true);
    });

    it('rejects a cap below 2 (a jti + client id revocation needs two slots)', () => {
      expect(() => new MemoryRevocationStore({ maxEntriesPerApp: 1 })).toThrow(TypeError);
    });
  });
});
