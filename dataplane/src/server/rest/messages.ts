// Versioned messages over signed REST (PROTOCOL.md 9.3): GET latest, GET versions, and the
// update / delete / append mutations, plus `POST /apps/{id}/appends`, the batch of appends a
// trusted producer streams tokens with (one request per tick instead of one per token; same
// semantics, idempotency by op_id and limits as `…/append`, per-item results).
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { validateChannelName } from '../../channels/names.ts';
import { normalizeDirection } from '../../history/types.ts';
import { mutationResponseBody } from '../../messages/frames.ts';
import type { Extras, JsonValue, MessageData } from '../../messages/model.ts';
import { CLEAR_FIELDS, type ClearField, type MutationInput } from '../../messages/mutations.ts';
import { isValidSerial } from '../../messages/serials.ts';
import type { MutationActor } from '../../pipeline/publisher.ts';
import { type AitError, aitError } from '../../protocol/errors.ts';
import { type HttpResponse, json, toAitError } from '../http-util.ts';
import type { RouteContext } from './types.ts';
import { isPlainObject, isSocketId } from './validate-event.ts';

const invalid = (reason: string): AitError => aitError('AIT_ERR_INVALID_INPUT', { reason });

/** Most appends in one `POST /appends` request. */
export const MAX_APPEND_BATCH = 1000;
/** Appends of a batch applied between two yields to the event loop. */
const YIELD_EVERY = 32;

function channelOf(ctx: RouteContext, raw: unknown = ctx.params.channel): string {
  const check = validateChannelName(raw, ctx.app.limits.maxChannelNameLength);
  if (!check.ok) throw invalid(`invalid channel: ${check.reason}`);
  return raw as string;
}

function messageSerialOf(raw: unknown): string {
  if (!isValidSerial(raw)) throw invalid('message_serial must be 1..128 bytes without whitespace');
  return raw;
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${key} must be a string`);
  return v;
}

function optionalExtras(body: Record<string, unknown>): Extras | undefined {
  const v = body.extras;
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw invalid('extras must be an object');
  return v;
}

function clearFields(body: Record<string, unknown>): ClearField[] | undefined {
  const v = body.clear_fields;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((f) => !(CLEAR_FIELDS as readonly unknown[]).includes(f))) {
    throw invalid(`clear_fields must be an array of ${CLEAR_FIELDS.join(', ')}`);
  }
  return v as ClearField[];
}

/** Parses a mutation body (update / delete / append) into the pure mutation input. */
export function parseMutation(action: 'update' | 'delete' | 'append', body: unknown): MutationInput {
  if (!isPlainObject(body)) throw invalid('body must be a JSON object');
  const common = {
    client_id: optionalString(body, 'client_id'),
    description: optionalString(body, 'description'),
    metadata: body.metadata === undefined ? undefined : (body.metadata as JsonValue),
    op_id: optionalString(body, 'op_id'),
  };
  if (action === 'append') {
    if (typeof body.data !== 'string') throw invalid('append data must be a string');
    return { action, data: body.data, extras: optionalExtras(body), ...common };
  }
  const data = body.data === undefined || body.data === null ? undefined : (body.data as MessageData);
  if (action === 'delete')
    return { action, data, extras: optionalExtras(body), clear_fields: clearFields(body), ...common };
  return {
    action,
    name: optionalString(body, 'name'),
    data,
    extras: optionalExtras(body),
    clear_fields: clearFields(body),
    ...common,
  };
}

/** The actor of a mutation: privileged without socket_id, else that connected socket (4.2). */
function actorOf(ctx: RouteContext, body: Record<string, unknown>): { actor: MutationActor; socketId?: string } {
  const sid = body.socket_id;
  if (sid === undefined || sid === null) return { actor: { privileged: true } };
  if (!isSocketId(sid)) throw invalid('socket_id must look like "123.456"');
  const who = ctx.deps.engine.socketIdentity(ctx.app.id, sid);
  if (!who) throw aitError('AIT_ERR_NOT_FOUND', { reason: 'socket_id is not connected to this node' });
  if (who.version !== 2) throw aitError('AIT_ERR_MUTABLE_NOT_PERMITTED');
  return {
    actor: { privileged: false, clientId: who.userId, capabilities: who.capabilities },
    socketId: sid,
  };
}

async function mutate(ctx: RouteContext, action: 'update' | 'delete' | 'append'): Promise<HttpResponse> {
  const channel = channelOf(ctx);
  const messageSerial = messageSerialOf(ctx.params.messageSerial);
  const mutation = parseMutation(action, ctx.body);
  const { actor } = actorOf(ctx, ctx.body as Record<string, unknown>);
  const r = await ctx.deps.engine.streams.publisher.mutate({
    appId: ctx.app.id,
    channel,
    messageSerial,
    mutation,
    actor,
  });
  return json(200, mutationResponseBody(channel, r.receipt, r.status));
}

export const handleUpdate = (ctx: RouteContext) => mutate(ctx, 'update');
export const handleDelete = (ctx: RouteContext) => mutate(ctx, 'delete');
export const handleAppend = (ctx: RouteContext) => mutate(ctx, 'append');

/** `summary` versions belong to annotations, which AI Transport does not use (PROTOCOL.md 9.4). */
export function handleSummary(): HttpResponse {
  throw aitError('AIT_ERR_FEATURE_DISABLED', { reason: 'annotations (message summaries) are not supported' });
}

/** GET …/messages/{ms} → {channel, item} */
export async function handleGetMessage(ctx: RouteContext): Promise<HttpResponse> {
  const channel = channelOf(ctx);
  const item = await ctx.deps.engine.streams.reads.latest(
    ctx.app.id,
    channel,
    messageSerialOf(ctx.params.messageSerial),
  );
  return json(200, { channel, item });
}

function positiveInt(raw: string | null, name: string, max: number): number | undefined {
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw invalid(`${name} must be a positive integer`);
  return Math.min(Number(raw), max);
}

/** GET …/messages/{ms}/versions?limit&direction&cursor */
export async function handleGetVersions(ctx: RouteContext): Promise<HttpResponse> {
  const channel = channelOf(ctx);
  const ms = messageSerialOf(ctx.params.messageSerial);
  const q = ctx.query;
  const dirRaw = q.get('direction');
  const direction = dirRaw === null ? 'newest_first' : normalizeDirection(dirRaw);
  if (direction === undefined) throw invalid('direction must be newest_first or oldest_first');
  const cursor = q.get('cursor');
  if (cursor !== null && cursor !== '' && !isValidSerial(cursor)) throw invalid('cursor must be a version_serial');
  const limit = positiveInt(q.get('limit'), 'limit', 1000) ?? 100;
  const page = await ctx.deps.engine.streams.reads.versions(ctx.app.id, channel, ms, {
    direction,
    limit,
    ...(cursor ? { cursor } : {}),
  });
  return json(200, {
    channel,
    direction: page.direction,
    limit: page.limit,
    has_more: page.hasMore,
    next_cursor: page.nextCursor,
    items: page.items,
  });
}

interface AppendItemResult {
  index: number;
  status?: 'applied' | 'duplicate';
  channel?: string;
  message_serial?: string;
  version_serial?: string;
  history_serial?: number;
  delivery_serial?: number;
  error?: string;
  code?: string;
  ai_code?: number;
}

/**
 * POST /apps/{id}/appends `{appends:[{channel, message_serial, data, extras?, op_id?}, …]}`: each
 * item is an `…/append` of a trusted producer, applied in request order (so each message's
 * appends keep their order). A failing item does not stop the others; every item reports its
 * result, and the response is 200 when all applied, 207 otherwise (STANDARDS F5).
 */
export async function handleAppendBatch(ctx: RouteContext): Promise<HttpResponse> {
  const body = ctx.body;
  if (!isPlainObject(body) || !Array.isArray(body.appends)) throw invalid('body must be {"appends":[...]}');
  const items = body.appends;
  if (items.length === 0) throw invalid('appends must not be empty');
  if (items.length > MAX_APPEND_BATCH) {
    throw aitError('AIT_ERR_LIMIT_EXCEEDED', { reason: `at most ${MAX_APPEND_BATCH} appends per request` });
  }
  // Validate every item first: a malformed batch publishes nothing (decision 13).
  const parsed = items.map((raw, index) => {
    try {
      if (!isPlainObject(raw)) throw invalid('each append must be an object');
      if (raw.socket_id !== undefined) throw invalid('socket_id is not accepted in a batch (trusted producers only)');
      return {
        index,
        channel: channelOf(ctx, raw.channel),
        messageSerial: messageSerialOf(raw.message_serial),
        mutation: parseMutation('append', raw),
      };
    } catch (err) {
      return { index, error: toAitError(err) };
    }
  });
  const bad = parsed.filter((p): p is { index: number; error: AitError } => 'error' in p);
  if (bad.length > 0) {
    return json(400, {
      error: `${bad.length} of ${items.length} appends are invalid; nothing was applied`,
      code: 'invalid_input',
      status: 400,
      items: bad.map((b) => ({ index: b.index, error: b.error.message, code: b.error.httpBody().code })),
    });
  }
  const results: AppendItemResult[] = [];
  let failed = 0;
  let done = 0;
  for (const p of parsed as Array<{ index: number; channel: string; messageSerial: string; mutation: MutationInput }>) {
    // On a fast store every await resolves as a microtask: let timers and sockets run between
    // slices, or a 1000-item batch would hold the event loop for tens of milliseconds.
    if (++done % YIELD_EVERY === 0) await yieldToEventLoop();
    try {
      const r = await ctx.deps.engine.streams.publisher.mutate({
        appId: ctx.app.id,
        channel: p.channel,
        messageSerial: p.messageSerial,
        mutation: p.mutation,
        actor: { privileged: true },
      });
      results.push({ index: p.index, status: r.status, channel: p.channel, ...r.receipt });
    } catch (err) {
      failed++;
      const e = toAitError(err);
      const b = e.httpBody();
      results.push({
        index: p.index,
        channel: p.channel,
        message_serial: p.messageSerial,
        error: e.message,
        code: b.code,
        ...(b.ai_code !== undefined && { ai_code: b.ai_code }),
      });
    }
  }
  return json(failed === 0 ? 200 : 207, { applied: results.length - failed, failed, results });
}
