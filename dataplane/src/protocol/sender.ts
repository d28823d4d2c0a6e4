// Server frame encoders for protocol 7 (V1) and Protocol V2, exactly as PROTOCOL.md 1-3 and
// 12 show them. Pure: the only impure input, the V2 `message_id` generator, is injected.
//
// - V1 uses `pusher:`/`pusher_internal:`, V2 `sockudo:`/`sockudo_internal:`.
// - Every V2 direct frame gets a fresh `message_id`, except ping and pong (PROTOCOL.md 1.2).
// - connection_established, subscription_succeeded and member_* carry `data` as a JSON
//   string; error, signin_success, auth_success and token_expired carry an object.
// - Serials are JSON integers, u64-safe (decision 10).

export type ProtocolVersion = 1 | 2;

export interface ErrorPayload {
  code: number;
  message: string;
  /** AI Transport registry code (decision 3). */
  aiCode?: number | undefined;
  channel?: string | undefined;
}

export interface PresenceSnapshot {
  ids: string[];
  hash: Record<string, unknown>;
  count: number;
}

/** A message fanned out to a channel's subscribers. */
export interface BroadcastMessage {
  event: string;
  channel: string;
  /** A string for server events; client events pass their data through as sent. */
  data: unknown;
  /** Logical event name (mutation frames). */
  name?: string | undefined;
  userId?: string | undefined;
  messageId?: string | undefined;
  streamId?: string | undefined;
  serial?: number | bigint | undefined;
  tags?: Record<string, string> | undefined;
  extras?: Record<string, unknown> | undefined;
}

const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** A u64-safe JSON integer (decision 10): never `1.0` or exponent form. */
export function jsonInteger(v: number | bigint): unknown {
  if (typeof v === 'bigint') return rawJSON(v.toString());
  if (!Number.isSafeInteger(v)) throw new TypeError(`not a safe integer: ${v}`);
  return v;
}

export interface SubscriptionExtras {
  /** History head when the channel keeps history (0 when empty). */
  attachSerial?: number | undefined;
  /** Recovery checkpoint: the stream and the newest serial at subscribe time. */
  streamId?: string | undefined;
  serial?: number | undefined;
}

export interface RewindSummary {
  historical_count: number;
  live_count: number;
  complete: boolean;
  truncated_by_retention: boolean;
  truncated_by_limit: boolean;
}

export interface Wire {
  readonly version: ProtocolVersion;
  connectionEstablished(socketId: string, activityTimeoutSeconds: number): string;
  ping(): string;
  pong(): string;
  error(err: ErrorPayload): string;
  /** V2 adds `attach_serial` in data (history channels) and top-level `stream_id` + `serial`. */
  subscriptionSucceeded(channel: string, presence?: PresenceSnapshot, v2?: SubscriptionExtras): string;
  /** V2 only (PROTOCOL.md 6.4). */
  rewindComplete(channel: string, summary: RewindSummary): string;
  /** V2 only (PROTOCOL.md 6.5): data is a JSON string. */
  resumeFailed(channel: string, data: Record<string, unknown>): string;
  resumeSuccess(data: { recovered: unknown[]; failed: unknown[] }): string;
  /** V2 only (PROTOCOL.md 6.3): data is the history page object. */
  channelHistory(channel: string, page: Record<string, unknown>): string;
  memberAdded(channel: string, userId: string, userInfo: unknown): string;
  memberRemoved(channel: string, userId: string): string;
  signinSuccess(userData: string): string;
  cacheMiss(channel: string): string;
  /** V2 only. */
  authSuccess(clientId: string, jti: string, exp: number): string;
  /** V2 only: 40142 expired, 40160 revoked. */
  tokenExpired(code: 40142 | 40160, reason: string): string;
  /** Shapes a broadcast for this protocol: V1 strips the V2-only fields. */
  broadcast(msg: BroadcastMessage): string;
}

export function createWire(version: ProtocolVersion, newMessageId: () => string): Wire {
  const ns = version === 2 ? 'sockudo:' : 'pusher:';
  const internal = version === 2 ? 'sockudo_internal:' : 'pusher_internal:';
  /** Direct frame: V2 appends a fresh message_id. */
  const direct = (frame: Record<string, unknown>): string => {
    if (version === 2) frame.message_id = newMessageId();
    return JSON.stringify(frame);
  };
  const v2Only = (what: string): void => {
    if (version !== 2) throw new TypeError(`${what} is a protocol V2 frame`);
  };
  return {
    version,
    connectionEstablished: (socketId, activityTimeout) =>
      direct({
        event: `${ns}connection_established`,
        data: JSON.stringify({ socket_id: socketId, activity_timeout: activityTimeout }),
      }),
    ping: () => JSON.stringify({ event: `${ns}ping` }),
    pong: () => JSON.stringify({ event: `${ns}pong` }),
    error: (err) => {
      const data: Record<string, unknown> = { code: err.code, message: err.message };
      if (err.aiCode !== undefined) data.ai_code = err.aiCode;
      const frame: Record<string, unknown> = { event: `${ns}error` };
      if (err.channel !== undefined) frame.channel = err.channel;
      frame.data = data;
      return direct(frame);
    },
    subscriptionSucceeded: (channel, presence, v2) => {
      const data: Record<string, unknown> = presence ? { presence } : {};
      const frame: Record<string, unknown> = { event: `${internal}subscription_succeeded`, channel };
      if (version === 2 && v2) {
        if (v2.attachSerial !== undefined) data.attach_serial = jsonInteger(v2.attachSerial);
        if (v2.streamId !== undefined) frame.stream_id = v2.streamId;
        if (v2.serial !== undefined) frame.serial = jsonInteger(v2.serial);
      }
      frame.data = JSON.stringify(data);
      return direct(frame);
    },
    rewindComplete: (channel, summary) => {
      v2Only('rewind_complete');
      return direct({ event: 'sockudo:rewind_complete', channel, data: JSON.stringify(summary) });
    },
    resumeFailed: (channel, data) => {
      v2Only('resume_failed');
      return direct({ event: 'sockudo:resume_failed', channel, data: JSON.stringify(data) });
    },
    resumeSuccess: (data) => {
      v2Only('resume_success');
      return direct({ event: 'sockudo:resume_success', data: JSON.stringify(data) });
    },
    channelHistory: (channel, page) => {
      v2Only('channel_history');
      return direct({ event: 'sockudo:channel_history', channel, data: page });
    },
    memberAdded: (channel, userId, userInfo) =>
      direct({
        event: `${internal}member_added`,
        channel,
        data: JSON.stringify(userInfo === undefined ? { user_id: userId } : { user_id: userId, user_info: userInfo }),
      }),
    memberRemoved: (channel, userId) =>
      direct({ event: `${internal}member_removed`, channel, data: JSON.stringify({ user_id: userId }) }),
    signinSuccess: (userData) => direct({ event: `${ns}signin_success`, data: { user_data: userData } }),
    cacheMiss: (channel) => direct({ event: `${ns}cache_miss`, channel }),
    authSuccess: (clientId, jti, exp) => {
      v2Only('auth_success');
      return direct({ event: 'sockudo:auth_success', data: { client_id: clientId, jti, exp: jsonInteger(exp) } });
    },
    tokenExpired: (code, reason) => {
      v2Only('token_expired');
      return direct({ event: 'sockudo:token_expired', data: { code, reason } });
    },
    broadcast: (msg) => (version === 2 ? encodeBroadcastV2(msg, newMessageId) : encodeBroadcastV1(msg)),
  };
}

/** Protocol 7: serial, message_id, stream_id, tags, extras and the delta markers are stripped. */
export function encodeBroadcastV1(msg: BroadcastMessage): string {
  const frame: Record<string, unknown> = { event: msg.event, channel: msg.channel };
  if (msg.data !== undefined) frame.data = msg.data;
  if (msg.userId !== undefined) frame.user_id = msg.userId;
  return JSON.stringify(frame);
}

/** Protocol V2: the full envelope of PROTOCOL.md 3.1 (keys omitted when unset). */
export function encodeBroadcastV2(msg: BroadcastMessage, newMessageId: () => string): string {
  const frame: Record<string, unknown> = { event: msg.event, channel: msg.channel };
  if (msg.data !== undefined) frame.data = msg.data;
  if (msg.name !== undefined) frame.name = msg.name;
  if (msg.userId !== undefined) frame.user_id = msg.userId;
  if (msg.tags !== undefined) frame.tags = msg.tags;
  frame.message_id = msg.messageId ?? newMessageId();
  if (msg.streamId !== undefined) frame.stream_id = msg.streamId;
  if (msg.serial !== undefined) frame.serial = jsonInteger(msg.serial);
  if (msg.extras !== undefined) frame.extras = msg.extras;
  return JSON.stringify(frame);
}
