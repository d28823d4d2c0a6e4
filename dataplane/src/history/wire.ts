// The wire (snake_case) shapes of PROTOCOL.md 6.2 / 6.3 built from store results, so the REST
// route and the WS `sockudo:channel_history` handler answer identically. Pure. Serials are safe
// integers, so plain JSON.stringify emits them as JSON integers (decision 10).
import type {
  Continuity,
  HistoryBounds,
  HistoryPage,
  HistoryRow,
  HistoryStreamInfo,
  PurgeResult,
  ResetResult,
  RetainedInfo,
  StreamState,
} from './types.ts';

export function streamStateToWire(s: StreamState): Record<string, unknown> {
  return {
    stream_id: s.streamId,
    durable_state: s.durableState,
    recovery_allowed: s.recoveryAllowed,
    reset_required: s.durableState === 'reset_required',
    reason: s.reason,
    node_id: s.nodeId,
    last_transition_at_ms: s.lastTransitionAtMs,
    authoritative_source: s.authoritativeSource,
    observed_source: s.observedSource,
  };
}

export function retainedToWire(r: RetainedInfo): Record<string, unknown> {
  return {
    stream_id: r.streamId,
    oldest_available_serial: r.oldestAvailableSerial,
    newest_available_serial: r.newestAvailableSerial,
    oldest_available_published_at_ms: r.oldestAvailablePublishedAtMs,
    newest_available_published_at_ms: r.newestAvailablePublishedAtMs,
    retained_messages: r.retainedMessages,
    retained_bytes: r.retainedBytes,
  };
}

export function continuityToWire(c: Continuity): Record<string, unknown> {
  return { ...retainedToWire(c), complete: c.complete, truncated_by_retention: c.truncatedByRetention };
}

export function boundsToWire(b: HistoryBounds): Record<string, number | null> {
  return {
    start_serial: b.startSerial ?? null,
    end_serial: b.endSerial ?? null,
    start_time_ms: b.startTimeMs ?? null,
    end_time_ms: b.endTimeMs ?? null,
  };
}

/** One item; `message` is the substituted latest version for a versioned create, else the stored message. */
export function historyRowToWire(row: HistoryRow, message: unknown = row.message): Record<string, unknown> {
  return {
    stream_id: row.streamId,
    serial: row.historySerial,
    published_at_ms: row.publishedAtMs,
    message_id: row.messageId,
    event_name: row.eventName,
    operation_kind: row.operationKind,
    payload_size_bytes: row.payloadSizeBytes,
    message,
  };
}

export interface PageWireOptions {
  /** Substitution of versioned creates (PROTOCOL.md 6.2): the message to show for a row. */
  readonly substitute?: (row: HistoryRow) => unknown;
  /** WS only (6.3): extra bounds fields. */
  readonly untilAttach?: { readonly untilAttach: boolean; readonly attachSerial: number | null };
}

/** The body of GET …/history and the `data` of the WS `sockudo:channel_history` response. */
export function historyPageToWire(page: HistoryPage, opts: PageWireOptions = {}): Record<string, unknown> {
  const bounds: Record<string, unknown> = boundsToWire(page.bounds);
  if (opts.untilAttach) {
    bounds['until_attach'] = opts.untilAttach.untilAttach;
    bounds['attach_serial'] = opts.untilAttach.attachSerial;
  }
  const sub = opts.substitute;
  return {
    items: page.items.map((r) => historyRowToWire(r, sub ? sub(r) : r.message)),
    direction: page.direction,
    limit: page.limit,
    has_more: page.hasMore,
    next_cursor: page.nextCursor,
    bounds,
    continuity: continuityToWire(page.continuity),
    stream_state: streamStateToWire(page.streamState),
  };
}

/** GET …/history/state */
export function historyStateToWire(info: HistoryStreamInfo): Record<string, unknown> {
  return {
    channel: info.channel,
    stream: {
      stream_id: info.streamId,
      next_serial: info.nextSerial,
      retained: retainedToWire(info.retained),
      state: streamStateToWire(info.state),
    },
  };
}

/** POST …/history/reset response. */
export function resetResultToWire(
  channel: string,
  reason: string,
  requestedBy: string | null,
  r: ResetResult,
): Record<string, unknown> {
  return {
    ok: true,
    operation: 'reset',
    channel,
    reason,
    requested_by: requestedBy,
    previous_stream_id: r.previousStreamId,
    new_stream_id: r.newStreamId,
    purged_messages: r.purgedMessages,
    purged_bytes: r.purgedBytes,
    stream: historyStateToWire(r.stream).stream,
  };
}

/** POST …/history/purge response (same envelope as reset, without the epoch change). */
export function purgeResultToWire(
  channel: string,
  reason: string,
  requestedBy: string | null,
  r: PurgeResult,
): Record<string, unknown> {
  return {
    ok: true,
    operation: 'purge',
    channel,
    reason,
    requested_by: requestedBy,
    purged_messages: r.purgedMessages,
    purged_bytes: r.purgedBytes,
    stream: historyStateToWire(r.stream).stream,
  };
}
