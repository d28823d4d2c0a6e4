// What the publish pipeline hands to delivery once a message is committed (or, for channels
// without history, accepted): a `ChannelMessage`. It is plain JSON-serializable data, so the same
// value can cross nodes over the horizontal transport; every node builds the wire frames for its
// own subscribers from it (V1 and V2, delta and full append modes). Pure.
import { type AppendMode, buildLiveFrame, stripInternal, toV1Frame, type V2Frame } from '../messages/frames.ts';
import type { VersionRecord } from '../messages/model.ts';
import { encodeBroadcastV1, encodeBroadcastV2 } from '../protocol/sender.ts';

/** A plain event: a channel without history, an ephemeral message, or a non-versioned history row. */
export interface EventMessage {
  readonly kind: 'event';
  readonly appId: string;
  readonly channel: string;
  readonly event: string;
  /** A string for REST publishes (object data is stringified); client events pass data as sent. */
  readonly data: unknown;
  readonly userId?: string;
  readonly messageId?: string;
  readonly tags?: Record<string, string>;
  readonly extras?: Record<string, unknown>;
  /** Socket that must not receive it (REST socket_id, or a client event's sender without echo). */
  readonly excludeSocketId?: string;
  /** History channels: the history serial (the wire `serial`) and the history stream id. */
  readonly serial?: number;
  readonly streamId?: string;
}

/** A committed version of a versioned message (create, append, update, delete). */
export interface VersionMessage {
  readonly kind: 'version';
  readonly appId: string;
  readonly channel: string;
  /** The channel's version-store stream id (the `stream_id` of the frame). */
  readonly streamId: string;
  /** The committed version: aggregate data (for full mode) and, for appends, the fragment. */
  readonly record: VersionRecord;
  /** An append whose transport status is complete/cancelled (it ends the rollup of its stream). */
  readonly terminal: boolean;
  readonly excludeSocketId?: string;
}

/**
 * The channel's durable history was reset (admin API, operator): a new epoch. Every node drops
 * what it buffered for the channel and tells its V2 subscribers to re-sync (decision 11).
 */
export interface ResetMessage {
  readonly kind: 'reset';
  readonly appId: string;
  readonly channel: string;
  readonly previousStreamId: string;
  readonly newStreamId: string;
}

/** What delivery fans out: a message, or the channel's epoch change. */
export type ChannelMessage = EventMessage | VersionMessage;
export type ChannelSignal = ChannelMessage | ResetMessage;

/** The wire `serial` of a message, when it has one (delivery serial on versioned channels). */
export function serialOf(m: ChannelMessage): number | undefined {
  return m.kind === 'version' ? m.record.delivery_serial : m.serial;
}

/** The message id clients dedupe by, when there is one. */
export function messageIdOf(m: ChannelMessage): string | undefined {
  return m.kind === 'version' ? m.record.message_id : m.messageId;
}

/** The history serial of a create or history event: what the attach point of a subscriber covers. */
export function createHistorySerial(m: ChannelMessage): number | undefined {
  if (m.kind === 'version') return m.record.action === 'create' ? m.record.history_serial : undefined;
  return m.serial;
}

/** Whether protocol-7 sockets get this message at all (never mutations: PROTOCOL.md 4.4). */
export function reachesV1(m: ChannelMessage): boolean {
  return m.kind === 'event' || m.record.action === 'create';
}

function frameOfVersion(m: VersionMessage, mode: AppendMode, fragment?: string): V2Frame {
  return stripInternal(buildLiveFrame({ channel: m.channel, stream_id: m.streamId }, m.record, mode, fragment));
}

/**
 * The V2 wire text of a message. Appends use `mode`; in delta mode `fragment` (the rollup's
 * concatenation) replaces the version's own fragment when given.
 */
export function encodeV2(m: ChannelMessage, mode: AppendMode, newMessageId: () => string, fragment?: string): string {
  if (m.kind === 'version') return JSON.stringify(frameOfVersion(m, mode, fragment));
  return encodeBroadcastV2(
    {
      event: m.event,
      channel: m.channel,
      data: m.data,
      userId: m.userId,
      messageId: m.messageId,
      streamId: m.streamId,
      serial: m.serial,
      tags: m.tags,
      extras: m.extras,
    },
    newMessageId,
  );
}

/** The protocol-7 wire text, or undefined when V1 sockets do not get the message. */
export function encodeV1(m: ChannelMessage): string | undefined {
  if (m.kind === 'event') {
    return encodeBroadcastV1({ event: m.event, channel: m.channel, data: m.data, userId: m.userId });
  }
  const v1 = toV1Frame(frameOfVersion(m, 'full'));
  return v1 === undefined ? undefined : JSON.stringify(v1);
}
