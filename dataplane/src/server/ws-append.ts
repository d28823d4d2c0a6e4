// Appends over a WebSocket (an extension of Protocol V2; Sockudo mutates over signed HTTP only):
// a producer that streams many tokens keeps one V2 connection open and sends
//   {"event":"sockudo:append","data":{"channel":…,"message_serial":…,"data":"tok","op_id"?:…,"extras"?:…,"id"?:…}}
// with the semantics, limits and op_id idempotency of POST …/messages/{ms}/append. The socket is
// the actor: it needs `message-append-any` on the channel (a trusted producer: its token or
// signed sign-in grants it) or `message-append-own` on a message it created. Appends of one
// socket apply in the order sent (they enter the channel's ordering gate in that order). With an
// `id`, the result comes back as `sockudo:append_ack`; failures are `sockudo:error` with the channel.
import { can } from '../auth/index.ts';
import { isValidSerial } from '../messages/serials.ts';
import { aitError, withChannel } from '../protocol/errors.ts';
import { dataObject } from '../protocol/frames.ts';
import { newMessageId } from '../protocol/ids.ts';
import type { Connection } from './connection.ts';
import { toAitError } from './http-util.ts';
import { parseMutation } from './rest/messages.ts';
import type { EngineCore } from './ws-context.ts';

const MAX_ID_BYTES = 128;

export function handleAppend(core: EngineCore, conn: Connection, frameData: unknown): void {
  if (conn.version !== 2) return;
  const d = dataObject(frameData);
  if (!d.ok) {
    core.fail(conn, aitError('AIT_ERR_INVALID_FRAME', { reason: d.reason }));
    return;
  }
  const { channel, message_serial: ms, id } = d.data;
  if (typeof channel !== 'string' || !conn.channels.has(channel)) {
    core.fail(conn, aitError('AIT_ERR_CLIENT_EVENT', { reason: 'append needs a channel the socket is subscribed to' }));
    return;
  }
  if (!isValidSerial(ms)) {
    core.fail(conn, withChannel(aitError('AIT_ERR_INVALID_FRAME', { reason: 'message_serial is required' }), channel));
    return;
  }
  if (id !== undefined && (typeof id !== 'string' || id === '' || Buffer.byteLength(id) > MAX_ID_BYTES)) {
    core.fail(conn, withChannel(aitError('AIT_ERR_INVALID_FRAME', { reason: 'id must be 1-128 bytes' }), channel));
    return;
  }
  const trusted = can(conn.capabilities, 'message-append-any', channel);
  if (!trusted) {
    // Users appending to their own messages share the client-event budget.
    const rl = { app_id: conn.appId, limiter_type: 'client_events', request_context: 'websocket' };
    core.metrics.rateLimitChecksTotal.inc(rl);
    if (!conn.clientEvents.take(core.now())) {
      core.metrics.rateLimitTriggeredTotal.inc(rl);
      core.fail(conn, aitError('AIT_ERR_CLIENT_EVENT_RATE'));
      return;
    }
  }
  let mutation: ReturnType<typeof parseMutation>;
  try {
    mutation = parseMutation('append', d.data);
  } catch (err) {
    core.fail(conn, withChannel(toAitError(err), channel));
    return;
  }
  core.streams.publisher
    .mutate({
      appId: conn.appId,
      channel,
      messageSerial: ms,
      mutation: { ...mutation, client_id: mutation.client_id ?? conn.userId },
      actor: { privileged: false, clientId: conn.userId, capabilities: conn.capabilities },
    })
    .then(
      (r) => {
        if (id === undefined || conn.state !== 'open') return;
        core.send(
          conn,
          JSON.stringify({
            event: 'sockudo:append_ack',
            channel,
            data: { id, status: r.status, ...r.receipt },
            message_id: newMessageId(),
          }),
        );
      },
      (err: unknown) => {
        if (conn.state === 'open') core.fail(conn, withChannel(toAitError(err), channel));
      },
    );
}
