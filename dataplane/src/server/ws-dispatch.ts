// Inbound frames of one open connection: count, decode, route. Any inbound frame refreshes
// the connection's activity. Malformed input gets a non-fatal 4000 (counted) and never
// escapes as an exception; unknown events are ignored silently (PROTOCOL.md 1.4).
import type { RawData } from 'ws';
import { isAiEvent } from '../ai/validate.ts';
import { aitError } from '../protocol/errors.ts';
import { decodeFrame } from '../protocol/frames.ts';
import type { Connection } from './connection.ts';
import { handleAiEvent } from './ws-ai-events.ts';
import { handleAppend } from './ws-append.ts';
import { handleClientEvent } from './ws-client-events.ts';
import type { EngineCore } from './ws-context.ts';
import { handleChannelHistory, handleResume, holdForResume, MAX_HISTORY_REQUESTS } from './ws-history.ts';
import { handleSignin, handleTokenRefresh } from './ws-identity.ts';
import { handleSubscribe, handleUnsubscribe } from './ws-subscribe.ts';

/** Stateful async requests (resume, history) one socket may have queued or running. */
const MAX_PENDING_OPS = 16;

export function dispatchMessage(core: EngineCore, conn: Connection, data: RawData, isBinary: boolean): void {
  if (conn.state !== 'open') return;
  conn.touch(core.now());
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  core.metrics.wsMessagesReceivedTotal.inc({ app_id: conn.appId });
  core.metrics.socketReceivedBytes.inc({ app_id: conn.appId }, buf.length);
  if (isBinary) {
    core.fail(conn, aitError('AIT_ERR_INVALID_FRAME', { reason: 'binary frames are not supported' }));
    return;
  }
  const decoded = decodeFrame(buf.toString('utf8'));
  if (!decoded.ok) {
    core.fail(conn, aitError('AIT_ERR_INVALID_FRAME', { reason: decoded.reason }));
    return;
  }
  const frame = decoded.frame;
  try {
    if (frame.kind.type === 'client') {
      handleClientEvent(core, conn, frame);
      return;
    }
    if (frame.kind.type === 'unknown' && isAiEvent(frame.event)) {
      handleAiEvent(core, conn, frame);
      return;
    }
    if (frame.kind.type !== 'protocol') return;
    switch (frame.kind.name) {
      case 'ping':
        core.send(conn, conn.wire.pong());
        return;
      case 'pong':
        return;
      case 'subscribe':
        handleSubscribe(core, conn, frame.data);
        return;
      case 'unsubscribe':
        handleUnsubscribe(core, conn, frame.data);
        return;
      case 'signin':
        handleSignin(core, conn, frame.data);
        return;
      case 'auth':
        // `sockudo:auth` is a V2 frame; on V1 it is an unknown event.
        if (conn.version !== 2) return;
        handleTokenRefresh(core, conn, frame.data).catch((err: unknown) => internalError(core, conn, err));
        return;
      case 'channel_history':
        if (conn.version !== 2) return;
        // At most MAX_HISTORY_REQUESTS queued or running per socket (PROTOCOL.md 6.3).
        if (conn.historyRequests >= MAX_HISTORY_REQUESTS) {
          core.fail(conn, aitError('AIT_ERR_HISTORY_CONCURRENCY', { max: MAX_HISTORY_REQUESTS }));
          return;
        }
        conn.historyRequests++;
        conn
          .runInOrder(() => handleChannelHistory(core, conn, frame.data))
          .catch((err: unknown) => internalError(core, conn, err))
          .finally(() => {
            conn.historyRequests--;
          });
        return;
      case 'append':
        handleAppend(core, conn, frame.data);
        return;
      case 'resume':
        if (conn.version !== 2) return;
        if (conn.pendingOps >= MAX_PENDING_OPS) {
          core.fail(conn, aitError('AIT_ERR_GENERIC', { reason: 'too many requests in flight' }));
          return;
        }
        {
          // Hold the channels' live frames now, not when the resume gets its turn.
          const held = holdForResume(core, conn, frame.data);
          conn
            .runInOrder(() => handleResume(core, conn, frame.data, held))
            .catch((err: unknown) => internalError(core, conn, err));
        }
        return;
    }
  } catch (err) {
    internalError(core, conn, err);
  }
}

/** A handler bug: logged with context, answered with a generic non-fatal error. */
function internalError(core: EngineCore, conn: Connection, err: unknown): void {
  conn.log.error({ err }, 'frame handler failed');
  if (conn.state === 'open') core.fail(conn, aitError('AIT_ERR_GENERIC', { reason: 'internal error' }));
}
