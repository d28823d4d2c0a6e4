// The stores behind the publish pipeline, as one bundle, and its embedded (memory) default. A
// node runs either every store in memory (single node, `make run`) or every store on Redis (a
// cluster); mixing would break the guarantees of one or the other.
import type { ResolvedConfig } from '../config/load.ts';
import type { HotReplayBuffer } from '../history/hot-buffer.ts';
import { MemoryHotReplayBuffer } from '../history/hot-buffer.ts';
import { MemoryHistoryStore } from '../history/memory-store.ts';
import { MemoryVersionStore } from '../history/memory-version-store.ts';
import type { HistoryStore } from '../history/store.ts';
import type { VersionStore } from '../history/version-store.ts';
import { MemoryActiveStreamRegistry, MemoryClaimStore, MemoryPublishClaimStore } from '../stores/memory.ts';
import type { ActiveStreamRegistry, ClaimStore, PublishClaimStore } from '../stores/types.ts';

export interface StreamStores {
  /** `memory` or `redis`: reported by /admin/status and the history `authoritative_source`. */
  readonly kind: string;
  readonly history: HistoryStore;
  readonly versions: VersionStore;
  readonly claims: PublishClaimStore;
  readonly activeStreams: ActiveStreamRegistry;
  /** Single-runner claims of cluster jobs (the orphan janitor). */
  readonly jobClaims: ClaimStore;
  /** Node-local: every node buffers what it fans out. */
  readonly hot: HotReplayBuffer;
  /** Whether the stores answer now (readiness); memory always does. */
  readonly ping: () => Promise<boolean>;
  readonly close: () => Promise<void>;
}

export function memoryStores(config: ResolvedConfig, now: () => number): StreamStores {
  return {
    kind: 'memory',
    history: new MemoryHistoryStore({ now, nodeId: config.nodeId }),
    versions: new MemoryVersionStore({ now }),
    claims: new MemoryPublishClaimStore({ now }),
    activeStreams: new MemoryActiveStreamRegistry({ now }),
    jobClaims: new MemoryClaimStore({ now }),
    hot: hotBuffer(config, now),
    ping: async () => true,
    close: async () => {},
  };
}

/** The node-local hot replay buffer sized by `recovery.*`. */
export function hotBuffer(config: ResolvedConfig, now: () => number): HotReplayBuffer {
  return new MemoryHotReplayBuffer({
    now,
    maxMessages: config.recovery.maxBufferSize,
    ttlMs: config.recovery.bufferTtlSeconds * 1000,
  });
}
