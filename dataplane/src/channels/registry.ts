// Subscriptions of one node, per app (STANDARDS I1: nothing is keyed without the app id).
// Pure bookkeeping over an opaque subscriber type; the engine sends the frames the results
// call for (member_added on a user's first socket, member_removed on its last).
import { type ChannelType, channelType } from './names.ts';
import { PresenceMembers } from './presence.ts';

export interface ChannelState<S> {
  readonly name: string;
  readonly type: ChannelType;
  /** Subscriber → its presence member id (presence channels), else undefined. */
  readonly subscribers: Map<S, string | undefined>;
  readonly presence: PresenceMembers | undefined;
  /** Bumped on every subscribe and unsubscribe, so per-channel views (delivery groups) can be cached. */
  revision: number;
}

export interface SubscribeResult {
  /** The subscriber was already on the channel: nothing changed. */
  already: boolean;
  /** The channel had no local subscriber before (active_channels +1). */
  created: boolean;
  /** First socket of this presence user: send member_added to the others. */
  memberAdded: boolean;
}

export interface UnsubscribeResult {
  /** The subscriber was on the channel. */
  removed: boolean;
  /** The channel has no local subscriber left (active_channels -1). */
  deleted: boolean;
  /** Last socket of this presence user left: send member_removed with this id. */
  memberRemoved: string | undefined;
  type: ChannelType | undefined;
}

export class ChannelRegistry<S> {
  readonly #apps = new Map<string, Map<string, ChannelState<S>>>();
  #channelCount = 0;

  get(appId: string, channel: string): ChannelState<S> | undefined {
    return this.#apps.get(appId)?.get(channel);
  }

  subscribe(appId: string, channel: string, sub: S, member?: { id: string; info: unknown }): SubscribeResult {
    let channels = this.#apps.get(appId);
    if (!channels) {
      channels = new Map();
      this.#apps.set(appId, channels);
    }
    let state = channels.get(channel);
    let created = false;
    if (!state) {
      const type = channelType(channel);
      state = {
        name: channel,
        type,
        subscribers: new Map(),
        presence: type.kind === 'presence' ? new PresenceMembers() : undefined,
        revision: 0,
      };
      channels.set(channel, state);
      this.#channelCount++;
      created = true;
    }
    if (state.subscribers.has(sub)) return { already: true, created: false, memberAdded: false };
    state.revision++;
    let memberAdded = false;
    if (state.presence && member) {
      memberAdded = state.presence.add(member.id, member.info);
      state.subscribers.set(sub, member.id);
    } else {
      state.subscribers.set(sub, undefined);
    }
    return { already: false, created, memberAdded };
  }

  unsubscribe(appId: string, channel: string, sub: S): UnsubscribeResult {
    const channels = this.#apps.get(appId);
    const state = channels?.get(channel);
    if (!channels || !state?.subscribers.has(sub)) {
      return { removed: false, deleted: false, memberRemoved: undefined, type: state?.type };
    }
    const memberId = state.subscribers.get(sub);
    state.subscribers.delete(sub);
    state.revision++;
    let memberRemoved: string | undefined;
    if (state.presence && memberId !== undefined && state.presence.remove(memberId)) memberRemoved = memberId;
    let deleted = false;
    if (state.subscribers.size === 0) {
      channels.delete(channel);
      this.#channelCount--;
      deleted = true;
      if (channels.size === 0) this.#apps.delete(appId);
    }
    return { removed: true, deleted, memberRemoved, type: state.type };
  }

  /** Occupied channels of an app, optionally filtered by name prefix. */
  list(appId: string, prefix?: string): ChannelState<S>[] {
    const channels = this.#apps.get(appId);
    if (!channels) return [];
    const out: ChannelState<S>[] = [];
    for (const state of channels.values()) {
      if (prefix === undefined || state.name.startsWith(prefix)) out.push(state);
    }
    return out;
  }

  /** Occupied channels on this node, all apps. */
  count(): number {
    return this.#channelCount;
  }
}
