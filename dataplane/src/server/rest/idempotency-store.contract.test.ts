// Runs the IdempotencyStore contract against the memory implementation.
import { idempotencyStoreContract } from '../../../../test/contract/idempotency-store.contract.ts';
import { MemoryIdempotencyStore } from './idempotency.ts';

idempotencyStoreContract('memory', async () => ({
  store: new MemoryIdempotencyStore({ ttlMs: 120_000, claimTtlMs: 30_000 }),
  cleanup: async () => {},
}));
