// POST /apps/{id}/events and /batch_events (PROTOCOL.md 9.1): validate, apply the first
// idempotency layer (3.4.1), fan out through the engine per channel, and answer `{ok:true}`,
// `{}` or the per-channel acks.
import { channelType } from '../../channels/names.ts';
import { aitError } from '../../protocol/errors.ts';
import type { Engine } from '../engine-api.ts';
import { errorResponse, type HttpResponse, json } from '../http-util.ts';
import { type CachedResponse, idempotencyCacheKey, runIdempotent } from './idempotency.ts';
import type { RouteContext } from './types.ts';
import { idempotencyKeyProblem, type ValidEvent, validateBatch, validateEvent } from './validate-event.ts';

export type ChannelAck = { subscription_count?: number; user_count?: number; acknowledgement_id?: string };

/** Whether the response must carry per-channel acks instead of `{ok:true}` / `{}`. */
function wantsAck(ev: ValidEvent): boolean {
  return ev.info !== undefined || ev.messageId !== undefined;
}

function ackFor(engine: Engine, appId: string, ev: ValidEvent, channel: string): ChannelAck {
  const ack: ChannelAck = {};
  if (ev.info?.subscriptionCount || ev.info?.userCount) {
    const info = engine.channelInfo(appId, channel);
    if (ev.info.subscriptionCount) ack.subscription_count = info.subscriptionCount;
    if (ev.info.userCount && channelType(channel).kind === 'presence') ack.user_count = info.userCount ?? 0;
  }
  if (ev.messageId !== undefined) ack.acknowledgement_id = ev.messageId;
  return ack;
}

/** Publishes one validated event to each of its channels, in order, and builds its response. */
export function publishEvent(engine: Engine, appId: string, ev: ValidEvent): CachedResponse {
  for (const channel of ev.channels) {
    engine.publish({
      appId,
      channel,
      event: ev.name,
      data: ev.data,
      ...(ev.socketId !== undefined && { excludeSocketId: ev.socketId }),
      ...(ev.messageId !== undefined && { messageId: ev.messageId }),
      ...(ev.extras !== undefined && { extras: ev.extras }),
      ...(ev.tags !== undefined && { tags: ev.tags }),
    });
  }
  if (!wantsAck(ev)) return { status: 200, body: { ok: true } };
  const channels: Record<string, ChannelAck> = {};
  for (const channel of ev.channels) channels[channel] = ackFor(engine, appId, ev, channel);
  return { status: 200, body: { channels } };
}

/** The `X-Idempotency-Key` header, validated; undefined when absent. */
function headerKey(ctx: RouteContext): string | undefined {
  const raw = ctx.headers['x-idempotency-key'];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw[0] : raw;
  const problem = idempotencyKeyProblem(value);
  if (problem)
    throw aitError('AIT_ERR_INVALID_INPUT', { reason: problem.replace('idempotency_key', 'X-Idempotency-Key') });
  return value;
}

function idempotencyDeps(ctx: RouteContext) {
  return { store: ctx.deps.idempotency, now: ctx.deps.now, sleep: ctx.deps.sleep };
}

function replayable(ctx: RouteContext, r: { response: CachedResponse; replayed: boolean }): HttpResponse {
  ctx.deps.metrics?.idempotentPublish(ctx.app.id, r.replayed);
  return r.replayed
    ? json(r.response.status, r.response.body, { 'Idempotent-Replayed': 'true' })
    : json(r.response.status, r.response.body);
}

export async function handleEvents(ctx: RouteContext): Promise<HttpResponse> {
  const v = validateEvent(ctx.body, ctx.app.limits);
  if (!v.ok) throw v.error;
  const ev = v.value;
  const fromHeader = headerKey(ctx);
  const key = ev.idempotencyKey ?? fromHeader; // the body wins (3.4.1)
  const appId = ctx.app.id;
  if (key === undefined) {
    const r = publishEvent(ctx.deps.engine, appId, ev);
    return json(r.status, r.body);
  }
  const r = await runIdempotent(idempotencyDeps(ctx), idempotencyCacheKey(appId, key, 'event'), async () =>
    publishEvent(ctx.deps.engine, appId, ev),
  );
  return replayable(ctx, r);
}

/** The batch ack of one item: its first channel's ack, or {} (9.1). */
function itemAck(response: CachedResponse, ev: ValidEvent): ChannelAck {
  const body = response.body as { channels?: Record<string, ChannelAck> };
  const first = ev.channels[0] as string;
  return body.channels?.[first] ?? {};
}

async function publishBatch(ctx: RouteContext, events: ValidEvent[]): Promise<CachedResponse> {
  const appId = ctx.app.id;
  const acks: ChannelAck[] = [];
  for (const ev of events) {
    if (ev.idempotencyKey === undefined) {
      acks.push(itemAck(publishEvent(ctx.deps.engine, appId, ev), ev));
      continue;
    }
    // Per-item keys share the single-event namespace: a duplicate item is skipped (3.4.1).
    const r = await runIdempotent(
      idempotencyDeps(ctx),
      idempotencyCacheKey(appId, ev.idempotencyKey, 'event'),
      async () => publishEvent(ctx.deps.engine, appId, ev),
    );
    ctx.deps.metrics?.idempotentPublish(appId, r.replayed);
    acks.push(itemAck(r.response, ev));
  }
  return { status: 200, body: events.some(wantsAck) ? { batch: acks } : {} };
}

export async function handleBatchEvents(ctx: RouteContext): Promise<HttpResponse> {
  const v = validateBatch(ctx.body, ctx.app.limits);
  if (!v.ok) return errorResponse(v.error, v.items ? { items: v.items } : undefined);
  const key = headerKey(ctx);
  if (key === undefined) {
    const r = await publishBatch(ctx, v.value);
    return json(r.status, r.body);
  }
  const r = await runIdempotent(idempotencyDeps(ctx), idempotencyCacheKey(ctx.app.id, key, 'batch'), () =>
    publishBatch(ctx, v.value),
  );
  return replayable(ctx, r);
}
