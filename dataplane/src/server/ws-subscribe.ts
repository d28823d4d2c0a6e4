// pusher:subscribe / pusher:unsubscribe (and the sockudo: forms), in the validation order
// of PROTOCOL.md 2.2 (annotation modes are not implemented):
//   1. channel name (4300);
//   2. rewind: V2, a history channel, and the `history` capability (4300 / 4009);
//   4. private-/presence- need `auth`, unless a capability token grants the channel
//      (decision 8: `subscribe` for private, `subscribe` + `presence` for presence, the
//      member id then being the token's client id) (4009);
//   5. capabilities: `subscribe`, plus `presence` on presence channels (4009);
//   6. HMAC signature (4009);
//   7. presence channel_data size and member-count limits (4300).
// A failure is an error frame without a channel; the socket stays open.
import { can, verifyChannelAuth } from '../auth/index.ts';
import { requiresAuth, serverToUserId, validateChannelName } from '../channels/names.ts';
import { parseChannelData } from '../channels/presence.ts';
import { aitError } from '../protocol/errors.ts';
import { parseSubscribe } from '../protocol/frames.ts';
import type { Connection } from './connection.ts';
import type { EngineCore } from './ws-context.ts';
import { attachChannel } from './ws-history.ts';

export function handleSubscribe(core: EngineCore, conn: Connection, data: unknown): void {
  const parsed = parseSubscribe(data);
  if (!parsed.ok) {
    core.fail(conn, aitError('AIT_ERR_INVALID_CHANNEL', { reason: parsed.reason }));
    return;
  }
  const { channel, auth, channelData, rewind } = parsed.req;
  const limits = conn.app.limits;

  const name = validateChannelName(channel, limits.maxChannelNameLength);
  if (!name.ok) {
    core.fail(conn, aitError('AIT_ERR_INVALID_CHANNEL', { reason: name.reason }));
    return;
  }
  const type = name.type;

  // 2. rewind is V2-only, needs history on the channel and, for tokens, the history capability.
  const settings = core.streams.settings.get(conn.appId, channel);
  if (rewind !== undefined) {
    if (conn.version !== 2 || !settings.history) {
      core.fail(
        conn,
        aitError('AIT_ERR_HISTORY_UNAVAILABLE', { reason: 'rewind needs protocol 2 and channel history' }),
      );
      return;
    }
    if (!can(conn.capabilities, 'history', channel)) {
      core.fail(conn, aitError('AIT_ERR_NOT_PERMITTED', { reason: 'history not granted for this channel' }));
      return;
    }
  }

  const owner = serverToUserId(channel);
  if (owner !== undefined && (!conn.signedIn || conn.userId !== owner)) {
    core.fail(conn, aitError('AIT_ERR_NOT_PERMITTED', { reason: 'this channel belongs to another user' }));
    return;
  }

  if (conn.channels.has(channel)) {
    // Already subscribed: acknowledge again, change nothing.
    const state = core.registry.get(conn.appId, channel);
    core.send(conn, conn.wire.subscriptionSucceeded(channel, state?.presence?.snapshot()));
    return;
  }

  const caps = conn.capabilities;
  const isPresence = type.kind === 'presence';
  let member: { id: string; info: unknown } | undefined;
  if (requiresAuth(type)) {
    const hasAuth = auth !== undefined && auth !== '';
    const tokenGrant =
      caps?.source === 'token' &&
      conn.token !== undefined &&
      can(caps, 'subscribe', channel) &&
      (!isPresence || can(caps, 'presence', channel));
    if (!hasAuth && !tokenGrant) {
      core.fail(conn, aitError('AIT_ERR_UNAUTHORIZED_SUBSCRIBE'));
      return;
    }
    if (!can(caps, 'subscribe', channel)) {
      core.fail(conn, aitError('AIT_ERR_NOT_PERMITTED', { reason: 'subscribe not granted for this channel' }));
      return;
    }
    if (isPresence && !can(caps, 'presence', channel)) {
      core.fail(conn, aitError('AIT_ERR_NOT_PERMITTED', { reason: 'presence not granted for this channel' }));
      return;
    }
    if (hasAuth && !verifyChannelAuth(conn.app, conn.socketId, channel, auth, isPresence ? channelData : undefined)) {
      core.fail(conn, aitError('AIT_ERR_BAD_CHANNEL_AUTH'));
      return;
    }
    if (isPresence) {
      const maxBytes = limits.maxPresenceMemberSizeKb * 1024;
      if (hasAuth) {
        const cd = parseChannelData(channelData, maxBytes);
        if (!cd.ok) {
          core.fail(conn, aitError('AIT_ERR_PRESENCE_DATA', { reason: cd.reason }));
          return;
        }
        member = { id: cd.userId, info: cd.userInfo };
      } else {
        // Token grant: the member id is the verified client id, never the client's claim.
        if (channelData !== undefined && Buffer.byteLength(channelData) > maxBytes) {
          core.fail(conn, aitError('AIT_ERR_PRESENCE_DATA', { reason: `larger than ${maxBytes} bytes` }));
          return;
        }
        const cd = parseChannelData(channelData, maxBytes);
        member = { id: conn.token?.clientId ?? '', info: cd.ok ? cd.userInfo : undefined };
      }
      const existing = core.registry.get(conn.appId, channel);
      if (existing?.presence?.wouldExceed(member.id, limits.maxPresenceMembersPerChannel)) {
        core.fail(conn, aitError('AIT_ERR_PRESENCE_FULL', { channel }));
        return;
      }
    }
  } else if (!can(caps, 'subscribe', channel)) {
    core.fail(conn, aitError('AIT_ERR_NOT_PERMITTED', { reason: 'subscribe not granted for this channel' }));
    return;
  }

  // V2 sockets on history channels are attached: live frames wait until the ack (with its
  // attach serial) and any rewind went out (ws-history.ts).
  const attach = conn.version === 2 && settings.history;
  if (attach) core.delivery.beginAttach(conn, channel);
  const r = core.registry.subscribe(conn.appId, channel, conn, member);
  conn.channels.add(channel);
  if (requiresAuth(type)) conn.authenticated = true;
  const labels = { app_id: conn.appId, channel_type: type.label };
  core.metrics.channelSubscriptionsTotal.inc(labels);
  if (r.created) core.metrics.activeChannels.inc(labels);
  const state = core.registry.get(conn.appId, channel);
  if (!state) return;
  if (attach) {
    const presence = state.presence?.snapshot();
    void conn
      .runInOrder(() => attachChannel(core, conn, channel, settings, presence, rewind))
      .catch((err: unknown) => {
        conn.log.error({ err, channel }, 'attach failed');
        core.delivery.abortAttach(conn, channel);
      });
  } else {
    core.send(conn, conn.wire.subscriptionSucceeded(channel, state.presence?.snapshot()));
  }
  if (r.memberAdded && member) {
    const { id, info } = member;
    core.fanout.broadcastEncoded(conn.appId, state, (v) => core.wires[v].memberAdded(channel, id, info), {
      excludeSocketId: conn.socketId,
    });
  }
  if (type.cache && !attach) {
    const cached = core.cache.get(conn.appId, channel, core.now());
    core.send(
      conn,
      cached ? conn.wire.broadcast({ event: cached.event, channel, data: cached.data }) : conn.wire.cacheMiss(channel),
    );
  }
  conn.log.debug({ channel }, 'subscribed');
}

export function handleUnsubscribe(core: EngineCore, conn: Connection, data: unknown): void {
  const parsed = parseSubscribe(data);
  if (!parsed.ok) {
    core.fail(conn, aitError('AIT_ERR_INVALID_FRAME', { reason: parsed.reason }));
    return;
  }
  removeSubscription(core, conn, parsed.req.channel);
}

/** Unsubscribes one socket from one channel (explicit, or on close); sends member_removed when due. */
export function removeSubscription(core: EngineCore, conn: Connection, channel: string): void {
  if (!conn.channels.delete(channel)) return;
  core.delivery.abortAttach(conn, channel);
  conn.attachSerials.delete(channel);
  const r = core.registry.unsubscribe(conn.appId, channel, conn);
  if (!r.removed || !r.type) return;
  const labels = { app_id: conn.appId, channel_type: r.type.label };
  core.metrics.channelUnsubscriptionsTotal.inc(labels);
  if (r.deleted) core.metrics.activeChannels.dec(labels);
  const userId = r.memberRemoved;
  if (userId === undefined) return;
  const state = core.registry.get(conn.appId, channel);
  if (state) core.fanout.broadcastEncoded(conn.appId, state, (v) => core.wires[v].memberRemoved(channel, userId));
}
