// POST /apps/{id}/events and /batch_events (PROTOCOL.md 9.1): validate, apply the first
// idempotency layer (3.4.1), fan out through the engine per channel, and answer `{ok:true}`,
// `{}` or the per-channel acks.
import {
  type AiError,
  aiErrorToAitError,
  aiLimits,
  checkAiHttpPublish,
  isAiEvent,
  validateExtrasAi,
} from '../../ai/validate.ts';
import { channelType } from '../../channels/names.ts';
import type { PublishAck } from '../../pipeline/publisher.ts';
import { type AitError, aitError } from '../../protocol/errors.ts';
import type { Engine } from '../engine-api.ts';
import { errorResponse, type HttpResponse, json } from '../http-util.ts';
import { type CachedResponse, idempotencyCacheKey, runIdempotent } from './idempotency.ts';
import type { RouteContext } from './types.ts';
import {
  type BatchItemError,
  idempotencyKeyProblem,
  type ValidEvent,
  validateBatch,
  validateEvent,
} from './validate-event.ts';

export type ChannelAck = {
  subscription_count?: number;
  user_count?: number;
  acknowledgement_id?: string;
  message_serial?: string;
  history_serial?: number;
  delivery_serial?: number;
  version_serial?: string;
};

/** Whether the response must carry per-channel acks instead of `{ok:true}` / `{}` (9.1). */
function wantsAck(ev: ValidEvent): boolean {
  return ev.info !== undefined || ev.messageId !== undefined || isAiEvent(ev.name);
}

function ackFor(engine: Engine, appId: string, ev: ValidEvent, channel: string, ack: PublishAck): ChannelAck {
  const out: ChannelAck = {};
  if (ack.acknowledgement_id !== undefined) out.acknowledgement_id = ack.acknowledgement_id;
  if (ack.message_serial !== undefined) out.message_serial = ack.message_serial;
  if (ack.history_serial !== undefined) out.history_serial = ack.history_serial;
  if (ack.delivery_serial !== undefined) out.delivery_serial = ack.delivery_serial;
  if (ack.version_serial !== undefined) out.version_serial = ack.version_serial;
  if (ev.info?.subscriptionCount || ev.info?.userCount) {
    const info = engine.channelInfo(appId, channel);
    if (ev.info.subscriptionCount) out.subscription_count = info.subscriptionCount;
    if (ev.info.userCount && channelType(channel).kind === 'presence') out.user_count = info.userCount ?? 0;
  }
  return out;
}

/**
 * The AI Transport gate of a REST publish (PROTOCOL.md 7.2): AI events and `extras.ai` only on AI
 * channels, message_id bounds, and `extras.ai` validated (the caller is trusted: no anti-spoof).
 */
export function checkAiPublish(ctx: RouteContext, ev: ValidEvent): AitError | undefined {
  const engine = ctx.deps.engine;
  const m = ctx.deps.engine.streams.settings;
  for (const channel of ev.channels) {
    const settings = m.get(ctx.app.id, channel);
    const ai = ev.extras?.['ai'];
    const gate = checkAiHttpPublish({
      event: ev.name,
      aiChannel: settings.ai,
      hasExtrasAi: ai !== undefined,
      messageId: ev.messageId,
    });
    if (gate) return rejectAi(engine, ctx.app.id, gate, channel);
    if (settings.ai && ai !== undefined) {
      const v = validateExtrasAi(ai, { limits: aiLimits(ctx.deps.config.aiTransport) });
      if (!v.ok) return rejectAi(engine, ctx.app.id, v.error, channel);
    }
    if (settings.ai && (ai !== undefined || isAiEvent(ev.name)))
      engine.streams.publisher.ai.validated(ctx.app.id, ev.name);
  }
  return undefined;
}

function rejectAi(engine: Engine, appId: string, e: AiError, channel: string): AitError {
  engine.streams.publisher.ai.rejected(appId, e.aiCode);
  return aiErrorToAitError(e, channel);
}

/** Publishes one validated event to each of its channels, in order, and builds its response. */
export async function publishEvent(engine: Engine, appId: string, ev: ValidEvent): Promise<CachedResponse> {
  const channels: Record<string, ChannelAck> = {};
  for (const channel of ev.channels) {
    const ack = await engine.streams.publisher.publish({
      appId,
      channel,
      event: ev.name,
      data: ev.data,
      extras: ev.extras,
      messageId: ev.messageId,
      tags: ev.tags,
      excludeSocketId: ev.socketId,
      idempotencyKey: ev.idempotencyKey,
    });
    channels[channel] = ackFor(engine, appId, ev, channel, ack);
  }
  if (!wantsAck(ev)) return { status: 200, body: { ok: true } };
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
  const aiProblem = checkAiPublish(ctx, ev);
  if (aiProblem) throw aiProblem;
  const fromHeader = headerKey(ctx);
  const key = ev.idempotencyKey ?? fromHeader; // the body wins (3.4.1)
  const appId = ctx.app.id;
  if (key === undefined) {
    const r = await publishEvent(ctx.deps.engine, appId, ev);
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
      acks.push(itemAck(await publishEvent(ctx.deps.engine, appId, ev), ev));
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
  // AI checks too run on every item before anything is published (decision 13).
  const items: BatchItemError[] = [];
  v.value.forEach((ev, index) => {
    const e = checkAiPublish(ctx, ev);
    if (e) items.push({ index, error: e.message, code: e.httpBody().code });
  });
  if (items.length > 0) {
    const reason = `${items.length} of ${v.value.length} batch events are invalid; nothing was published`;
    return errorResponse(aitError('AIT_ERR_INVALID_INPUT', { reason }), { items });
  }
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
