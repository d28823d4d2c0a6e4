// The horizontal transport over Redis pub/sub (PROTOCOL.md 8): every node PUBLISHes each
// committed message once and SUBSCRIBEs to what the others publish. Standalone Redis uses one
// channel `<prefix>transport`; a Redis Cluster uses sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7)
// on `shards` channels `<prefix>transport:{<i>}` whose hash tags spread them over the masters,
// a channel's messages always on the same shard (so they keep their order).
//
// Publishing never waits on Redis for the caller: the message is already durable (the store
// committed it), so a failed or timed-out publish is counted as dropped and the receivers'
// gap detection repairs it from the store. Outbound work is bounded (`maxInFlight`); past it
// messages are dropped and counted the same way. A subscription that reconnects is counted, and
// `onResubscribed` lets the bus catch up on what it may have missed.
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConnection } from '../stores/redis/index.ts';
import { ConnectionLiveness } from '../stores/redis/liveness.ts';

export interface TransportMetrics {
  readonly queueDepth: (n: number) => void;
  readonly dropped: (n: number) => void;
  readonly reconnected: () => void;
}

export interface RedisTransportOptions {
  readonly connection: RedisConnection;
  readonly logger: Logger;
  readonly metrics: TransportMetrics;
  /** Sharded pub/sub channels in Cluster mode (fixed for a cluster's lifetime). */
  readonly shards: number;
  /** Publishes in flight at once; past it, dropped (repaired from the store by receivers). */
  readonly maxInFlight: number;
  readonly onMessage: (text: string) => void;
  readonly onResubscribed: () => void;
  /** PING period of the subscriber connection (standalone); 0: no health check. */
  readonly pingIntervalMs?: number;
}

export const TRANSPORT_DRIVER = 'redis';

/** The shard of a channel: stable, uniform (first 4 bytes of sha1). */
export function shardOf(appId: string, channel: string, shards: number): number {
  const h = createHash('sha1').update(appId).update('\u0000').update(channel).digest();
  return h.readUInt32BE(0) % shards;
}

export class RedisTransport {
  readonly #o: RedisTransportOptions;
  readonly #log: Logger;
  readonly #cluster: boolean;
  readonly #channels: string[];
  #sub: Redis | Cluster | undefined;
  #inFlight = 0;
  #subscribedOnce = false;
  #closed = false;
  #pingTimer: NodeJS.Timeout | undefined;
  /** A PING went unanswered: not trusted until the connection answers again. */
  #suspect = false;
  #liveness: ConnectionLiveness | undefined;

  constructor(opts: RedisTransportOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'transport' });
    this.#cluster = opts.connection.mode === 'cluster';
    const prefix = opts.connection.keyPrefix;
    this.#channels = this.#cluster
      ? Array.from({ length: opts.shards }, (_, i) => `${prefix}transport:{${i}}`)
      : [`${prefix}transport`];
  }

  channelFor(appId: string, channel: string): string {
    return this.#cluster
      ? (this.#channels[shardOf(appId, channel, this.#channels.length)] as string)
      : (this.#channels[0] as string);
  }

  /** Opens the subscriber connection and subscribes; resolves once subscribed (bounded). */
  async start(timeoutMs = 10_000): Promise<void> {
    const client = this.#o.connection.client;
    const sub = this.#cluster
      ? (client as Cluster).duplicate(undefined, {
          shardedSubscribers: true,
          enableAutoPipelining: false,
          // Subscriptions wait for the cluster to be ready instead of failing at start-up.
          enableOfflineQueue: true,
        })
      : (client as Redis).duplicate({ enableOfflineQueue: true });
    this.#sub = sub;
    sub.on('error', (err: Error) => this.#log.warn({ err: { message: err.message } }, 'transport connection error'));
    const onText = (_ch: string, text: string) => this.#o.onMessage(text);
    if (this.#cluster) sub.on('smessage', onText);
    else sub.on('message', onText);
    // ioredis re-subscribes by itself after a reconnect; count it and let the bus catch up.
    sub.on('ready', () => {
      this.#suspect = false;
      if (!this.#subscribedOnce || this.#closed) return;
      this.#o.metrics.reconnected();
      this.#log.warn('transport subscription re-established; catching up from the store');
      this.#o.onResubscribed();
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        // One SSUBSCRIBE per shard channel: their slots differ, and one command may name one slot.
        this.#cluster
          ? Promise.all(this.#channels.map((ch) => (sub as Cluster).ssubscribe(ch)))
          : sub.subscribe(...this.#channels),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`transport not subscribed within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    this.#subscribedOnce = true;
    this.#startPings();
  }

  get subscribed(): boolean {
    return this.#sub?.status === 'ready' && !this.#suspect;
  }

  /**
   * A subscriber connection sends nothing, so a silently dead one (packets dropped, no FIN)
   * looks healthy to ioredis until TCP keepalive gives up, hours later: PING it (allowed in
   * subscriber mode) and reconnect after two unanswered in a row. Cluster mode's sharded
   * subscriber connections are internal to ioredis and not probed here (docs/cluster.md).
   */
  #startPings(): void {
    const every = this.#o.pingIntervalMs ?? 0;
    if (every <= 0 || this.#cluster) return;
    this.#liveness = new ConnectionLiveness({ timeouts: 2, silenceMs: every * 2 }, Date.now());
    const timeoutMs = Math.min(every, this.#o.connection.commandTimeoutMs);
    this.#pingTimer = setInterval(() => void this.#ping(timeoutMs), every);
    this.#pingTimer.unref();
  }

  async #ping(timeoutMs: number): Promise<void> {
    const sub = this.#sub as Redis | undefined;
    const liveness = this.#liveness;
    if (!sub || !liveness || this.#closed || sub.status !== 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      sub.ping().then(
        () => true,
        () => true, // an error reply still proves the connection alive
      ),
      new Promise<false>((r) => {
        timer = setTimeout(() => r(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (answered) {
      liveness.answered(Date.now());
      this.#suspect = false;
      return;
    }
    this.#suspect = true;
    if (liveness.timedOut(Date.now()) && !this.#closed) {
      this.#log.warn('transport connection unresponsive (PING unanswered); reconnecting');
      sub.disconnect(true);
    }
  }

  /** Publishes one encoded envelope; never throws, never waits for the caller. */
  publish(appId: string, channel: string, text: string): void {
    if (this.#closed) return;
    if (this.#inFlight >= this.#o.maxInFlight) {
      this.#o.metrics.dropped(1);
      return;
    }
    this.#inFlight++;
    this.#o.metrics.queueDepth(this.#inFlight);
    const target = this.channelFor(appId, channel);
    this.#o.connection
      .exec('transport publish', (c) =>
        this.#cluster ? (c as Cluster).spublish(target, text) : (c as Redis).publish(target, text),
      )
      .catch((err: unknown) => {
        this.#o.metrics.dropped(1);
        this.#log.debug({ err }, 'transport publish failed; receivers repair from the store');
      })
      .finally(() => {
        this.#inFlight--;
        this.#o.metrics.queueDepth(this.#inFlight);
      });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#pingTimer);
    const sub = this.#sub;
    this.#sub = undefined;
    if (!sub) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      sub.quit().catch(() => undefined),
      new Promise((r) => {
        timer = setTimeout(r, 1000);
      }),
    ]);
    clearTimeout(timer);
    sub.disconnect();
  }
}
