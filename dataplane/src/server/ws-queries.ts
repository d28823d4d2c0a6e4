// Read-only views of the channel state for the REST routes (Engine.listChannels,
// channelInfo, presenceUserIds). Pure over the registry and the cache.
import type { ChannelCache } from '../channels/cache.ts';
import { channelType } from '../channels/names.ts';
import type { ChannelRegistry } from '../channels/registry.ts';
import type { ChannelInfo, ChannelSummary } from './engine-api.ts';

export function listChannels<S>(registry: ChannelRegistry<S>, appId: string, prefix?: string): ChannelSummary[] {
  return registry.list(appId, prefix).map((s) => {
    const out: ChannelSummary = { name: s.name, subscriptionCount: s.subscribers.size };
    if (s.presence) out.userCount = s.presence.size;
    return out;
  });
}

export function channelInfo<S>(
  registry: ChannelRegistry<S>,
  cache: ChannelCache,
  appId: string,
  channel: string,
  nowMs: number,
): ChannelInfo {
  const state = registry.get(appId, channel);
  const type = channelType(channel);
  const info: ChannelInfo = { occupied: state !== undefined, subscriptionCount: state?.subscribers.size ?? 0 };
  if (type.kind === 'presence') info.userCount = state?.presence?.size ?? 0;
  if (type.cache) {
    const cached = cache.get(appId, channel, nowMs);
    // Client events may cache object data; the REST answer carries it as a string.
    info.cache = cached
      ? { event: cached.event, data: typeof cached.data === 'string' ? cached.data : JSON.stringify(cached.data) }
      : null;
  }
  return info;
}
