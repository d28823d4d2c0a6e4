// The RevocationStore contract (PROTOCOL.md 2.4): capability-token revocations by jti and by
// client id, per app, with a TTL from the caller's clock. The store under test must be
// configured with maxEntriesPerApp 4.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RevocationStore } from '../../dataplane/src/auth/revocations.ts';
import { ManualClock, range, type StoreFactory, type StoreHarness, uniqueApp } from './harness.ts';

export function revocationStoreContract(name: string, makeStore: StoreFactory<RevocationStore>): void {
  describe(`RevocationStore contract: ${name} (maxEntriesPerApp 4)`, () => {
    let clock: ManualClock;
    let h: StoreHarness<RevocationStore>;
    let store: RevocationStore;
    let app: string;

    beforeEach(async () => {
      clock = new ManualClock();
      h = await makeStore({ now: clock.now });
      store = h.store;
      app = uniqueApp('rev');
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const revoked = (jti?: string, clientId?: string, appId = app) =>
      store.isRevoked(appId, jti, clientId, clock.now());

    it('revokes by jti, by client id, or both', async () => {
      await store.revoke({ appId: app, jti: 'j1', ttlMs: 60_000 }, clock.now());
      await store.revoke({ appId: app, clientId: 'c1', ttlMs: 60_000 }, clock.now());
      await store.revoke({ appId: app, jti: 'j2', clientId: 'c2', ttlMs: 60_000 }, clock.now());
      expect(await revoked('j1')).toBe(true);
      expect(await revoked(undefined, 'c1')).toBe(true);
      expect(await revoked('j2')).toBe(true);
      expect(await revoked(undefined, 'c2')).toBe(true);
      // Either one matching is enough.
      expect(await revoked('other', 'c1')).toBe(true);
      expect(await revoked('j1', 'other')).toBe(true);
      expect(await revoked('other', 'other')).toBe(false);
      expect(await revoked(undefined, undefined)).toBe(false);
    });

    it('keeps jti and client id namespaces apart', async () => {
      await store.revoke({ appId: app, jti: 'same', ttlMs: 60_000 }, clock.now());
      expect(await revoked(undefined, 'same')).toBe(false);
      expect(await revoked('same')).toBe(true);
    });

    it('expires at the TTL of the injected clock', async () => {
      await store.revoke({ appId: app, jti: 'j', ttlMs: 1000 }, clock.now());
      clock.advance(999);
      expect(await revoked('j')).toBe(true);
      clock.advance(1);
      expect(await revoked('j')).toBe(false);
    });

    it('lengthens a revocation, never shortens it', async () => {
      await store.revoke({ appId: app, jti: 'j', ttlMs: 10_000 }, clock.now());
      await store.revoke({ appId: app, jti: 'j', ttlMs: 1000 }, clock.now());
      clock.advance(5000);
      expect(await revoked('j')).toBe(true);
      await store.revoke({ appId: app, jti: 'j', ttlMs: 20_000 }, clock.now());
      clock.advance(15_000);
      expect(await revoked('j')).toBe(true);
      clock.advance(5000);
      expect(await revoked('j')).toBe(false);
    });

    it('scopes revocations by app (I1)', async () => {
      const other = uniqueApp('other');
      await store.revoke({ appId: app, jti: 'j', clientId: 'c', ttlMs: 60_000 }, clock.now());
      expect(await revoked('j', 'c', other)).toBe(false);
    });

    it('caps entries per app: expired ones go first, then the one closest to expiry', async () => {
      await store.revoke({ appId: app, jti: 'short', ttlMs: 1000 }, clock.now());
      for (const i of range(1, 3)) await store.revoke({ appId: app, jti: `j${i}`, ttlMs: 60_000 + i }, clock.now());
      clock.advance(1000); // `short` has expired: the next insert reuses its room
      await store.revoke({ appId: app, jti: 'j4', ttlMs: 30_000 }, clock.now());
      for (const i of range(1, 4)) expect(await revoked(`j${i}`)).toBe(true);
      // Full of live entries: j4 (expires soonest) makes room for j5.
      await store.revoke({ appId: app, jti: 'j5', ttlMs: 120_000 }, clock.now());
      expect(await revoked('j4')).toBe(false);
      for (const j of ['j1', 'j2', 'j3', 'j5']) expect(await revoked(j)).toBe(true);
      // Another app is not affected by this one being full.
      const other = uniqueApp('other');
      await store.revoke({ appId: other, jti: 'x', ttlMs: 1000 }, clock.now());
      expect(await revoked('x', undefined, other)).toBe(true);
      expect(await revoked('j1')).toBe(true);
    });

    it('rejects a revocation without a jti or client id, or with a bad TTL', async () => {
      await expect(store.revoke({ appId: app, ttlMs: 1000 }, clock.now())).rejects.toThrow(TypeError);
      await expect(store.revoke({ appId: app, jti: 'j', ttlMs: 0 }, clock.now())).rejects.toThrow(TypeError);
      await expect(store.revoke({ appId: app, jti: 'j', ttlMs: Number.NaN }, clock.now())).rejects.toThrow(TypeError);
      await expect(store.revoke({ appId: '', jti: 'j', ttlMs: 1000 }, clock.now())).rejects.toThrow(TypeError);
      expect(await revoked('j')).toBe(false);
    });

    it('handles concurrent revocations of one app without losing any', async () => {
      const other = uniqueApp('wide');
      await Promise.all(
        range(1, 4).map((i) => store.revoke({ appId: other, jti: `p${i}`, ttlMs: 60_000 }, clock.now())),
      );
      for (const i of range(1, 4)) expect(await revoked(`p${i}`, undefined, other)).toBe(true);
    });
  });
}
