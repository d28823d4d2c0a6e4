// AI events published by clients over the WebSocket (PROTOCOL.md 7.2): only `ai-input` and
// `ai-cancel`, sent without a `client-` prefix, on AI channels, from V2 sockets with a verified
// identity. Checks in the documented order; every rejection is `sockudo:error` 4000 with the
// `ai_code` (decision 3). The server stamps the verified client id and publishes through the
// pipeline (a versioned create on the channel's history), with the V2 echo setting.
import { aiErrorToAitError, aiLimits, checkAiWsPublish, stampClientId, validateExtrasAi } from '../ai/validate.ts';
import { can } from '../auth/index.ts';
import type { MessageData } from '../messages/model.ts';
import { aitError, withChannel } from '../protocol/errors.ts';
import { dataByteLength, type InboundFrame } from '../protocol/frames.ts';
import type { Connection } from './connection.ts';
import { toAitError } from './http-util.ts';
import type { EngineCore } from './ws-context.ts';

const MAX_MESSAGE_ID_BYTES = 64;

export function handleAiEvent(core: EngineCore, conn: Connection, frame: InboundFrame): void {
  const channel = frame.channel;
  const publisher = core.streams.publisher;
  const reject = (err: Parameters<typeof aiErrorToAitError>[0]) => {
    publisher.ai.rejected(conn.appId, err.aiCode);
    core.fail(conn, aiErrorToAitError(err, channel));
  };
  if (channel === undefined) {
    core.fail(conn, aitError('AIT_ERR_INVALID_FRAME', { reason: 'channel is required' }));
    return;
  }
  const limits = conn.app.limits;
  const rl = { app_id: conn.appId, limiter_type: 'client_events', request_context: 'websocket' };
  core.metrics.rateLimitChecksTotal.inc(rl);
  if (!conn.clientEvents.take(core.now())) {
    core.metrics.rateLimitTriggeredTotal.inc(rl);
    core.fail(conn, aitError('AIT_ERR_CLIENT_EVENT_RATE'));
    return;
  }
  const settings = core.streams.settings.get(conn.appId, channel);
  // 1-3: AI channel, V2, a client-publishable event.
  const gate = checkAiWsPublish({ event: frame.event, aiChannel: settings.ai, protocol: conn.version });
  if (gate) {
    reject(gate);
    return;
  }
  // 4: a verified identity (sign-in or token).
  const clientId = conn.userId;
  if (clientId === undefined) {
    core.fail(
      conn,
      withChannel(
        aitError('AIT_ERR_NOT_PERMITTED', { reason: 'AI events need a signed-in or token identity' }),
        channel,
      ),
    );
    return;
  }
  if (
    frame.messageId !== undefined &&
    (frame.messageId === '' || Buffer.byteLength(frame.messageId) > MAX_MESSAGE_ID_BYTES)
  ) {
    core.fail(
      conn,
      withChannel(aitError('AIT_ERR_INVALID_FRAME', { reason: 'message_id must be 1-64 bytes' }), channel),
    );
    return;
  }
  if (dataByteLength(frame.data) > limits.maxEventPayloadKb * 1024) {
    core.fail(
      conn,
      withChannel(
        aitError('AIT_ERR_CLIENT_EVENT', { reason: `payload larger than ${limits.maxEventPayloadKb} KiB` }),
        channel,
      ),
    );
    return;
  }
  // 5-6: header validation and anti-spoof.
  const extras = frame.extras ?? {};
  const ai = extras['ai'];
  let stamped = ai;
  if (ai !== undefined) {
    const v = validateExtrasAi(ai, {
      limits: aiLimits(core.config.aiTransport),
      publisher: { trusted: false, clientId },
    });
    if (!v.ok) {
      reject(v.error);
      return;
    }
    stamped = stampClientId(v.value, frame.event, clientId);
  } else {
    stamped = stampClientId(undefined, frame.event, clientId);
  }
  // 8: publish capability; 10: subscribed.
  if (!can(conn.capabilities, 'publish', channel)) {
    core.fail(
      conn,
      withChannel(aitError('AIT_ERR_NOT_PERMITTED', { reason: 'publish not granted for this channel' }), channel),
    );
    return;
  }
  if (!conn.channels.has(channel)) {
    core.fail(
      conn,
      withChannel(aitError('AIT_ERR_CLIENT_EVENT', { reason: 'not subscribed to this channel' }), channel),
    );
    return;
  }
  publisher.ai.validated(conn.appId, frame.event);
  const echo = conn.params.echoMessages && extras['echo'] !== false;
  publisher
    .publish({
      appId: conn.appId,
      channel,
      event: frame.event,
      data: (frame.data ?? '') as MessageData,
      extras: { ...extras, ai: stamped },
      messageId: frame.messageId,
      userId: clientId,
      ...(echo ? {} : { excludeSocketId: conn.socketId }),
    })
    .catch((err: unknown) => {
      if (conn.state === 'open') core.fail(conn, withChannel(toAitError(err), channel));
    });
}
