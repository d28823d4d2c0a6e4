// Runs the store contract suites against the memory implementations (the embedded default).
import { historyStoreContract } from '../../../test/contract/history-store.contract.ts';
import { versionStoreContract } from '../../../test/contract/version-store.contract.ts';
import { MemoryHistoryStore } from './memory-store.ts';
import { MemoryVersionStore } from './memory-version-store.ts';

historyStoreContract('memory', async ({ now }) => {
  const store = new MemoryHistoryStore({ now, nodeId: 'node-a' });
  return { store, cleanup: async () => {}, simulateDataLoss: () => store.simulateDataLoss() };
});

versionStoreContract('memory', async ({ now }) => {
  const store = new MemoryVersionStore({ now });
  return { store, cleanup: async () => {}, simulateDataLoss: () => store.simulateDataLoss() };
});
