// Outbound delivery: the per-tick flusher and channel broadcasts.
// - A broadcast encodes its message ONCE per protocol variant (V1 / V2) and frames it ONCE
//   (RFC 6455, ws-frame.ts): every recipient gets the same Buffer; nothing is encoded, framed
//   or allocated per recipient.
// - Frames are queued per socket; one setImmediate per tick flushes every socket that has
//   frames, each in one write (corked when it has several), straight to its net.Socket.
// - Metrics are summed over the flush and updated once per app per tick, not per socket.
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
import type { Connection, FlushTally } from './connection.ts';
import { framePayloadBytes, textFrame } from './ws-frame.ts';

interface AppCounters extends FlushTally {
  readonly sent: Counter.Internal;
  readonly sentBytes: Counter.Internal;
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
  /** Sockets with queued frames, in the order they got their first one (may repeat: harmless). */
  #dirty: Connection[] = [];
  #slow = new Set<Connection>();
  #latency: PendingLatency[] = [];
  #scheduled = false;
  /** The message of the last `queueShared` and its frame (a one-entry cache, reset per flush). */
  #lastMessage: Buffer | undefined;
  #lastFrame: Buffer | undefined;

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
    this.#queued(conn, conn.enqueue(frame, Buffer.byteLength(frame)));
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
        v2 ??= textFrame(encode(2));
        frame = v2;
      } else {
        v1 ??= textFrame(encode(1));
        frame = v1;
      }
      if (this.#queueFrame(conn, frame)) recipients++;
    }
    if (recipients > 0) this.#latency.push({ t0, appId, channelType: state.type.label, recipients });
    return recipients;
  }

  /**
   * Queues one shared, already-encoded message (never modified afterwards) to one socket; false
   * when refused (slow or closed). Callers loop over recipients with the same Buffer, so it is
   * framed once per run of calls with that Buffer.
   */
  queueShared(conn: Connection, message: Buffer): boolean {
    if (message !== this.#lastMessage) {
      this.#lastMessage = message;
      this.#lastFrame = textFrame(message);
    }
    return this.#queueFrame(conn, this.#lastFrame as Buffer);
  }

  /** Records `broadcast_latency_ms` of a fanout started at `t0` (performance.now()) once flushed. */
  trackLatency(t0: number, appId: string, channelType: string, recipients: number): void {
    if (recipients > 0) this.#latency.push({ t0, appId, channelType, recipients });
  }

  #queueFrame(conn: Connection, frame: Buffer): boolean {
    return this.#queued(conn, conn.enqueueFrame(frame, framePayloadBytes(frame)));
  }

  /** Bookkeeping after `conn` accepted (or refused) a frame. */
  #queued(conn: Connection, accepted: boolean): boolean {
    if (accepted) {
      if (conn.queuedFrames === 1) this.#dirty.push(conn);
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
    this.#lastMessage = undefined;
    this.#lastFrame = undefined;
    if (this.#slow.size > 0) {
      const slow = this.#slow;
      this.#slow = new Set();
      for (const conn of slow) {
        conn.discardQueue();
        this.#onSlowConsumer(conn);
      }
    }
    const dirty = this.#dirty;
    this.#dirty = [];
    let appId: string | undefined;
    let tally: AppCounters | undefined;
    for (const conn of dirty) {
      if (conn.appId !== appId) {
        appId = conn.appId;
        tally = this.#countersFor(appId);
      }
      conn.flush(tally as AppCounters);
    }
    for (const c of this.#counters.values()) this.#record(c);
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
    const c = this.#countersFor(conn.appId);
    conn.flush(c);
    this.#record(c);
  }

  #record(c: AppCounters): void {
    if (c.frames === 0) return;
    c.sent.inc(c.frames);
    c.sentBytes.inc(c.bytes);
    c.frames = 0;
    c.bytes = 0;
  }

  #countersFor(appId: string): AppCounters {
    let c = this.#counters.get(appId);
    if (!c) {
      c = {
        sent: this.#metrics.wsMessagesSentTotal.labels({ app_id: appId }),
        sentBytes: this.#metrics.socketTransmittedBytes.labels({ app_id: appId }),
        frames: 0,
        bytes: 0,
      };
      this.#counters.set(appId, c);
    }
    return c;
  }
}
