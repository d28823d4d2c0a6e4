// `client-*` events (Pusher client events): relayed to the other subscribers of a private or
// presence channel. Checks, in order: the per-connection rate limit (4301, counted), the app
// switch `enableClientMessages`, subscription, channel type, event name and payload size,
// then the `publish` capability. Never echoed to a V1 sender; a V2 sender gets its own event
// back when it connected with echo_messages=true (the default). Presence events carry the
// sender's member id as `user_id`; elsewhere the verified user id when there is one.
import { can } from '../auth/index.ts';
import { allowsClientEvents } from '../channels/names.ts';
import type { MessageData } from '../messages/model.ts';
import { aitError, withChannel } from '../protocol/errors.ts';
import { dataByteLength, type InboundFrame } from '../protocol/frames.ts';
import type { Connection } from './connection.ts';
import { toAitError } from './http-util.ts';
import type { EngineCore } from './ws-context.ts';

export function handleClientEvent(core: EngineCore, conn: Connection, frame: InboundFrame): void {
  const limits = conn.app.limits;
  const rl = { app_id: conn.appId, limiter_type: 'client_events', request_context: 'websocket' };
  core.metrics.rateLimitChecksTotal.inc(rl);
  if (!conn.clientEvents.take(core.now())) {
    core.metrics.rateLimitTriggeredTotal.inc(rl);
    core.fail(conn, aitError('AIT_ERR_CLIENT_EVENT_RATE'));
    return;
  }
  const reject = (reason: string) => core.fail(conn, aitError('AIT_ERR_CLIENT_EVENT', { reason }));
  if (!conn.app.enableClientMessages) {
    reject('client events are not enabled for this app');
    return;
  }
  const channel = frame.channel;
  if (channel === undefined) {
    reject('channel is required');
    return;
  }
  const state = conn.channels.has(channel) ? core.registry.get(conn.appId, channel) : undefined;
  if (!state) {
    reject('not subscribed to this channel');
    return;
  }
  if (!allowsClientEvents(state.type)) {
    reject('client events are allowed on private and presence channels only');
    return;
  }
  if (Buffer.byteLength(frame.event) > limits.maxEventNameLength) {
    reject(`event name longer than ${limits.maxEventNameLength} bytes`);
    return;
  }
  if (dataByteLength(frame.data) > limits.maxEventPayloadKb * 1024) {
    reject(`payload larger than ${limits.maxEventPayloadKb} KiB`);
    return;
  }
  if (!can(conn.capabilities, 'publish', channel)) {
    core.fail(conn, aitError('AIT_ERR_NOT_PERMITTED', { reason: 'publish not granted for this channel' }));
    return;
  }
  const userId = state.presence ? state.subscribers.get(conn) : conn.userId;
  const echo = conn.version === 2 && conn.params.echoMessages;
  if (!echo) core.metrics.echoSuppressedTotal.inc({ app_id: conn.appId });
  // Through the pipeline, like a REST publish: kept on history channels (a versioned create on
  // versioned ones), and carried to the subscribers on other nodes in a cluster.
  core.streams.publisher
    .publish({
      appId: conn.appId,
      channel,
      event: frame.event,
      data: (frame.data ?? null) as MessageData,
      userId,
      ...(echo ? {} : { excludeSocketId: conn.socketId }),
    })
    .catch((err: unknown) => {
      if (conn.state === 'open') core.fail(conn, withChannel(toAitError(err), channel));
    });
}
