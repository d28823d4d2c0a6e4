// Channel queries and user termination (PROTOCOL.md 9.2): GET /channels, GET /channels/{ch},
// GET /channels/{ch}/users and POST /users/{uid}/terminate_connections.

import { channelType, validateChannelName } from '../../channels/names.ts';
import { aitError } from '../../protocol/errors.ts';
import { type HttpResponse, json } from '../http-util.ts';
import type { RouteContext } from './types.ts';
import { parseInfo } from './validate-event.ts';

const invalid = (reason: string) => aitError('AIT_ERR_INVALID_INPUT', { reason });

function channelParam(ctx: RouteContext): string {
  const channel = ctx.params.channel as string;
  const check = validateChannelName(channel, ctx.app.limits.maxChannelNameLength);
  if (!check.ok) throw invalid(`invalid channel: ${check.reason}`);
  return channel;
}

/** GET /apps/{id}/channels?filter_by_prefix=&info=user_count → {channels:{name:{user_count?}}} */
export function handleChannels(ctx: RouteContext): HttpResponse {
  const prefix = ctx.query.get('filter_by_prefix') ?? '';
  const info = parseInfo(ctx.query.get('info') ?? undefined, ['user_count', 'subscription_count']);
  if (!info.ok) throw info.error;
  if (info.value.userCount && !prefix.startsWith('presence-')) {
    throw invalid('info=user_count needs filter_by_prefix starting with presence-');
  }
  const channels: Record<string, { user_count?: number; subscription_count?: number }> = {};
  for (const ch of ctx.deps.engine.listChannels(ctx.app.id, prefix || undefined)) {
    const entry: { user_count?: number; subscription_count?: number } = {};
    if (info.value.userCount) entry.user_count = ch.userCount ?? 0;
    if (info.value.subscriptionCount) entry.subscription_count = ch.subscriptionCount;
    channels[ch.name] = entry;
  }
  return json(200, { channels });
}

/** GET /apps/{id}/channels/{ch}?info=subscription_count,user_count,cache; AI channels add `ai` (7.6). */
export async function handleChannel(ctx: RouteContext): Promise<HttpResponse> {
  const channel = channelParam(ctx);
  const info = parseInfo(ctx.query.get('info') ?? undefined, ['subscription_count', 'user_count', 'cache']);
  if (!info.ok) throw info.error;
  if (info.value.userCount && channelType(channel).kind !== 'presence') {
    throw invalid('info=user_count is only available for presence channels');
  }
  const state = ctx.deps.engine.channelInfo(ctx.app.id, channel);
  const body: { occupied: boolean; subscription_count?: number; user_count?: number; cache?: unknown; ai?: unknown } = {
    occupied: state.occupied,
  };
  if (info.value.subscriptionCount) body.subscription_count = state.subscriptionCount;
  if (info.value.userCount) body.user_count = state.userCount ?? 0;
  if (info.value.cache && channelType(channel).cache) body.cache = state.cache ?? null;
  const streams = ctx.deps.engine.streams;
  const settings = streams.settings.get(ctx.app.id, channel);
  if (settings.ai && settings.versioned) {
    const [versions, history] = await Promise.all([
      streams.reads.versionState(ctx.app.id, channel),
      streams.reads.historyState(ctx.app.id, channel),
    ]);
    body.ai = {
      active_streams: versions.openStreaming,
      last_history_serial: history.nextSerial > 1 ? history.nextSerial - 1 : null,
      message_count: versions.messageCount,
    };
  }
  return json(200, body);
}

/** GET /apps/{id}/channels/{ch}/users → {users:[{id}]} (presence channels only). */
export function handleChannelUsers(ctx: RouteContext): HttpResponse {
  const channel = channelParam(ctx);
  if (channelType(channel).kind !== 'presence') throw invalid('users can only be listed for presence channels');
  const ids = ctx.deps.engine.presenceUserIds(ctx.app.id, channel) ?? [];
  return json(200, { users: ids.map((id) => ({ id })) });
}

/** POST /apps/{id}/users/{uid}/terminate_connections → {} */
export function handleTerminateConnections(ctx: RouteContext): HttpResponse {
  const userId = ctx.params.userId as string;
  if (Buffer.byteLength(userId) > 128) throw invalid('user id longer than 128 bytes');
  if (ctx.deps.control) ctx.deps.control({ kind: 'terminate', appId: ctx.app.id, userId });
  else ctx.deps.engine.terminateUserConnections(ctx.app.id, userId);
  return json(200, {});
}
