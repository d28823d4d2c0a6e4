// Durable history over signed REST (PROTOCOL.md 6.2): pages with versioned creates substituted,
// the stream state, and the destructive reset and purge (both need the channel name and the
// operation repeated in the body, and a reason, so a mistyped request cannot wipe a channel).
import { validateChannelName } from '../../channels/names.ts';
import { type HistoryBounds, type HistoryQuery, normalizeDirection, type PurgeRequest } from '../../history/types.ts';
import { historyPageToWire, historyStateToWire, purgeResultToWire, resetResultToWire } from '../../history/wire.ts';
import { type AitError, aitError } from '../../protocol/errors.ts';
import { type HttpResponse, json } from '../http-util.ts';
import type { RouteContext } from './types.ts';
import { isPlainObject } from './validate-event.ts';

const invalid = (reason: string): AitError => aitError('AIT_ERR_INVALID_INPUT', { reason });

function channelOf(ctx: RouteContext): string {
  const raw = ctx.params.channel;
  const check = validateChannelName(raw, ctx.app.limits.maxChannelNameLength);
  if (!check.ok) throw invalid(`invalid channel: ${check.reason}`);
  return raw as string;
}

/** A u64-safe non-negative integer query parameter, or undefined when absent. */
export function counterParam(q: URLSearchParams, ...names: string[]): number | undefined {
  for (const name of names) {
    const raw = q.get(name);
    if (raw === null || raw === '') continue;
    if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
      throw invalid(`${name} must be a non-negative integer`);
    }
    return Number(raw);
  }
  return undefined;
}

/** The query of GET …/history: limit, direction, cursor, serial and time bounds (`start`/`end` are times). */
export function parseHistoryQuery(appId: string, channel: string, q: URLSearchParams): HistoryQuery {
  const limitRaw = q.get('limit');
  let limit: number | undefined;
  if (limitRaw !== null && limitRaw !== '') {
    if (!/^\d{1,9}$/.test(limitRaw) || Number(limitRaw) < 1) throw invalid('limit must be a positive integer');
    limit = Number(limitRaw);
  }
  const dirRaw = q.get('direction');
  const direction = dirRaw === null || dirRaw === '' ? 'newest_first' : normalizeDirection(dirRaw);
  if (direction === undefined) throw invalid('direction must be newest_first or oldest_first (or an alias)');
  const bounds: { -readonly [K in keyof HistoryBounds]: HistoryBounds[K] } = {};
  const startSerial = counterParam(q, 'start_serial');
  const endSerial = counterParam(q, 'end_serial');
  const startTimeMs = counterParam(q, 'start_time_ms', 'start');
  const endTimeMs = counterParam(q, 'end_time_ms', 'end');
  if (startSerial !== undefined) bounds.startSerial = startSerial;
  if (endSerial !== undefined) bounds.endSerial = endSerial;
  if (startTimeMs !== undefined) bounds.startTimeMs = startTimeMs;
  if (endTimeMs !== undefined) bounds.endTimeMs = endTimeMs;
  const cursor = q.get('cursor');
  return {
    appId,
    channel,
    direction,
    ...(limit !== undefined && { limit }),
    ...(cursor !== null && cursor !== '' && { cursor }),
    bounds,
  };
}

/** GET …/channels/{ch}/history */
export async function handleHistory(ctx: RouteContext): Promise<HttpResponse> {
  const channel = channelOf(ctx);
  const query = parseHistoryQuery(ctx.app.id, channel, ctx.query);
  const { page, messages } = await ctx.deps.engine.streams.reads.historyPage(query);
  return json(200, historyPageToWire(page, { substitute: (row) => messages.get(row) }));
}

/** GET …/channels/{ch}/history/state */
export async function handleHistoryState(ctx: RouteContext): Promise<HttpResponse> {
  const channel = channelOf(ctx);
  const info = await ctx.deps.engine.streams.reads.historyState(ctx.app.id, channel);
  return json(200, historyStateToWire(info));
}

interface Confirmed {
  reason: string;
  requestedBy: string | undefined;
  body: Record<string, unknown>;
}

/** The confirmation every destructive request carries (PROTOCOL.md 6.2). */
function confirmed(ctx: RouteContext, channel: string, operation: 'reset' | 'purge'): Confirmed {
  const body = ctx.body;
  if (!isPlainObject(body)) throw invalid('body must be a JSON object');
  if (body.confirm_channel !== channel) throw invalid('confirm_channel must repeat the channel name');
  if (body.confirm_operation !== operation) throw invalid(`confirm_operation must be "${operation}"`);
  const reason = body.reason;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 512) {
    throw invalid('reason must be a non-empty string of at most 512 characters');
  }
  const by = body.requested_by;
  if (by !== undefined && by !== null && (typeof by !== 'string' || by.length > 256)) {
    throw invalid('requested_by must be a string of at most 256 characters');
  }
  return { reason, requestedBy: typeof by === 'string' ? by : undefined, body };
}

/** POST …/channels/{ch}/history/reset */
export async function handleHistoryReset(ctx: RouteContext): Promise<HttpResponse> {
  const channel = channelOf(ctx);
  ctx.deps.engine.streams.reads.requireHistory(ctx.app.id, channel);
  const c = confirmed(ctx, channel, 'reset');
  const r = await ctx.deps.engine.streams.publisher.reset(ctx.app.id, channel, {
    reason: c.reason,
    ...(c.requestedBy !== undefined && { requestedBy: c.requestedBy }),
  });
  return json(200, resetResultToWire(channel, c.reason, c.requestedBy ?? null, r));
}

/** POST …/channels/{ch}/history/purge */
export async function handleHistoryPurge(ctx: RouteContext): Promise<HttpResponse> {
  const channel = channelOf(ctx);
  ctx.deps.engine.streams.reads.requireHistory(ctx.app.id, channel);
  const c = confirmed(ctx, channel, 'purge');
  const base = { reason: c.reason, ...(c.requestedBy !== undefined && { requestedBy: c.requestedBy }) };
  let req: PurgeRequest;
  const mode = c.body.mode;
  if (mode === 'all') req = { ...base, mode };
  else if (mode === 'before_serial') {
    const v = c.body.before_serial;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
      throw invalid('before_serial must be a positive integer');
    req = { ...base, mode, beforeSerial: v };
  } else if (mode === 'before_time_ms') {
    const v = c.body.before_time_ms;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw invalid('before_time_ms must be a non-negative integer');
    }
    req = { ...base, mode, beforeTimeMs: v };
  } else throw invalid('mode must be all, before_serial or before_time_ms');
  const r = await ctx.deps.engine.streams.publisher.purge(ctx.app.id, channel, req);
  return json(200, purgeResultToWire(channel, c.reason, c.requestedBy ?? null, r));
}
