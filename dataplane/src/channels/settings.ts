// What one channel gets: history on/off and retention, versioned messages, recovery, the rollup
// window and the AI Transport limits — resolved from the first matching channel policy, else the
// node defaults. Pure; `ChannelSettingsResolver` caches results per channel and is rebuilt when
// the policies are hot-reloaded.
import { isAiChannel } from '../ai/validate.ts';
import { type CompiledPolicy, compilePolicies, findPolicy } from '../config/channel-policies.ts';
import type { NodeConfig } from '../config/schema.ts';
import type { RetentionPolicy } from '../history/types.ts';
import { NO_LIMITS, type VersionedLimits } from '../messages/mutations.ts';
import { channelType } from './names.ts';

export interface ChannelSettings {
  /** The policy that applies, or null for the node defaults. */
  readonly policy: string | null;
  /** Matches an AI Transport prefix (and AI Transport is enabled). */
  readonly ai: boolean;
  readonly history: boolean;
  /** Publishes become versioned messages (history on + versioned messages on). */
  readonly versioned: boolean;
  readonly retention: RetentionPolicy;
  readonly recovery: { readonly enabled: boolean; readonly bufferTtlMs: number; readonly maxReplay: number };
  /** The rollup window W (ms) for sockets that ask for none; 0 when rollup is off for the channel. */
  readonly rollupWindowMs: number;
  readonly rollupMaxBufferBytes: number;
  readonly limits: VersionedLimits;
  readonly maxPageSize: number;
}

type SettingsConfig = Pick<NodeConfig, 'aiTransport' | 'history' | 'recovery' | 'rollup'>;

function retentionOf(r: { maxMessages: number; maxBytes: number; maxAgeSeconds: number }): RetentionPolicy {
  return {
    maxMessages: r.maxMessages,
    maxBytes: r.maxBytes,
    ...(r.maxAgeSeconds > 0 && { maxAgeSeconds: r.maxAgeSeconds }),
  };
}

/** Resolves one channel's settings (uncached). */
export function resolveChannelSettings(
  config: SettingsConfig,
  policies: readonly CompiledPolicy[],
  appId: string,
  channel: string,
): ChannelSettings {
  const ai = config.aiTransport.enabled && isAiChannel(channel, config.aiTransport.channelPrefixes);
  const limits: VersionedLimits = ai
    ? {
        maxAccumulatedMessageBytes: config.aiTransport.maxAccumulatedMessageBytes,
        maxAppendsPerMessage: config.aiTransport.maxAppendsPerMessage,
        maxOpenStreamingMessagesPerChannel: config.aiTransport.maxOpenStreamingMessagesPerChannel,
        rejectAppendAfterTerminal: true,
      }
    : NO_LIMITS;
  // Encrypted channels carry ciphertext the server cannot read: never versioned or rolled up.
  const encrypted = channelType(channel).kind === 'private-encrypted';
  const p = findPolicy(policies, appId, channel);
  const history = p ? p.history.enabled : ai ? config.history.aiChannels : config.history.enabled;
  const versioned = history && config.history.versionedMessages && !encrypted;
  const rollupOn = config.rollup.enabled && (p ? p.rollup.enabled : true) && versioned;
  const recovery = p?.history.recovery;
  return {
    policy: p?.name ?? null,
    ai,
    history,
    versioned,
    retention: retentionOf(p ? p.history.retention : config.history.retention),
    recovery: {
      enabled: history && (recovery ? recovery.enabled : config.recovery.enabled),
      bufferTtlMs: (recovery?.bufferTtlSeconds ?? config.recovery.bufferTtlSeconds) * 1000,
      maxReplay: recovery?.maxReplayMessages ?? config.recovery.maxBufferSize,
    },
    rollupWindowMs: rollupOn ? (p ? p.rollup.windowMs : config.rollup.defaultWindowMs) : 0,
    rollupMaxBufferBytes: p?.rollup.maxBufferBytes ?? 64 * 1024,
    limits,
    maxPageSize: config.history.maxPageSize,
  };
}

/** A bounded per-channel cache over `resolveChannelSettings`, swapped wholesale on reload. */
export class ChannelSettingsResolver {
  readonly #config: SettingsConfig;
  readonly #maxEntries: number;
  #policies: CompiledPolicy[];
  #cache = new Map<string, ChannelSettings>();
  #generation = 0;

  constructor(config: SettingsConfig, policies: Parameters<typeof compilePolicies>[0], maxEntries = 100_000) {
    this.#config = config;
    this.#policies = compilePolicies(policies);
    this.#maxEntries = maxEntries;
  }

  /** Bumped on every `setPolicies`: callers holding settings can tell they are stale. */
  get generation(): number {
    return this.#generation;
  }

  get policyCount(): number {
    return this.#policies.length;
  }

  setPolicies(policies: Parameters<typeof compilePolicies>[0]): void {
    this.#policies = compilePolicies(policies);
    this.#cache = new Map();
    this.#generation++;
  }

  get(appId: string, channel: string): ChannelSettings {
    const key = `${appId}\u0000${channel}`;
    let s = this.#cache.get(key);
    if (s) return s;
    s = resolveChannelSettings(this.#config, this.#policies, appId, channel);
    if (this.#cache.size >= this.#maxEntries) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(key, s);
    return s;
  }
}
