// Outbound delivery: the per-tick flusher and channel broadcasts.
// - A broadcast encodes its frame ONCE per protocol variant (V1 / V2) into a Buffer and hands
//   the same Buffer to every recipient; nothing is encoded per recipient.
// - Frames are queued per socket; one setImmediate per tick flushes every socket that has
//   frames, each in one corked write (ws cork/uncork).
// - Per-channel order is call order: broadcasts are synchronous and queues are FIFO.
// - A socket over its send budget is closed with 4100 at the start of the next flush, never
//   in the middle of a broadcast loop (STANDARDS C4, F4).
// - broadcast_latency_ms: from the publish call to the frame written to every local
//   recipient's socket (end of the flush that carried it).
import type { Counter } from 'prom-client';
import type { ChannelState } from '../channels/registry.ts';
import { recipientCountBucket } from '../metrics/catalog.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { BroadcastMessage, Wire } from '../protocol/sender.ts';
import type { Connection } from './connection.ts';

interface AppCounters {
  sent: Counter.Internal;
  sentBytes: Counter.Internal;
}

interface PendingLatency {
  t0: number;
  appId: string;
  channelType: string;
  recipients: number;
}

export interface BroadcastOptions {
  /** Socket that must not receive it (REST socket_id, or a client event's sender without echo). */
  excludeSocketId?: string | undefined;
}

export class Fanout {
  readonly #metrics: Metrics;
  readonly #wires: Readonly<Record<1 | 2, Wire>>;
  readonly #onSlowConsumer: (conn: Connection) => void;
  readonly #counters = new Map<string, AppCounters>();
  #dirty = new Set<Connection>();
  #slow = new Set<Connection>();
  #latency: PendingLatency[] = [];
  #scheduled = false;

  constructor(deps: {
    metrics: Metrics;
    wires: Readonly<Record<1 | 2, Wire>>;
    onSlowConsumer: (conn: Connection) => void;
  }) {
    this.#metrics = deps.metrics;
    this.#wires = deps.wires;
    this.#onSlowConsumer = deps.onSlowConsumer;
  }

  /** Queues a frame meant for one socket (encoded for it). */
  send(conn: Connection, frame: string): void {
    this.#queue(conn, frame, Buffer.byteLength(frame));
  }

  /**
   * Fans `msg` out to a channel's local subscribers; returns the recipient count.
   * Subscribers are visited in subscription order.
   */
  broadcast(
    appId: string,
    state: ChannelState<Connection>,
    msg: BroadcastMessage,
    opts: BroadcastOptions = {},
  ): number {
    return this.broadcastEncoded(appId, state, (v) => this.#wires[v].broadcast(msg), opts);
  }

  /** Like `broadcast`, for any frame: `encode` is called at most once per protocol version. */
  broadcastEncoded(
    appId: string,
    state: ChannelState<Connection>,
    encode: (version: 1 | 2) => string,
    opts: BroadcastOptions = {},
  ): number {
    const t0 = performance.now();
    let v1: Buffer | undefined;
    let v2: Buffer | undefined;
    let recipients = 0;
    for (const conn of state.subscribers.keys()) {
      if (conn.socketId === opts.excludeSocketId) continue;
      let frame: Buffer;
      if (conn.version === 2) {
        v2 ??= Buffer.from(encode(2));
        frame = v2;
      } else {
        v1 ??= Buffer.from(encode(1));
        frame = v1;
      }
      if (this.#queue(conn, frame, frame.length)) recipients++;
    }
    if (recipients > 0) this.#latency.push({ t0, appId, channelType: state.type.label, recipients });
    return recipients;
  }

  /** Queues one shared, already-encoded frame to one socket; false when refused (slow or closed). */
  queueShared(conn: Connection, frame: Buffer): boolean {
    return this.#queue(conn, frame, frame.length);
  }

  /** Records `broadcast_latency_ms` of a fanout started at `t0` (performance.now()) once flushed. */
  trackLatency(t0: number, appId: string, channelType: string, recipients: number): void {
    if (recipients > 0) this.#latency.push({ t0, appId, channelType, recipients });
  }

  #queue(conn: Connection, frame: string | Buffer, bytes: number): boolean {
    if (conn.enqueue(frame, bytes)) {
      this.#dirty.add(conn);
      this.#schedule();
      return true;
    }
    if (conn.state === 'open') {
      this.#slow.add(conn);
      this.#schedule();
    }
    return false;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes every queued frame now (the engine also calls it before closing a socket). */
  flush(): void {
    this.#scheduled = false;
    if (this.#slow.size > 0) {
      const slow = this.#slow;
      this.#slow = new Set();
      for (const conn of slow) {
        conn.discardQueue();
        this.#dirty.delete(conn);
        this.#onSlowConsumer(conn);
      }
    }
    const dirty = this.#dirty;
    this.#dirty = new Set();
    for (const conn of dirty) this.flushOne(conn);
    if (this.#latency.length > 0) {
      const done = performance.now();
      const pending = this.#latency;
      this.#latency = [];
      for (const p of pending) {
        this.#metrics.broadcastLatencyMs.observe(
          { app_id: p.appId, channel_type: p.channelType, recipient_count_bucket: recipientCountBucket(p.recipients) },
          done - p.t0,
        );
      }
    }
  }

  /** Flushes one socket's queue (before a close, so queued frames precede the error frame). */
  flushOne(conn: Connection): void {
    this.#dirty.delete(conn);
    const { frames, bytes } = conn.flush();
    if (frames === 0) return;
    const c = this.#countersFor(conn.appId);
    c.sent.inc(frames);
    c.sentBytes.inc(bytes);
  }

  #countersFor(appId: string): AppCounters {
    let c = this.#counters.get(appId);
    if (!c) {
      c = {
        sent: this.#metrics.wsMessagesSentTotal.labels({ app_id: appId }),
        sentBytes: this.#metrics.socketTransmittedBytes.labels({ app_id: appId }),
      };
      this.#counters.set(appId, c);
    }
    return c;
  }
}
