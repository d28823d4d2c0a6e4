// The publish pipeline of one node: every publish and mutation of a channel passes the channel's
// ordering gate (STANDARDS C2), is made durable (history row, version commit; STANDARDS C1: each
// step one atomic store call), deduplicated (message_id / idempotency key claims, op_id receipts;
// C5), and only then handed to delivery as a `ChannelMessage`. A write that cannot be made
// durable is refused with a retryable error and never delivered (F3): nothing is acked and then
// lost. Channels without history skip all of it and are delivered at once.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AiObserver } from '../ai/observer.ts';
import { isStreaming, isTerminalTransport } from '../ai/validate.ts';
import { type CapabilitySet, can } from '../auth/index.ts';
import type { OrderingGate } from '../channels/gate.ts';
import { GateFullError } from '../channels/gate.ts';
import type { ChannelSettings, ChannelSettingsResolver } from '../channels/settings.ts';
import type { HistoryStore } from '../history/store.ts';
import {
  isHistoryError,
  type PurgeRequest,
  type PurgeResult,
  type ResetRequest,
  type ResetResult,
  STATE_REASONS,
} from '../history/types.ts';
import type { VersionStore } from '../history/version-store.ts';
import {
  canonicalJson,
  type Extras,
  type MessageData,
  operationOf,
  sha256Hex,
  type VersionRecord,
} from '../messages/model.ts';
import {
  applyMutation,
  checkOpenStreams,
  type MutationInput,
  type MutationReceipt,
  mutationErrorToAitError,
} from '../messages/mutations.ts';
import type { SerialGenerator } from '../messages/serials.ts';
import type { Metrics } from '../metrics/registry.ts';
import { AitError, aitError } from '../protocol/errors.ts';
import { isRetryableStoreError, withTimeout } from '../stores/timeout.ts';
import type { ActiveStreamRegistry, PublishClaimStore, PublishReceipt } from '../stores/types.ts';
import type { ChannelMessage, ChannelSignal } from './message.ts';
import { historyErrorToAitError } from './reads.ts';

export interface PublishInput {
  readonly appId: string;
  readonly channel: string;
  readonly event: string;
  readonly data: MessageData;
  readonly extras?: Extras | undefined;
  readonly messageId?: string | undefined;
  readonly tags?: Record<string, string> | undefined;
  readonly excludeSocketId?: string | undefined;
  /** The verified publisher (a socket's user id); REST publishes have none. */
  readonly userId?: string | undefined;
  /** Layer-2 idempotency key from the body (`idempotency_key`); message_id and extras win. */
  readonly idempotencyKey?: string | undefined;
}

/** The per-channel acknowledgement of PROTOCOL.md 9.1. */
export interface PublishAck {
  readonly acknowledgement_id?: string;
  readonly message_serial?: string;
  readonly history_serial?: number;
  readonly delivery_serial?: number;
  readonly version_serial?: string;
  /** Answered from an earlier publish with the same key: nothing was broadcast. */
  readonly duplicate: boolean;
}

/** Who performs a mutation (PROTOCOL.md 4.2). */
export type MutationActor =
  /** Signed HTTP without socket_id: app-key trust, the `any` grant. */
  | { readonly privileged: true }
  /** A connected V2 socket named by socket_id: its verified id and capabilities. */
  | {
      readonly privileged: false;
      readonly clientId: string | undefined;
      readonly capabilities: CapabilitySet | undefined;
    };

export interface MutateInput {
  readonly appId: string;
  readonly channel: string;
  readonly messageSerial: string;
  readonly mutation: MutationInput;
  readonly actor: MutationActor;
  readonly excludeSocketId?: string | undefined;
}

export interface MutationOutcome {
  readonly receipt: MutationReceipt;
  readonly status: 'applied' | 'duplicate';
}

export interface PublisherDeps {
  readonly nodeId: string;
  readonly now: () => number;
  readonly settings: ChannelSettingsResolver;
  readonly history: HistoryStore;
  readonly versions: VersionStore;
  readonly claims: PublishClaimStore;
  readonly activeStreams: ActiveStreamRegistry;
  readonly serials: SerialGenerator;
  readonly gate: OrderingGate;
  /** Delivery (local fanout, and in a cluster the horizontal transport). */
  readonly deliver: (m: ChannelSignal) => void;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Deadline of each store call (history.writeTimeoutMs). */
  readonly storeTimeoutMs: number;
  /** orphan TTL: the active-stream registry entries live twice that plus a minute (7.4). */
  readonly orphanTtlMs: number;
  /** Concurrent-replay wait of a pending idempotency claim (3.4: 6 × 50 ms). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** CAS retries of one mutation before answering a retryable 503. */
const MAX_CAS_ATTEMPTS = 8;
const CLAIM_PENDING_TTL_MS = 30_000;
const CLAIM_COMMITTED_TTL_MS = 24 * 60 * 60 * 1000;

function gateKey(appId: string, channel: string): string {
  return `${appId.length}:${appId}|${channel}`;
}

function unavailable(what: string, cause?: unknown): AitError {
  return aitError('AIT_ERR_UNAVAILABLE', { reason: `${what}; retry later` }, { retryAfterSeconds: 1, cause });
}

/** The layer-2 idempotency key: message_id > extras.idempotencyKey > idempotency_key (3.4). */
export function publishKey(input: PublishInput): string | undefined {
  const extras = input.extras as Record<string, unknown> | undefined;
  const fromExtras = extras?.['idempotencyKey'] ?? extras?.['idempotency_key'];
  return input.messageId ?? (typeof fromExtras === 'string' ? fromExtras : undefined) ?? input.idempotencyKey;
}

/** The canonical payload whose hash tells a replay from a conflicting reuse of a key. */
export function publishFingerprint(input: PublishInput): string {
  return sha256Hex(
    canonicalJson({ event: input.event, data: input.data, extras: input.extras ?? null, tags: input.tags ?? null }),
  );
}

function ackOf(r: PublishReceipt, duplicate: boolean): PublishAck {
  return {
    acknowledgement_id: r.acknowledgementId,
    ...(r.messageSerial !== undefined && { message_serial: r.messageSerial }),
    ...(r.historySerial !== undefined && { history_serial: r.historySerial }),
    ...(r.deliverySerial !== undefined && { delivery_serial: r.deliverySerial }),
    ...(r.versionSerial !== undefined && { version_serial: r.versionSerial }),
    duplicate,
  };
}

export class ChannelPublisher {
  readonly #d: PublisherDeps;
  readonly #log: Logger;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #owner: string;
  /** AI Transport run/stream metrics of committed messages on AI channels. */
  readonly ai: AiObserver;
  /**
   * Channels whose last durable write failed because the store was unreachable: the node-local
   * view of `degraded` while the store cannot record it itself (STATE_REASONS.storeUnavailable).
   * Cleared by the channel's next successful write; bounded.
   */
  readonly #degradedHints = new Map<string, string>();

  constructor(deps: PublisherDeps) {
    this.#d = deps;
    this.ai = new AiObserver({ metrics: deps.metrics, now: deps.now, orphanTtlMs: deps.orphanTtlMs });
    this.#log = deps.logger.child({ component: 'publisher' });
    this.#sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#owner = `${deps.nodeId}:${randomUUID()}`;
  }

  settingsOf(appId: string, channel: string): ChannelSettings {
    return this.#d.settings.get(appId, channel);
  }

  /** Operations waiting behind the ordering gates of every channel. */
  get pending(): number {
    return this.#d.gate.pending;
  }

  /** Channels per app whose last write failed on an unreachable store (see #degradedHints). */
  degradedHintsByApp(): Map<string, number> {
    const out = new Map<string, number>();
    for (const app of this.#degradedHints.values()) out.set(app, (out.get(app) ?? 0) + 1);
    return out;
  }

  /** Queued operations per app (the `history_queue_depth` gauge). */
  pendingByApp(): Map<string, number> {
    const out = new Map<string, number>();
    this.#d.gate.forEachLane((key, depth) => {
      const sep = key.indexOf(':');
      const len = Number(key.slice(0, sep));
      const app = key.slice(sep + 1, sep + 1 + len);
      out.set(app, (out.get(app) ?? 0) + depth);
    });
    return out;
  }

  /** Resolves once every queued publish and mutation has settled, or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#d.gate.idle(),
      new Promise<void>((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return this.#d.gate.pending;
  }

  // --- publish -------------------------------------------------------------------------------

  /**
   * Publishes one event to one channel. History channels: dedupe by key, then under the gate a
   * history row (+ a version commit when versioned), then delivery. Others: delivered at once.
   * Throws AitError (400 on a conflicting key reuse, 413 on limits, 503 when the store fails).
   */
  async publish(input: PublishInput): Promise<PublishAck> {
    const settings = this.#d.settings.get(input.appId, input.channel);
    const ephemeral = (input.extras as Record<string, unknown> | undefined)?.['ephemeral'] === true;
    if (!settings.history || ephemeral) {
      this.#emit(settings, this.#eventMessage(input));
      return { ...(input.messageId !== undefined && { acknowledgement_id: input.messageId }), duplicate: false };
    }
    const key = publishKey(input);
    const commit = () => this.#durable(input.appId, input.channel, () => this.#commitPublish(input, settings));
    if (key === undefined) return this.#gated(input, commit);
    const fingerprint = publishFingerprint(input);
    const claim = await this.#claim(input, key, fingerprint);
    if (claim) return claim;
    try {
      const ack = await this.#gated(input, commit);
      const receipt: PublishReceipt = {
        acknowledgementId: ack.acknowledgement_id ?? key,
        ...(ack.message_serial !== undefined && { messageSerial: ack.message_serial }),
        ...(ack.history_serial !== undefined && { historySerial: ack.history_serial }),
        ...(ack.delivery_serial !== undefined && { deliverySerial: ack.delivery_serial }),
        ...(ack.version_serial !== undefined && { versionSerial: ack.version_serial }),
      };
      await this.#store('idempotency commit', () =>
        this.#d.claims.commit(
          input.appId,
          input.channel,
          key,
          fingerprint,
          this.#owner,
          receipt,
          CLAIM_COMMITTED_TTL_MS,
        ),
      ).catch((err: unknown) => {
        // Published and delivered: a failed receipt write only weakens a later replay's dedupe.
        this.#log.warn({ err, appId: input.appId }, 'idempotency receipt not stored');
      });
      return ack;
    } catch (err) {
      await this.#d.claims.release(input.appId, input.channel, key, this.#owner).catch(() => undefined);
      throw err;
    }
  }

  /** Layer-2 claim: undefined = ours, go on; an ack = answered from an earlier publish. */
  async #claim(input: PublishInput, key: string, fingerprint: string): Promise<PublishAck | undefined> {
    for (let attempt = 0; ; attempt++) {
      const c = await this.#store('idempotency claim', () =>
        this.#d.claims.claim(input.appId, input.channel, key, fingerprint, this.#owner, CLAIM_PENDING_TTL_MS),
      );
      if (c.status === 'new') return undefined;
      if (c.status === 'committed') {
        this.#d.metrics.idempotencyDuplicatesTotal.inc({ app_id: input.appId });
        return ackOf(c.receipt, true);
      }
      if (c.status === 'conflict') {
        throw aitError('AIT_ERR_INVALID_INPUT', {
          reason: 'idempotency key was already used with a different payload',
        });
      }
      // pending: the same publish is in flight elsewhere; wait a little, then back off (3.4).
      if (attempt >= 6) {
        throw aitError(
          'AIT_ERR_BACKPRESSURE',
          { reason: 'the same publish is already in progress' },
          { retryAfterSeconds: 1 },
        );
      }
      await this.#sleep(50);
    }
  }

  #gated<T>(input: { appId: string; channel: string }, fn: () => Promise<T>): Promise<T> {
    return this.#d.gate.run(gateKey(input.appId, input.channel), fn).catch((err: unknown) => {
      if (err instanceof GateFullError) {
        throw aitError(
          'AIT_ERR_BACKPRESSURE',
          { reason: `too many pending publishes on this channel (${err.pending})` },
          { retryAfterSeconds: 1 },
        );
      }
      throw err;
    });
  }

  /** Hands a committed message to delivery (and to the AI observer on AI channels). */
  #emit(settings: ChannelSettings, m: ChannelMessage): void {
    if (settings.ai) this.ai.committed(m);
    this.#d.deliver(m);
  }

  #eventMessage(input: PublishInput, history?: { serial: number; streamId: string }): ChannelMessage {
    return {
      kind: 'event',
      appId: input.appId,
      channel: input.channel,
      event: input.event,
      data: input.data,
      ...(input.userId !== undefined && { userId: input.userId }),
      ...(input.messageId !== undefined && { messageId: input.messageId }),
      ...(input.tags !== undefined && { tags: input.tags }),
      ...(input.extras !== undefined && { extras: input.extras as Record<string, unknown> }),
      ...(input.excludeSocketId !== undefined && { excludeSocketId: input.excludeSocketId }),
      ...(history && { serial: history.serial, streamId: history.streamId }),
    };
  }

  async #commitPublish(input: PublishInput, settings: ChannelSettings): Promise<PublishAck> {
    const { appId, channel } = input;
    // History or recovery is on: every message gets a stable id clients can dedupe by (3.3).
    const messageId = input.messageId ?? randomUUID();
    if (!settings.versioned) {
      const appended = await this.#writeHistory(appId, channel, settings, {
        messageId,
        eventName: input.event,
        message: this.#storedMessage(input, messageId),
      });
      this.#emit(
        settings,
        this.#eventMessage({ ...input, messageId }, { serial: appended.historySerial, streamId: appended.streamId }),
      );
      return { acknowledgement_id: messageId, history_serial: appended.historySerial, duplicate: false };
    }

    const streaming = isStreaming(input.extras);
    const maxOpen = settings.limits.maxOpenStreamingMessagesPerChannel;
    if (streaming && maxOpen !== undefined) {
      // Checked again atomically by commitCreate; this early check keeps the history row from
      // being written for a create the version store would refuse.
      const open = await this.#store('open stream count', () => this.#d.versions.openStreamingCount(appId, channel));
      if (open >= maxOpen) throw this.#openStreamsError(maxOpen, input);
    }
    const messageSerial = this.#d.serials.next();
    const appended = await this.#writeHistory(appId, channel, settings, {
      messageId,
      eventName: input.event,
      operationKind: operationOf('create'),
      messageSerial,
      message: this.#storedMessage(input, messageId, messageSerial),
    });
    const applied = applyMutation(
      undefined,
      {
        action: 'create',
        name: input.event,
        data: input.data,
        extras: input.extras,
        client_id: input.userId,
        message_id: messageId,
        history_serial: appended.historySerial,
      },
      settings.limits,
      { version_serial: messageSerial, delivery_serial: 1, timestamp_ms: this.#d.now() },
    );
    if (!applied.ok) throw mutationErrorToAitError(applied.error, channel);
    if (applied.status !== 'applied') throw aitError('AIT_ERR_INTERNAL');
    const outcome = await this.#store('version commit', () =>
      this.#d.versions.commitCreate(appId, channel, {
        next: applied.next,
        streaming,
        ...(maxOpen !== undefined && { maxOpenStreaming: maxOpen }),
      }),
    );
    this.#countMutation(appId, 'create', outcome.status === 'committed' ? 'applied' : outcome.status);
    if (outcome.status === 'limit_exceeded') throw this.#openStreamsError(outcome.max, input);
    if (outcome.status !== 'committed') {
      // `exists` / `stale_version_serial` cannot happen for a fresh server serial; refuse safely.
      this.#log.error({ appId, status: outcome.status }, 'version create refused');
      throw unavailable('the message could not be versioned');
    }
    const record = outcome.record;
    if (streaming) await this.#trackActive(appId, channel, record);
    this.#emit(settings, {
      kind: 'version',
      appId,
      channel,
      streamId: outcome.streamId,
      record,
      terminal: false,
      ...(input.excludeSocketId !== undefined && { excludeSocketId: input.excludeSocketId }),
    });
    return {
      acknowledgement_id: messageSerial,
      message_serial: messageSerial,
      history_serial: record.history_serial,
      delivery_serial: record.delivery_serial,
      version_serial: record.version_serial,
      duplicate: false,
    };
  }

  #openStreamsError(max: number, input: PublishInput): AitError {
    return aitError(
      'AIT_ERR_PAYLOAD_TOO_LARGE',
      { reason: `open streaming message count exceeds ${max}` },
      { channel: input.channel },
    );
  }

  #storedMessage(input: PublishInput, messageId: string, messageSerial?: string): Record<string, unknown> {
    return {
      event: input.event,
      channel: input.channel,
      data: input.data,
      message_id: messageId,
      ...(input.userId !== undefined && { user_id: input.userId }),
      ...(input.tags !== undefined && { tags: input.tags }),
      ...(input.extras !== undefined && { extras: input.extras }),
      ...(messageSerial !== undefined && { message_serial: messageSerial }),
    };
  }

  async #writeHistory(
    appId: string,
    channel: string,
    settings: ChannelSettings,
    row: Parameters<HistoryStore['append']>[2],
  ): Promise<{ historySerial: number; streamId: string }> {
    const r = await this.#store('history write', () => this.#d.history.append(appId, channel, row, settings.retention));
    if (r.evictedMessages > 0) {
      const labels = { app_id: appId };
      this.#d.metrics.historyEvictionsTotal.inc(labels, r.evictedMessages);
      this.#d.metrics.historyEvictedBytesTotal.inc(labels, r.evictedBytes);
    }
    if (r.durableState === 'degraded') {
      // The write went through: the store is back. Clearing is idempotent and best effort.
      void this.#d.history.clearDegraded(appId, channel).catch(() => undefined);
    }
    return { historySerial: r.historySerial, streamId: r.streamId };
  }

  /**
   * One durable operation of a channel (a publish's rows and version, or a mutation): counted in
   * `history_writes_total` / `history_write_failures_total` with its latency. A failure because
   * the store is unreachable marks the channel degraded — in the store when it can still be
   * reached, and in this node's hints either way (F3) — until its next successful write.
   */
  async #durable<T>(appId: string, channel: string, op: () => Promise<T>): Promise<T> {
    const m = this.#d.metrics;
    const labels = { app_id: appId };
    const key = gateKey(appId, channel);
    const t0 = performance.now();
    try {
      const out = await op();
      m.historyWritesTotal.inc(labels);
      m.historyWriteLatencyMs.observe(labels, performance.now() - t0);
      this.#degradedHints.delete(key);
      return out;
    } catch (err) {
      if (err instanceof AitError && err.code === 'AIT_ERR_UNAVAILABLE') {
        m.historyWriteFailuresTotal.inc(labels);
        this.#degradedHints.delete(key);
        this.#degradedHints.set(key, appId);
        if (this.#degradedHints.size > 100_000) {
          this.#degradedHints.delete(this.#degradedHints.keys().next().value as string);
        }
        void this.#d.history.markDegraded(appId, channel, STATE_REASONS.writeFailed).catch(() => undefined);
      }
      throw err;
    }
  }

  // --- mutations -----------------------------------------------------------------------------

  /**
   * Appends to, updates or deletes a versioned message (PROTOCOL.md 4.3) under the channel's
   * gate, by compare-and-swap on its latest version, and delivers the committed version.
   */
  async mutate(input: MutateInput): Promise<MutationOutcome> {
    const settings = this.#d.settings.get(input.appId, input.channel);
    if (!settings.versioned) {
      throw settings.ai
        ? aitError('AIT_ERR_MUTABLE_NOT_PERMITTED')
        : aitError('AIT_ERR_FEATURE_DISABLED', { reason: 'versioned messages are not enabled for this channel' });
    }
    if (!input.actor.privileged && !this.#mayMutateAtAll(input)) {
      this.#countMutation(input.appId, input.mutation.action, 'auth_failed');
      throw aitError('AIT_ERR_MUTABLE_NOT_PERMITTED');
    }
    return this.#gated(input, () =>
      this.#durable(input.appId, input.channel, () => this.#commitMutation(input, settings)),
    );
  }

  /** A non-privileged actor needs publish on the channel when it is a token connection (4.2). */
  #mayMutateAtAll(input: MutateInput): boolean {
    const actor = input.actor;
    if (actor.privileged) return true;
    const caps = actor.capabilities;
    if (caps?.source === 'token' && !can(caps, 'publish', input.channel)) return false;
    const body = input.mutation.client_id;
    return body === undefined || body === actor.clientId;
  }

  #authorized(input: MutateInput, creator: string | undefined): boolean {
    const actor = input.actor;
    if (actor.privileged) return true;
    const op = input.mutation.action;
    const caps = actor.capabilities;
    if (can(caps, `message-${op}-any`, input.channel)) return true;
    if (!can(caps, `message-${op}-own`, input.channel)) return false;
    return actor.clientId !== undefined && creator !== undefined && actor.clientId === creator;
  }

  async #commitMutation(input: MutateInput, settings: ChannelSettings): Promise<MutationOutcome> {
    const { appId, channel, messageSerial, mutation } = input;
    const op = mutation.op_id !== undefined ? { action: mutation.action, opId: mutation.op_id } : undefined;
    let snap = await this.#store('version snapshot', () =>
      this.#d.versions.snapshot(appId, channel, messageSerial, op),
    );
    for (let attempt = 1; ; attempt++) {
      const latest = snap.latest;
      if (!latest && snap.durableState === 'reset_required') {
        // The store lost the channel (e.g. Redis restarted empty) and only this message's
        // versions were asked for: record the loss in history too — what the gauges, alerts
        // and /admin/channels read — and say why the message is gone.
        await this.#store('history state', () => this.#d.history.state(appId, channel)).catch(() => undefined);
        throw aitError(
          'AIT_ERR_NOT_FOUND',
          {
            reason:
              'message not found: the channel lost its durable history (reset_required, durable_stream_lost); reset the channel',
          },
          { channel },
        );
      }
      if (!latest) throw aitError('AIT_ERR_NOT_FOUND', { reason: 'message not found' }, { channel });
      if (!this.#authorized(input, latest.creator_client_id)) {
        this.#countMutation(appId, mutation.action, 'auth_failed');
        throw aitError('AIT_ERR_MUTABLE_NOT_PERMITTED');
      }
      const prev = latest.latest;
      const applied = applyMutation(latest, mutation, settings.limits, {
        version_serial: this.#d.serials.next(prev.version_serial),
        delivery_serial: Math.max(snap.nextDeliverySerial, prev.delivery_serial + 1),
        timestamp_ms: this.#d.now(),
        prior_op: snap.priorOp,
      });
      if (!applied.ok) {
        if (applied.error.retryable && attempt < MAX_CAS_ATTEMPTS) continue;
        throw mutationErrorToAitError(applied.error, channel);
      }
      if (applied.status === 'duplicate') {
        this.#countMutation(appId, mutation.action, 'duplicate');
        return { receipt: applied.receipt, status: 'duplicate' };
      }
      const capError = checkOpenStreams(latest, applied.next, snap.openStreaming, settings.limits);
      if (capError) throw mutationErrorToAitError(capError, channel);
      const streaming = isStreaming(applied.next.latest.extras);
      const maxOpen = settings.limits.maxOpenStreamingMessagesPerChannel;
      const outcome = await this.#store('version commit', () =>
        this.#d.versions.commitMutation(appId, channel, messageSerial, {
          expectedLatestVersionSerial: prev.version_serial,
          next: applied.next,
          streaming,
          ...(maxOpen !== undefined && { maxOpenStreaming: maxOpen }),
        }),
      );
      switch (outcome.status) {
        case 'committed': {
          this.#countMutation(appId, mutation.action, 'applied');
          const record = outcome.record;
          if (streaming) await this.#trackActive(appId, channel, record);
          else if (isStreaming(prev.extras)) await this.#untrackActive(appId, channel, record);
          this.#emit(settings, {
            kind: 'version',
            appId,
            channel,
            streamId: outcome.streamId,
            record,
            terminal: record.action === 'append' && isTerminalTransport(record.extras),
            ...(input.excludeSocketId !== undefined && { excludeSocketId: input.excludeSocketId }),
          });
          return {
            status: 'applied',
            receipt: {
              message_serial: record.message_serial,
              action: mutation.action,
              version_serial: record.version_serial,
              history_serial: record.history_serial,
              delivery_serial: record.delivery_serial,
            },
          };
        }
        case 'duplicate':
          this.#countMutation(appId, mutation.action, 'duplicate');
          return {
            status: 'duplicate',
            receipt: {
              message_serial: outcome.receipt.message_serial,
              action: outcome.receipt.action,
              version_serial: outcome.receipt.version_serial,
              history_serial: outcome.receipt.history_serial,
              delivery_serial: outcome.receipt.delivery_serial,
            },
          };
        case 'op_conflict':
          throw aitError('AIT_ERR_INVALID_INPUT', { reason: 'op_id was already used with a different payload' });
        case 'not_found':
          throw aitError('AIT_ERR_NOT_FOUND', { reason: 'message not found' }, { channel });
        case 'limit_exceeded':
          throw aitError(
            'AIT_ERR_PAYLOAD_TOO_LARGE',
            { reason: `open streaming message count exceeds ${outcome.max}` },
            { channel },
          );
        case 'conflict':
          if (attempt >= MAX_CAS_ATTEMPTS) throw unavailable('the message is being changed concurrently');
          snap = outcome.snapshot;
          continue;
        case 'stale_version_serial':
        case 'exists':
          if (attempt >= MAX_CAS_ATTEMPTS) throw unavailable('the message is being changed concurrently');
          snap = await this.#store('version snapshot', () =>
            this.#d.versions.snapshot(appId, channel, messageSerial, op),
          );
          continue;
      }
    }
  }

  #countMutation(appId: string, action: string, result: string): void {
    this.#d.metrics.versionedMessageMutationsTotal.inc({
      app_id: appId,
      action: action.startsWith('message.') ? action : `message.${action}`,
      result,
    });
  }

  // --- reset and purge (PROTOCOL.md 6.2, decision 11) ----------------------------------------

  /**
   * Purges the channel's history and versions and starts a new epoch, under the channel's gate
   * so no publish interleaves; then tells every node's subscribers to re-sync.
   */
  async reset(appId: string, channel: string, req: ResetRequest): Promise<ResetResult> {
    return this.#gated({ appId, channel }, async () => {
      const result = await this.#store('history reset', () => this.#d.history.reset(appId, channel, req));
      const versions = await this.#store('version reset', () => this.#d.versions.reset(appId, channel, req.reason));
      this.#log.warn(
        { appId, previousStreamId: result.previousStreamId, newStreamId: result.newStreamId, by: req.requestedBy },
        'channel history reset',
      );
      // Subscribers know the stream id their frames carry: the version stream on versioned
      // channels, the history stream otherwise.
      const ids = this.#d.settings.get(appId, channel).versioned ? versions : result;
      this.#d.deliver({
        kind: 'reset',
        appId,
        channel,
        previousStreamId: ids.previousStreamId,
        newStreamId: ids.newStreamId,
      });
      return result;
    });
  }

  /** Removes history rows (all, or before a serial or time); the epoch and versions stay. */
  async purge(appId: string, channel: string, req: PurgeRequest): Promise<PurgeResult> {
    return this.#gated({ appId, channel }, () =>
      this.#store('history purge', () => this.#d.history.purge(appId, channel, req)),
    );
  }

  // --- active streams (PROTOCOL.md 7.4) ------------------------------------------------------

  async #trackActive(appId: string, channel: string, record: VersionRecord): Promise<void> {
    const ttlMs = Math.ceil((2 * this.#d.orphanTtlMs) / 1000) * 1000 + 60_000;
    await this.#store('active stream upsert', () =>
      this.#d.activeStreams.upsert(
        {
          appId,
          channel,
          messageSerial: record.message_serial,
          versionSerial: record.version_serial,
          historySerial: record.history_serial,
          deliverySerial: record.delivery_serial,
        },
        ttlMs,
      ),
    ).catch((err: unknown) => {
      // Committed and about to be delivered; the registry is advisory (the janitor re-reads).
      this.#log.warn({ err, appId }, 'active-stream registry upsert failed');
    });
  }

  async #untrackActive(appId: string, channel: string, record: VersionRecord): Promise<void> {
    await this.#store('active stream remove', () =>
      this.#d.activeStreams.remove(appId, channel, record.message_serial, record.delivery_serial),
    ).catch((err: unknown) => this.#log.warn({ err, appId }, 'active-stream registry remove failed'));
  }

  // --- store calls ---------------------------------------------------------------------------

  /** One store call with its deadline; retryable failures become a 503 the client may retry. */
  async #store<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(call(), this.#d.storeTimeoutMs, what);
    } catch (err) {
      if (isRetryableStoreError(err)) throw unavailable('the message store is unavailable', err);
      if (isHistoryError(err)) throw historyErrorToAitError(err);
      throw err;
    }
  }
}
