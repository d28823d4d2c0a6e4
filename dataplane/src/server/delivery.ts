// Delivery of committed messages to this node's sockets: the last stage of the publish pipeline
// (and, in a cluster, what every node runs for messages arriving over the horizontal transport).
//
// - Frames are encoded once per variant (V1; V2 create; V2 append delta/full per rollup window)
//   and the same Buffer goes to every recipient of that variant.
// - Appends, updates and deletes of versioned messages go through the rollup scheduler, per
//   `append_rollup_window` in use on the channel (decision 12); everything else is delivered at
//   once. Before anything is sent to a window group, held appends of the channel that come
//   earlier in serial order are flushed, so serials never go backwards for a subscriber.
// - Sockets being attached (subscribe with history, rewind, resume) get every version
//   individually into their attach buffer (attach.ts) instead; when the attach ends, their window
//   group's held appends are flushed to the others first, so nothing reaches the joiner twice.
// - An attach whose snapshot or replay was read from a store can be ahead of this node's live
//   delivery (in a cluster, committed messages are still crossing the transport): the socket
//   stays attached — held frames, no window group — until live delivery here has reached what
//   the snapshot covered (or ATTACH_CATCH_UP_MS passed), so nothing it already has arrives twice.
// - Every frame of a history channel is kept in the hot replay buffer for recovery (6.5).
import type { Logger } from 'pino';
import { channelType } from '../channels/names.ts';
import type { ChannelState } from '../channels/registry.ts';
import type { ChannelSettings, ChannelSettingsResolver } from '../channels/settings.ts';
import type { HotReplayBuffer } from '../history/hot-buffer.ts';
import type { Metrics } from '../metrics/registry.ts';
import {
  type ChannelSignal,
  createHistorySerial,
  encodeV1,
  encodeV2,
  messageIdOf,
  reachesV1,
  serialOf,
  type VersionMessage,
} from '../pipeline/message.ts';
import { newMessageId } from '../protocol/ids.ts';
import { type Delivery, RollupScheduler } from '../rollup/scheduler.ts';
import { AttachBuffer, type AttachCovered, type BufferedFrame } from './attach.ts';
import type { Connection } from './connection.ts';
import type { EngineCore } from './ws-context.ts';

export interface DeliveryOptions {
  readonly rollupEnabled: boolean;
  readonly wheelTickMs: number;
  readonly maxHeldBytes: number;
  readonly maxItemsPerTick: number;
  readonly maxTrackedStreamsPerChannel: number;
  /** Attach buffer bounds per socket and channel. */
  readonly attachMaxFrames: number;
  readonly attachMaxBytes: number;
}

export interface DeliveryDeps {
  readonly core: EngineCore;
  readonly settings: ChannelSettingsResolver;
  readonly hot: HotReplayBuffer;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly options: DeliveryOptions;
  /** A socket whose attach buffer overflowed: close it (4100) so it reconnects and recovers. */
  readonly onAttachOverflow: (conn: Connection) => void;
}

interface WindowGroup {
  readonly delta: Connection[];
  readonly full: Connection[];
}

interface Groups {
  readonly revision: number;
  readonly generation: number;
  readonly v1: Connection[];
  /** V2 sockets not being attached. */
  readonly v2: Connection[];
  readonly windows: Map<number, WindowGroup>;
  readonly windowList: number[];
  readonly attaching: Connection[];
}

const orderOf = (m: VersionMessage): number => m.record.delivery_serial;

/** The longest an attach waits for live delivery to reach its snapshot before it joins anyway. */
export const ATTACH_CATCH_UP_MS = 1000;
/** Channels whose live position is remembered (most recently delivered kept). */
const MAX_POSITIONS = 100_000;

/** What live delivery on this node must have reached before an attach may join (same domains as AttachCovered). */
export interface AttachWait {
  /** Versioned channels: the delivery serial; others: the history serial (the wire serial). */
  readonly serial?: number;
  /** The history serial of creates and events (the subscribe's attach serial). */
  readonly historySerial?: number;
}

/** The frames an attach releases (undefined: it overflowed, the socket is closing). */
export type AttachRelease = (frames: BufferedFrame[] | undefined) => void;

interface DeferredAttach {
  readonly conn: Connection;
  readonly channel: string;
  readonly covered: AttachCovered;
  readonly wait: AttachWait;
  readonly release: AttachRelease;
  readonly deadlineMs: number;
}

/** The last serials delivered on one channel here. */
interface LivePosition {
  wire: number;
  history: number;
}

/** The rollup window of a socket on a channel: its own `append_rollup_window`, else the channel's. */
function positionKey(appId: string, channel: string): string {
  return `${appId.length}:${appId}|${channel}`;
}

export function windowOf(conn: Connection, settings: ChannelSettings): number {
  if (settings.rollupWindowMs === 0) return 0;
  return conn.params.appendRollupWindowMs ?? settings.rollupWindowMs;
}

export class LocalDelivery {
  readonly #d: DeliveryDeps;
  readonly #core: EngineCore;
  readonly #log: Logger;
  readonly #scheduler: RollupScheduler<VersionMessage>;
  readonly #groups = new WeakMap<ChannelState<Connection>, Groups>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  /** When the armed timer fires; undefined: none armed. */
  #wakeAtMs: number | undefined;
  #lastWakeMs = Number.NEGATIVE_INFINITY;
  #tickScheduled = false;
  #lastGaugeMs = 0;
  readonly #gaugedApps = new Set<string>();
  /** appId/channel → the last serials live delivery reached on this node. */
  readonly #positions = new Map<string, LivePosition>();
  /** Attaches waiting for live delivery to catch up with their snapshot. */
  readonly #deferred = new Map<AttachBuffer, DeferredAttach>();

  constructor(deps: DeliveryDeps) {
    this.#d = deps;
    this.#core = deps.core;
    this.#log = deps.logger.child({ component: 'delivery' });
    const o = deps.options;
    this.#scheduler = new RollupScheduler<VersionMessage>({
      enabled: o.rollupEnabled,
      maxHeldBytes: o.maxHeldBytes,
      maxItemsPerTick: o.maxItemsPerTick,
      maxTrackedStreamsPerChannel: o.maxTrackedStreamsPerChannel,
      // Full-mode sockets get the aggregate: a held message costs its aggregate too.
      sizeOf: (m) => (typeof m.record.data === 'string' ? m.record.data.length : 0),
    });
  }

  /** Starts the rollup deadline worker (one timer for every stream: no per-stream timers). */
  start(): void {
    this.#running = true;
    this.#arm();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wakeAtMs = undefined;
  }

  /**
   * Sleeps the worker until the next deadline (a held append's, or a waiting attach's): no
   * wake-ups while nothing is due, no lateness from a fixed period. `rollup.wheelTickMs` is
   * the least time between two wake-ups, which bounds their rate when deadlines are dense.
   */
  #arm(): void {
    if (!this.#running) return;
    let due = this.#scheduler.nextDueMs();
    for (const d of this.#deferred.values()) if (due === undefined || d.deadlineMs < due) due = d.deadlineMs;
    if (due === undefined) return;
    const at = Math.max(due, this.#lastWakeMs + this.#d.options.wheelTickMs);
    if (this.#wakeAtMs !== undefined && this.#wakeAtMs <= at) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#wakeAtMs = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#wakeAtMs = undefined;
        this.tick();
      },
      Math.max(0, at - this.#core.now()),
    );
    this.#timer.unref();
  }

  get rollupStats(): ReturnType<RollupScheduler<VersionMessage>['stats']> {
    return this.#scheduler.stats();
  }

  // --- receive ---------------------------------------------------------------------------

  receive(signal: ChannelSignal): void {
    if (signal.kind === 'reset') {
      this.#reset(signal.appId, signal.channel, signal.previousStreamId, signal.newStreamId);
      return;
    }
    const m = signal;
    const { appId, channel } = m;
    const settings = this.#d.settings.get(appId, channel);
    const serial = serialOf(m);
    const streamId = m.streamId;
    if (settings.recovery.enabled && serial !== undefined && streamId !== undefined) {
      const frame = encodeV2(m, 'delta', newMessageId);
      const messageId = messageIdOf(m);
      this.#d.hot
        .push(appId, channel, { serial, streamId, frame, ...(messageId !== undefined && { messageId }) })
        .catch((err: unknown) => this.#log.warn({ err, appId }, 'hot replay buffer push failed'));
    }
    this.#cacheLast(m);
    this.#advancePosition(appId, channel, m, settings.versioned);
    const isAppend = m.kind === 'version' && m.record.action === 'append';
    if (isAppend) this.#d.metrics.appendsReceivedTotal.inc({ app_id: appId });

    const state = this.#core.registry.get(appId, channel);
    if (!state) return;
    const g = this.#groupsOf(state, settings);
    const t0 = performance.now();
    let recipients = 0;
    const exclude = m.excludeSocketId;

    if (g.v1.length > 0 && reachesV1(m)) {
      const text = encodeV1(m);
      if (text !== undefined) recipients += this.#sendTo(g.v1, Buffer.from(text), exclude);
    }
    if (g.attaching.length > 0) this.#bufferForAttaching(g.attaching, channel, m, serial, exclude);

    if (m.kind === 'version' && m.record.action !== 'create') {
      const deliveries = this.#scheduler.offer(
        { appId, channel, messageSerial: m.record.message_serial },
        {
          action: m.record.action,
          terminal: m.terminal,
          fragment: m.record.fragment ?? '',
          message: m,
        },
        g.windowList,
        this.#core.now(),
      );
      for (const d of deliveries) recipients += this.#sendRolled(state, d, true);
    } else if (g.v2.length > 0) {
      if (serial !== undefined) {
        for (const w of g.windowList) this.#flushBefore(state, appId, w, serial);
      }
      recipients += this.#sendTo(g.v2, Buffer.from(encodeV2(m, 'delta', newMessageId)), exclude);
    }
    this.#core.fanout.trackLatency(t0, appId, state.type.label, recipients);
    // Last, so this message went to the held frames, not also to a group the socket just joined.
    if (g.attaching.length > 0 && this.#deferred.size > 0) this.#joinCaughtUp(g.attaching, channel);
    this.#arm();
  }

  #advancePosition(
    appId: string,
    channel: string,
    m: Exclude<ChannelSignal, { kind: 'reset' }>,
    versioned: boolean,
  ): void {
    const wire = versioned ? (m.kind === 'version' ? m.record.delivery_serial : undefined) : serialOf(m);
    const history = createHistorySerial(m);
    if (wire === undefined && history === undefined) return;
    const key = positionKey(appId, channel);
    let p = this.#positions.get(key);
    if (!p) {
      if (this.#positions.size >= MAX_POSITIONS) this.#positions.delete(this.#positions.keys().next().value as string);
      p = { wire: 0, history: 0 };
      this.#positions.set(key, p);
    }
    if (wire !== undefined && wire > p.wire) p.wire = wire;
    if (history !== undefined && history > p.history) p.history = history;
  }

  /** Whether live delivery here is behind what an attach's snapshot covered (unknown channel: not behind). */
  #behind(appId: string, channel: string, wait: AttachWait): boolean {
    const p = this.#positions.get(positionKey(appId, channel));
    if (!p) return false;
    return (
      (wait.serial !== undefined && p.wire < wait.serial) ||
      (wait.historySerial !== undefined && p.history < wait.historySerial)
    );
  }

  #joinCaughtUp(attaching: readonly Connection[], channel: string): void {
    for (const conn of attaching) {
      const buf = conn.attaching.get(channel);
      const d = buf && this.#deferred.get(buf);
      if (d && !this.#behind(conn.appId, channel, d.wait)) this.#finishDeferred(buf, d);
    }
  }

  #finishDeferred(buf: AttachBuffer, d: DeferredAttach): void {
    this.#deferred.delete(buf);
    // Closed, unsubscribed or re-attached meanwhile: nothing to release here.
    if (d.conn.state !== 'open' || d.conn.attaching.get(d.channel) !== buf) return;
    // A resume took the buffer over while this attach waited: it releases the frames.
    if (buf.holders > 0) {
      d.release([]);
      return;
    }
    d.release(this.#join(d.conn, d.channel, buf, d.covered));
  }

  #cacheLast(m: Exclude<ChannelSignal, { kind: 'reset' }>): void {
    if (!channelType(m.channel).cache) return;
    if (m.kind === 'event') {
      this.#core.cache.set(m.appId, m.channel, { event: m.event, data: m.data }, this.#core.now());
    } else if (m.record.action === 'create') {
      this.#core.cache.set(m.appId, m.channel, { event: m.record.name ?? '', data: m.record.data }, this.#core.now());
    }
  }

  #sendTo(conns: readonly Connection[], frame: Buffer, exclude: string | undefined): number {
    let n = 0;
    for (const conn of conns) {
      if (conn.socketId === exclude) continue;
      if (this.#core.fanout.queueShared(conn, frame)) n++;
    }
    return n;
  }

  #bufferForAttaching(
    conns: readonly Connection[],
    channel: string,
    m: Exclude<ChannelSignal, { kind: 'reset' }>,
    serial: number | undefined,
    exclude: string | undefined,
  ): void {
    let delta: Buffer | undefined;
    let full: Buffer | undefined;
    const meta = { serial, createHistorySerial: createHistorySerial(m), messageId: messageIdOf(m) };
    for (const conn of conns) {
      if (conn.socketId === exclude) continue;
      const buf = conn.attaching.get(channel);
      if (!buf) continue;
      let frame: Buffer;
      if (conn.params.appendMode === 'full' && m.kind === 'version' && m.record.action === 'append') {
        full ??= Buffer.from(encodeV2(m, 'full', newMessageId));
        frame = full;
      } else {
        delta ??= Buffer.from(encodeV2(m, 'delta', newMessageId));
        frame = delta;
      }
      if (!buf.push({ frame, ...meta })) this.#d.onAttachOverflow(conn);
    }
  }

  /** Sends one rollup delivery to its window group; first what must precede it (`flushBefore`). */
  #sendRolled(state: ChannelState<Connection>, d: Delivery<VersionMessage>, flushFirst: boolean): number {
    const m = d.message;
    const appId = m.appId;
    let n = 0;
    if (flushFirst) n += this.#flushBefore(state, appId, d.window, orderOf(m));
    if (d.action === 'append') {
      const labels = { app_id: appId };
      this.#d.metrics.appendsDeliveredTotal.inc(labels);
      this.#d.metrics.rollupRatio.observe(labels, d.coalesced);
      if (d.coalesced > 1 || d.reason === 'deadline') {
        this.#d.metrics.flushLatency.observe(labels, d.deliveredAtMs - d.firstSeenMs);
      }
      if (d.dueMs !== undefined) this.#d.metrics.rollupFlushLatenessMs.observe(labels, d.deliveredAtMs - d.dueMs);
    }
    const settings = this.#d.settings.get(appId, m.channel);
    const group = this.#groupsOf(state, settings).windows.get(d.window);
    if (!group) return n;
    const exclude = m.excludeSocketId;
    if (group.delta.length > 0) {
      n += this.#sendTo(group.delta, Buffer.from(encodeV2(m, 'delta', newMessageId, d.fragment)), exclude);
    }
    if (group.full.length > 0) n += this.#sendTo(group.full, Buffer.from(encodeV2(m, 'full', newMessageId)), exclude);
    return n;
  }

  /** Flushes the window group's held appends that order before `serial`, in order. */
  #flushBefore(state: ChannelState<Connection>, appId: string, window: number, serial: number): number {
    const pre = this.#scheduler.flushBefore(appId, state.name, window, serial, orderOf, this.#core.now());
    let n = 0;
    for (const d of pre) n += this.#sendRolled(state, d, false);
    return n;
  }

  // --- groups ----------------------------------------------------------------------------

  #groupsOf(state: ChannelState<Connection>, settings: ChannelSettings): Groups {
    const generation = this.#d.settings.generation;
    const cached = this.#groups.get(state);
    if (cached && cached.revision === state.revision && cached.generation === generation) return cached;
    const v1: Connection[] = [];
    const v2: Connection[] = [];
    const attaching: Connection[] = [];
    const windows = new Map<number, WindowGroup>();
    for (const conn of state.subscribers.keys()) {
      if (conn.version === 1) {
        v1.push(conn);
        continue;
      }
      if (conn.attaching.has(state.name)) {
        attaching.push(conn);
        continue;
      }
      v2.push(conn);
      const w = windowOf(conn, settings);
      let group = windows.get(w);
      if (!group) {
        group = { delta: [], full: [] };
        windows.set(w, group);
      }
      (conn.params.appendMode === 'full' ? group.full : group.delta).push(conn);
    }
    const groups: Groups = {
      revision: state.revision,
      generation,
      v1,
      v2,
      windows,
      windowList: [...windows.keys()].sort((a, b) => a - b),
      attaching,
    };
    this.#groups.set(state, groups);
    return groups;
  }

  /** Whether full-mode sockets (which get aggregates) are on the channel here, attaching or not. */
  hasFullMode(appId: string, channel: string): boolean {
    const state = this.#core.registry.get(appId, channel);
    if (!state) return false;
    const g = this.#groupsOf(state, this.#d.settings.get(appId, channel));
    for (const group of g.windows.values()) if (group.full.length > 0) return true;
    return g.attaching.some((c) => c.params.appendMode === 'full');
  }

  // --- attach ------------------------------------------------------------------------------

  /** Holds live frames for `conn` on `channel` until `endAttach` (call before subscribing it). */
  beginAttach(conn: Connection, channel: string): void {
    const existing = conn.attaching.get(channel);
    if (existing) {
      // A resume queued behind the subscribe's attach takes over the same buffer.
      existing.hold();
      return;
    }
    const o = this.#d.options;
    conn.attaching.set(channel, new AttachBuffer(o.attachMaxFrames, o.attachMaxBytes));
    this.#touch(conn.appId, channel);
  }

  /**
   * Ends the attach: the socket's window group gets its held appends first (the joiner already
   * has them individually), then the socket joins the group. `release` gets the buffered frames
   * it still needs (minus what `covered` says it has), to queue after whatever must precede
   * them — at once, or, when live delivery here has not reached `wait` yet, once it has (at most
   * ATTACH_CATCH_UP_MS later); undefined when the attach overflowed (the socket is closing).
   * Nothing happens when there is no attach.
   */
  endAttach(
    conn: Connection,
    channel: string,
    covered: AttachCovered,
    release: AttachRelease,
    wait: AttachWait = {},
  ): void {
    const buf = conn.attaching.get(channel);
    if (!buf) return;
    // Already ended and waiting for live delivery (a second let-go of the same hold): no-op.
    if (this.#deferred.has(buf) && buf.holders === 0) {
      release([]);
      return;
    }
    // Another operation still holds the buffer (a resume after the subscribe): it releases it.
    if (buf.unhold() > 0) {
      release([]);
      return;
    }
    if (!buf.overflowed && this.#behind(conn.appId, channel, wait)) {
      // The wheel tick (start()) expires it if live delivery never gets there.
      this.#deferred.set(buf, {
        conn,
        channel,
        covered,
        wait,
        release,
        deadlineMs: this.#core.now() + ATTACH_CATCH_UP_MS,
      });
      return;
    }
    release(this.#join(conn, channel, buf, covered));
  }

  #join(conn: Connection, channel: string, buf: AttachBuffer, covered: AttachCovered): BufferedFrame[] | undefined {
    const state = this.#core.registry.get(conn.appId, channel);
    if (state) {
      const settings = this.#d.settings.get(conn.appId, channel);
      const w = windowOf(conn, settings);
      const pre = this.#scheduler.flushChannelWindow(conn.appId, channel, w, orderOf, this.#core.now());
      for (const d of pre) this.#sendRolled(state, d, false);
    }
    conn.attaching.delete(channel);
    this.#touch(conn.appId, channel);
    if (buf.overflowed) return undefined;
    return buf.release(covered);
  }

  /** Drops an attach without releasing (the socket unsubscribed or closed). */
  abortAttach(conn: Connection, channel: string): void {
    const buf = conn.attaching.get(channel);
    if (buf) this.#deferred.delete(buf);
    if (conn.attaching.delete(channel)) this.#touch(conn.appId, channel);
  }

  #touch(appId: string, channel: string): void {
    const state = this.#core.registry.get(appId, channel);
    if (state) state.revision++;
  }

  // --- reset ---------------------------------------------------------------------------------

  #reset(appId: string, channel: string, previousStreamId: string, newStreamId: string): void {
    this.#scheduler.dropChannel(appId, channel);
    this.#d.hot.clear(appId, channel).catch(() => undefined);
    // Serials start again: what an attach waited for will not come.
    this.#positions.delete(positionKey(appId, channel));
    for (const [buf, d] of [...this.#deferred]) {
      if (d.conn.appId === appId && d.channel === channel) this.#finishDeferred(buf, d);
    }
    const state = this.#core.registry.get(appId, channel);
    if (!state) return;
    const frame = Buffer.from(
      JSON.stringify({
        event: 'sockudo:stream_reset',
        channel,
        data: JSON.stringify({ previous_stream_id: previousStreamId, stream_id: newStreamId }),
        message_id: newMessageId(),
      }),
    );
    for (const conn of state.subscribers.keys()) {
      if (conn.version !== 2) continue;
      conn.attachSerials.delete(channel);
      this.#core.fanout.queueShared(conn, frame);
    }
  }

  // --- worker ------------------------------------------------------------------------------

  /** One deadline pass: due held appends are delivered, oldest serial first. */
  tick(): void {
    this.#tickScheduled = false;
    const now = this.#core.now();
    this.#lastWakeMs = now;
    if (this.#deferred.size > 0) this.#expireDeferred(now);
    const r = this.#scheduler.tick(now);
    this.#deliverAll(r.deliveries);
    if (r.more && !this.#tickScheduled) {
      this.#tickScheduled = true;
      setImmediate(() => this.tick());
    }
    const idle = this.#scheduler.nextDueMs() === undefined;
    // At most once a second, and once more when the last stream stopped (no wake-up follows).
    if (now - this.#lastGaugeMs >= 1000 || idle) {
      this.#lastGaugeMs = now;
      this.#updateGauges();
    }
    this.#arm();
  }

  #expireDeferred(now: number): void {
    for (const [buf, d] of [...this.#deferred]) {
      if (d.conn.state !== 'open') {
        this.#deferred.delete(buf);
      } else if (now >= d.deadlineMs) {
        this.#log.warn(
          { appId: d.conn.appId, channel: d.channel, socketId: d.conn.socketId, wait: d.wait },
          'live delivery did not reach the attach snapshot in time; joining anyway',
        );
        this.#finishDeferred(buf, d);
      }
    }
  }

  /** Graceful shutdown: everything held is delivered now. */
  drain(): number {
    const out = this.#scheduler.drain(this.#core.now());
    this.#deliverAll(out);
    this.#updateGauges();
    return out.length;
  }

  #deliverAll(deliveries: Delivery<VersionMessage>[]): void {
    if (deliveries.length === 0) return;
    deliveries.sort((a, b) => orderOf(a.message) - orderOf(b.message));
    for (const d of deliveries) {
      const state = this.#core.registry.get(d.key.appId, d.key.channel);
      if (!state) {
        // Nobody left to receive it; still counted as a delivery of the scheduler.
        continue;
      }
      const t0 = performance.now();
      const n = this.#sendRolled(state, d, true);
      this.#core.fanout.trackLatency(t0, d.key.appId, state.type.label, n);
    }
  }

  #updateGauges(): void {
    const byApp = this.#scheduler.activeStreamsByApp();
    for (const app of this.#gaugedApps) if (!byApp.has(app)) this.#d.metrics.activeStreams.set({ app_id: app }, 0);
    for (const [app, n] of byApp) {
      this.#gaugedApps.add(app);
      this.#d.metrics.activeStreams.set({ app_id: app }, n);
    }
  }
}
