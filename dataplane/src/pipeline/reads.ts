// Reads of durable state, shared by the REST routes and the WebSocket handlers so both answer the
// same: history pages with versioned creates substituted by their latest version (PROTOCOL.md
// 6.2), GET latest and versions of one message (9.3), stream states. Every store call has a
// deadline; an unreachable store is a retryable 503 (STANDARDS F1, F3).
import type { ChannelSettingsResolver } from '../channels/settings.ts';
import type { HistoryStore } from '../history/store.ts';
import type { HistoryPage, HistoryQuery, HistoryRow, HistoryStreamInfo } from '../history/types.ts';
import { isHistoryError } from '../history/types.ts';
import type { VersionPageQuery, VersionStore, VersionStreamInfo } from '../history/version-store.ts';
import { toMutationProjection, toVersionedRealtimeMessage, type VersionedRealtimeMessage } from '../messages/frames.ts';
import type { Aggregate } from '../messages/model.ts';
import type { Metrics } from '../metrics/registry.ts';
import { AitError, aitError } from '../protocol/errors.ts';
import { isRetryableStoreError, withTimeout } from '../stores/timeout.ts';

export interface ReadsDeps {
  readonly settings: ChannelSettingsResolver;
  readonly history: HistoryStore;
  readonly versions: VersionStore;
  readonly metrics: Metrics;
  readonly storeTimeoutMs: number;
}

/** A history page plus, per row, the message to show (substituted when versioned). */
export interface SubstitutedPage {
  readonly page: HistoryPage;
  readonly messages: ReadonlyMap<HistoryRow, unknown>;
}

export interface VersionsPage {
  readonly channel: string;
  readonly direction: 'newest_first' | 'oldest_first';
  readonly limit: number;
  readonly hasMore: boolean;
  readonly nextCursor: string | null;
  readonly items: VersionedRealtimeMessage[];
}

/** Maps a store error to the client's error: 400 for bad queries and cursors, 503 when unreachable. */
export function historyErrorToAitError(err: unknown): AitError {
  if (isHistoryError(err)) {
    switch (err.code) {
      case 'invalid_query':
      case 'invalid_cursor':
      case 'cursor_mismatch':
      case 'cursor_stream_reset':
      case 'invalid_request':
        return aitError('AIT_ERR_INVALID_INPUT', { reason: err.message });
      case 'row_too_large':
        return aitError('AIT_ERR_PAYLOAD_TOO_LARGE', { reason: err.message });
      default:
        return aitError(
          'AIT_ERR_UNAVAILABLE',
          { reason: 'the history store is unavailable; retry later' },
          {
            retryAfterSeconds: 1,
            cause: err,
          },
        );
    }
  }
  if (isRetryableStoreError(err)) {
    return aitError(
      'AIT_ERR_UNAVAILABLE',
      { reason: 'the history store is unavailable; retry later' },
      {
        retryAfterSeconds: 1,
        cause: err,
      },
    );
  }
  if (err instanceof AitError) return err;
  return aitError('AIT_ERR_INTERNAL', undefined, { cause: err });
}

export class ChannelReads {
  readonly #d: ReadsDeps;

  constructor(deps: ReadsDeps) {
    this.#d = deps;
  }

  async #call<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(call(), this.#d.storeTimeoutMs, what);
    } catch (err) {
      throw historyErrorToAitError(err);
    }
  }

  /** 422 feature_disabled unless the channel keeps history. */
  requireHistory(appId: string, channel: string): void {
    if (!this.#d.settings.get(appId, channel).history) {
      throw aitError('AIT_ERR_FEATURE_DISABLED', { reason: 'history is not enabled for this channel' });
    }
  }

  /** 422 feature_disabled (or 403 93002 on AI channels) unless the channel is versioned. */
  requireVersioned(appId: string, channel: string): void {
    const s = this.#d.settings.get(appId, channel);
    if (s.versioned) return;
    throw s.ai
      ? aitError('AIT_ERR_MUTABLE_NOT_PERMITTED')
      : aitError('AIT_ERR_FEATURE_DISABLED', { reason: 'versioned messages are not enabled for this channel' });
  }

  /** One history page (the limit clamped to the channel's page size), creates substituted. */
  async historyPage(query: HistoryQuery): Promise<SubstitutedPage> {
    const { appId, channel } = query;
    this.requireHistory(appId, channel);
    const settings = this.#d.settings.get(appId, channel);
    const limit = Math.min(query.limit ?? settings.maxPageSize, settings.maxPageSize);
    if (query.limit !== undefined && query.limit < 1) {
      throw aitError('AIT_ERR_INVALID_INPUT', { reason: 'limit must be a positive integer' });
    }
    const page = await this.#call('history read', () => this.#d.history.read({ ...query, limit }));
    const messages = new Map<HistoryRow, unknown>();
    const labels = { app_id: appId };
    const serials = [...new Set(page.items.flatMap((r) => (r.messageSerial === undefined ? [] : [r.messageSerial])))];
    const latest = new Map<string, Aggregate | undefined>();
    let versionStream: string | undefined;
    if (serials.length > 0) {
      const [state, ...aggs] = await this.#call('version read', () =>
        Promise.all([
          this.#d.versions.streamState(appId, channel),
          ...serials.map((ms) => this.#d.versions.latest(appId, channel, ms)),
        ]),
      );
      versionStream = (state as VersionStreamInfo).streamId;
      serials.forEach((ms, i) => {
        latest.set(ms, aggs[i] as Aggregate | undefined);
      });
    }
    for (const row of page.items) {
      if (row.messageSerial === undefined) {
        this.#d.metrics.versionedHistorySubstitutionTotal.inc({ ...labels, result: 'not_versioned' });
        messages.set(row, row.message);
        continue;
      }
      const agg = latest.get(row.messageSerial);
      if (agg === undefined || versionStream === undefined) {
        // The create's history row exists but its version does not (a failed commit, or the
        // version store was reset): show what was stored.
        this.#d.metrics.versionedHistorySubstitutionTotal.inc({ ...labels, result: 'missing_latest' });
        messages.set(row, row.message);
        continue;
      }
      this.#d.metrics.versionedHistorySubstitutionTotal.inc({ ...labels, result: 'applied' });
      messages.set(row, toVersionedRealtimeMessage({ channel, stream_id: versionStream }, agg));
    }
    return { page, messages };
  }

  async historyState(appId: string, channel: string): Promise<HistoryStreamInfo> {
    this.requireHistory(appId, channel);
    return this.#call('history state', () => this.#d.history.state(appId, channel));
  }

  async versionState(appId: string, channel: string): Promise<VersionStreamInfo> {
    return this.#call('version state', () => this.#d.versions.streamState(appId, channel));
  }

  /** GET …/messages/{ms}: the latest aggregate, 404 when unknown. */
  async latest(appId: string, channel: string, messageSerial: string): Promise<VersionedRealtimeMessage> {
    this.requireVersioned(appId, channel);
    const snap = await this.#call('version read', () => this.#d.versions.snapshot(appId, channel, messageSerial));
    const labels = { app_id: appId, surface: 'latest' };
    if (!snap.latest) {
      this.#d.metrics.versionedMessageRetrievalTotal.inc({ ...labels, result: 'miss' });
      throw aitError('AIT_ERR_NOT_FOUND', { reason: 'message not found' }, { channel });
    }
    this.#d.metrics.versionedMessageRetrievalTotal.inc({ ...labels, result: 'hit' });
    return toVersionedRealtimeMessage({ channel, stream_id: snap.streamId }, snap.latest);
  }

  /** GET …/messages/{ms}/versions: mutation projections, paginated by version serial. */
  async versions(
    appId: string,
    channel: string,
    messageSerial: string,
    query: VersionPageQuery,
  ): Promise<VersionsPage> {
    this.requireVersioned(appId, channel);
    const [snap, page] = await this.#call('version read', () =>
      Promise.all([
        this.#d.versions.snapshot(appId, channel, messageSerial),
        this.#d.versions.versions(appId, channel, messageSerial, query),
      ]),
    );
    const labels = { app_id: appId, surface: 'versions' };
    if (!snap.latest) {
      this.#d.metrics.versionedMessageRetrievalTotal.inc({ ...labels, result: 'miss' });
      throw aitError('AIT_ERR_NOT_FOUND', { reason: 'message not found' }, { channel });
    }
    this.#d.metrics.versionedMessageRetrievalTotal.inc({ ...labels, result: 'hit' });
    const ctx = { channel, stream_id: snap.streamId };
    return {
      channel,
      direction: query.direction ?? 'newest_first',
      limit: query.limit ?? 100,
      hasMore: page.hasMore,
      nextCursor: page.nextCursor,
      items: page.items.map((r) => toMutationProjection(ctx, r)),
    };
  }
}
