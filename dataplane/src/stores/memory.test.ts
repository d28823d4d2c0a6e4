// Runs the small-store contract suites against the memory implementations.
import {
  activeStreamRegistryContract,
  claimStoreContract,
  hotReplayBufferContract,
  publishClaimStoreContract,
} from '../../../test/contract/small-stores.contract.ts';
import { MemoryHotReplayBuffer } from '../history/hot-buffer.ts';
import { MemoryActiveStreamRegistry, MemoryClaimStore, MemoryPublishClaimStore } from './memory.ts';

const noop = async () => {};

publishClaimStoreContract('memory', async ({ now }) => ({
  store: new MemoryPublishClaimStore({ now }),
  cleanup: noop,
}));
claimStoreContract('memory', async ({ now }) => ({ store: new MemoryClaimStore({ now }), cleanup: noop }));
activeStreamRegistryContract('memory', async ({ now }) => ({
  store: new MemoryActiveStreamRegistry({ now }),
  cleanup: noop,
}));
hotReplayBufferContract('memory', async ({ now }) => ({
  store: new MemoryHotReplayBuffer({ now, maxMessages: 5, ttlMs: 10_000 }),
  cleanup: noop,
}));
