// Runs the RevocationStore contract against the memory implementation.
import { revocationStoreContract } from '../../../test/contract/revocation-store.contract.ts';
import { MemoryRevocationStore } from './revocations.ts';

revocationStoreContract('memory', async () => ({
  store: new MemoryRevocationStore({ maxEntriesPerApp: 4 }),
  cleanup: async () => {},
}));
