// The cluster bus of one node: what the publisher's committed messages go through (the engine's
// `broadcast`) when the node runs in a cluster. Each message is published once on the horizontal
// transport and handed to this node's own pipeline; messages of other nodes come in from the
// transport. Both pass the per-channel orderer (orderer.ts: serial order, dedupe, gap repair from
// the store), then delivery. Appends of other nodes arrive without their aggregate (envelope.ts);
// when this node has full-mode sockets on the channel the aggregate is completed first (from a
// small cache of the channel's recent aggregates, else the version store), in order.
import type { Logger } from 'pino';
import { isTerminalTransport } from '../ai/validate.ts';
import type { HistoryStore } from '../history/store.ts';
import type { VersionStore } from '../history/version-store.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { ChannelMessage, ChannelSignal, VersionMessage } from '../pipeline/message.ts';
import { withTimeout } from '../stores/timeout.ts';
import { type ControlSignal, decodeEnvelope, encodeEnvelope } from './envelope.ts';
import { ChannelOrderer } from './orderer.ts';
import { TRANSPORT_DRIVER } from './redis-transport.ts';

/** The transport as the bus uses it (redis-transport.ts, or an in-process one in tests). */
export interface Transport {
  publish(appId: string, channel: string, text: string): void;
}

export interface BusDeps {
  readonly nodeId: string;
  readonly transport: Transport;
  readonly history: HistoryStore;
  readonly versions: VersionStore;
  /** Delivery on this node (engine.deliver). */
  readonly deliver: (signal: ChannelSignal) => void;
  /** Cluster-wide socket effects, applied to this node's sockets; returns the sockets closed. */
  readonly applyControl: (c: ControlSignal) => number;
  /** Whether this node has full-mode sockets on the channel (they need aggregates). */
  readonly needsAggregate: (appId: string, channel: string) => boolean;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly storeTimeoutMs: number;
  readonly gapTimeoutMs: number;
  readonly maxPendingPerChannel: number;
}

const MAX_TRACKED_CHANNELS = 100_000;
const MAX_AGGREGATES = 10_000;
const REPAIR_PAGE = 1000;
/** Catch-up retries while the store is not back: 200 ms doubling to 5 s, about a minute in all. */
const CATCH_UP_ATTEMPTS = 16;
const CATCH_UP_BASE_DELAY_MS = 200;
const CATCH_UP_MAX_DELAY_MS = 5000;

function channelKey(appId: string, channel: string): string {
  return `${appId.length}:${appId}|${channel}`;
}

export class ClusterBus {
  readonly #d: BusDeps;
  readonly #log: Logger;
  readonly #orderer: ChannelOrderer;
  /** Per-channel chains while an aggregate is being completed (keeps delivery in order). */
  readonly #chains = new Map<string, Promise<void>>();
  /** app/channel/message_serial → the aggregate as of version_serial (full-mode completion). */
  readonly #aggregates = new Map<string, { versionSerial: string; data: string }>();
  readonly #labels = { driver: TRANSPORT_DRIVER };
  #catchUpGeneration = 0;
  #stopped = false;

  constructor(deps: BusDeps) {
    this.#d = deps;
    this.#log = deps.logger.child({ component: 'cluster-bus' });
    this.#orderer = new ChannelOrderer({
      now: Date.now,
      setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
      deliver: (s) => this.#deliver(s),
      repair: (appId, channel, kind, from, to) => this.#fetch(appId, channel, kind, from, to),
      gapTimeoutMs: deps.gapTimeoutMs,
      maxPendingPerChannel: deps.maxPendingPerChannel,
      maxChannels: MAX_TRACKED_CHANNELS,
      onDuplicate: () => deps.metrics.horizontalTransportDuplicatesTotal.inc(this.#labels),
      onGap: (result, count, where) => {
        deps.metrics.horizontalTransportGapsTotal.inc({ ...this.#labels, result }, count);
        const line = { appId: where.appId, count, result };
        if (result === 'unrecoverable') this.#log.warn(line, 'transport gap not in the store; skipped');
        else this.#log.info(line, 'transport gap repaired from the store');
      },
    });
  }

  /** Messages held for an earlier serial (the queue-depth gauge adds the transport's own). */
  get held(): number {
    return this.#orderer.held;
  }

  /** The engine's `broadcast`: one message committed on this node. */
  broadcast(signal: ChannelSignal): void {
    this.#d.transport.publish(signal.appId, signal.channel, encodeEnvelope(this.#d.nodeId, signal));
    this.#orderer.accept(signal);
  }

  /** A subscriber attached here at `next` (from the store): order the channel from there (orderer.expect). */
  expect(appId: string, channel: string, kind: ChannelMessage['kind'], streamId: string, next: number): void {
    this.#orderer.expect(appId, channel, kind, streamId, next);
  }

  /** A revocation or termination: applied here and on every other node; returns local closes. */
  control(c: ControlSignal): number {
    this.#d.transport.publish(c.appId, '', encodeEnvelope(this.#d.nodeId, c));
    return this.#d.applyControl(c);
  }

  /** Text from the transport (another node's envelope, or our own echo, which is skipped). */
  receive(text: string): void {
    const env = decodeEnvelope(text);
    if (!env) {
      this.#d.metrics.horizontalTransportMessagesDroppedTotal.inc(this.#labels);
      this.#log.warn({ bytes: text.length }, 'malformed transport message dropped');
      return;
    }
    if (env.n === this.#d.nodeId) return;
    const p = env.p;
    if (p.kind === 'revoke' || p.kind === 'terminate') {
      this.#d.applyControl(p);
      return;
    }
    this.#orderer.accept(p);
  }

  /**
   * After the subscription came back: fetch what was committed meanwhile on tracked channels.
   * The store may come back later than pub/sub (both were cut off): the channels it could not
   * read are tried again with backoff and full jitter, until they are read or a newer catch-up
   * takes over — otherwise a stream that ended during the outage would stay behind on this node.
   */
  async catchUp(): Promise<number> {
    const generation = ++this.#catchUpGeneration;
    let pending: Iterable<{ appId: string; channel: string }> = this.#orderer.channels();
    let delivered = 0;
    for (let attempt = 0; attempt < CATCH_UP_ATTEMPTS && !this.#stopped; attempt++) {
      const r = await this.#orderer.catchUp(pending, (appId, channel, kind) => this.#head(appId, channel, kind));
      delivered += r.delivered;
      if (r.failed.length === 0) break;
      if (attempt === CATCH_UP_ATTEMPTS - 1) {
        this.#log.warn({ channels: r.failed.length }, 'catch-up gave up; those channels repair at their next message');
        break;
      }
      const cap = Math.min(CATCH_UP_MAX_DELAY_MS, CATCH_UP_BASE_DELAY_MS * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * cap).unref());
      if (generation !== this.#catchUpGeneration) return delivered;
      pending = r.failed;
    }
    if (delivered > 0) this.#log.info({ delivered }, 'caught up after the transport reconnected');
    return delivered;
  }

  async #head(appId: string, channel: string, kind: ChannelMessage['kind']): Promise<number> {
    if (kind === 'version') {
      const s = await withTimeout(this.#d.versions.streamState(appId, channel), this.#d.storeTimeoutMs, 'state');
      return s.nextDeliverySerial - 1;
    }
    const s = await withTimeout(this.#d.history.state(appId, channel), this.#d.storeTimeoutMs, 'state');
    return s.nextSerial - 1;
  }

  stop(): void {
    this.#stopped = true;
    this.#orderer.stop();
  }

  // --- delivery with aggregate completion ------------------------------------------------

  #deliver(signal: ChannelSignal): void {
    if (signal.kind === 'reset') {
      this.#dropAggregates(signal.appId, signal.channel);
      this.#d.deliver(signal);
      return;
    }
    const key = channelKey(signal.appId, signal.channel);
    const full = signal.kind === 'version' && this.#d.needsAggregate(signal.appId, signal.channel);
    const incomplete =
      full && signal.kind === 'version' && signal.record.action === 'append' && signal.record.data === undefined;
    // In delivery order: remember aggregates while full-mode sockets are here; otherwise forget
    // the message's, which would go stale — a full-mode socket joining later would get it
    // completed with fragments missing.
    const step = (m: ChannelMessage) => {
      if (m.kind === 'version') {
        if (full) this.#remember(m);
        else if (this.#aggregates.size > 0) this.#aggregates.delete(this.#aggKey(m, m.record.message_serial));
      }
      this.#d.deliver(m);
    };
    const chain = this.#chains.get(key);
    if (!chain && !incomplete) {
      step(signal);
      return;
    }
    const next = (chain ?? Promise.resolve()).then(async () => {
      step(incomplete ? await this.#complete(signal as VersionMessage) : signal);
    });
    const settled = next.catch((err: unknown) => this.#log.error({ err }, 'delivery after completion failed'));
    this.#chains.set(key, settled);
    void settled.then(() => {
      if (this.#chains.get(key) === settled) this.#chains.delete(key);
    });
  }

  #aggKey(m: { appId: string; channel: string }, ms: string): string {
    return `${channelKey(m.appId, m.channel)}|${ms}`;
  }

  #remember(m: VersionMessage): void {
    const r = m.record;
    if (typeof r.data !== 'string') return;
    const k = this.#aggKey(m, r.message_serial);
    this.#aggregates.delete(k);
    this.#aggregates.set(k, { versionSerial: r.version_serial, data: r.data });
    if (this.#aggregates.size > MAX_AGGREGATES) this.#aggregates.delete(this.#aggregates.keys().next().value as string);
  }

  #dropAggregates(appId: string, channel: string): void {
    const prefix = `${channelKey(appId, channel)}|`;
    for (const k of [...this.#aggregates.keys()]) if (k.startsWith(prefix)) this.#aggregates.delete(k);
  }

  /** The aggregate of an append that arrived without it: cached predecessor + fragment, else the store. */
  async #complete(m: VersionMessage): Promise<VersionMessage> {
    const r = m.record;
    const cached = this.#aggregates.get(this.#aggKey(m, r.message_serial));
    if (cached) {
      const data = r.version_serial > cached.versionSerial ? cached.data + (r.fragment ?? '') : cached.data;
      return { ...m, record: { ...r, data } };
    }
    try {
      const latest = await withTimeout(
        this.#d.versions.latest(m.appId, m.channel, r.message_serial),
        this.#d.storeTimeoutMs,
        'latest read',
      );
      // The latest may be ahead of this version: a full-mode socket then sees newer text early,
      // and the later versions it already contains leave it unchanged.
      const data = typeof latest?.latest.data === 'string' ? latest.latest.data : (r.fragment ?? '');
      return { ...m, record: { ...r, data } };
    } catch {
      return { ...m, record: { ...r, data: r.fragment ?? '' } };
    }
  }

  // --- repair ------------------------------------------------------------------------------

  async #fetch(
    appId: string,
    channel: string,
    kind: ChannelMessage['kind'],
    from: number,
    to: number,
  ): Promise<ChannelMessage[]> {
    const t = this.#d.storeTimeoutMs;
    const limit = Math.min(REPAIR_PAGE, to - from + 1);
    if (limit < 1) return [];
    if (kind === 'version') {
      const page = await withTimeout(this.#d.versions.replayAfter(appId, channel, from - 1, limit), t, 'replay');
      const latest = new Map(page.latest.map((a) => [a.latest.message_serial, a]));
      return page.items.map((record) => {
        const agg = latest.get(record.message_serial);
        const complete =
          agg && agg.latest.version_serial === record.version_serial ? { ...record, data: agg.latest.data } : record;
        return {
          kind: 'version',
          appId,
          channel,
          streamId: page.stream.streamId,
          record: complete,
          terminal: record.action === 'append' && isTerminalTransport(record.extras),
        } satisfies VersionMessage;
      });
    }
    const page = await withTimeout(
      this.#d.history.read({
        appId,
        channel,
        direction: 'oldest_first',
        limit,
        bounds: { startSerial: from, endSerial: to },
      }),
      t,
      'history read',
    );
    return page.items.map((row) => {
      const m = row.message as Record<string, unknown>;
      return {
        kind: 'event',
        appId,
        channel,
        event: row.eventName,
        data: m.data,
        messageId: row.messageId,
        serial: row.historySerial,
        streamId: row.streamId,
        ...(typeof m.user_id === 'string' && { userId: m.user_id }),
        ...(typeof m.extras === 'object' && m.extras !== null && { extras: m.extras as Record<string, unknown> }),
        ...(typeof m.tags === 'object' && m.tags !== null && { tags: m.tags as Record<string, string> }),
      };
    });
  }
}
