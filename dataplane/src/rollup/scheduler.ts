// The append-coalescing ("rollup") scheduler (PROTOCOL.md 5, decisions 7 and 12). A pure state
// machine: the caller passes `now` (ms) to every call and runs the deliveries it returns, in the
// order returned, through the channel's ordering gate (STANDARDS C2). No timers in here: a thin
// worker calls `tick(now)` every wheel tick (or at `nextDueMs()`), and SIGTERM calls `drain`.
//
// Per (stream, window) — stream = (app, channel, message_serial), window = an
// `append_rollup_window` in use by subscribers of the channel:
// - the first append of an untracked stream is delivered at once and starts tracking with
//   deadline = now + W;
// - appends before the deadline are held: the latest message plus the concatenation of fragments;
// - at the deadline (`tick`), held appends are flushed as one delivery and the next deadline is
//   flush time + W; a window that reaches its deadline with nothing held untracks (idle for W);
// - an append arriving at or after the deadline (tick not run yet) is merged with what is held
//   and delivered as ONE delivery, and the next deadline is now + W;
// so every delivery of a tracked stream is at least W after the previous one (decision 7).
// - a terminal append (transport status complete/cancelled) is delivered at once together with
//   what is held (one delivery: the terminal version, all fragments) and untracks the stream;
// - an update or a delete flushes what is held first (a separate append delivery), is delivered
//   at once, and untracks the stream (all its windows);
// - W = 0, `enabled: false`, or a channel already tracking its cap of streams: pass through.
import { DeadlineHeap } from './deadline-heap.ts';

export interface RollupKey {
  readonly appId: string;
  readonly channel: string;
  readonly messageSerial: string;
}

export type RollupAction = 'append' | 'update' | 'delete';

export interface RollupInput<M> {
  readonly action: RollupAction;
  /** Append whose `extras.ai.transport.status` is complete or cancelled (transport tier only). */
  readonly terminal?: boolean;
  /** The append's fragment (ignored for update/delete). */
  readonly fragment?: string;
  /** The caller's message (e.g. the committed VersionRecord); a delivery carries the latest one. */
  readonly message: M;
}

export type DeliveryReason =
  /** First append of an untracked stream. */
  | 'immediate'
  /** Held appends flushed at their deadline by `tick`. */
  | 'deadline'
  /** An append at/after the deadline, merged with anything held. */
  | 'late'
  /** Held appends flushed ahead of an update or delete. */
  | 'flush'
  /** The terminal append (with any held appends), update or delete itself. */
  | 'terminal'
  /** W = 0 or rollup disabled. */
  | 'passthrough'
  /** The channel already tracks its cap of streams. */
  | 'bypass'
  /** The held-bytes ceiling was reached: held appends delivered early. */
  | 'overflow'
  /** Graceful shutdown. */
  | 'drain';

export interface Delivery<M> {
  readonly key: RollupKey;
  /** The subscriber group: deliver to the channel's subscribers whose window is this. */
  readonly window: number;
  readonly reason: DeliveryReason;
  readonly action: RollupAction;
  /** The latest message this delivery represents. */
  readonly message: M;
  /** Appends: the concatenated fragments of every append represented (delta subscribers get
   * this; full subscribers get the latest aggregate). Empty for update/delete. */
  readonly fragment: string;
  /** Appends represented by this delivery (0 for update/delete). */
  readonly coalesced: number;
  /** When the oldest append represented was offered. */
  readonly firstSeenMs: number;
  readonly deliveredAtMs: number;
  /** For `deadline` flushes: the deadline that was due. */
  readonly dueMs?: number;
}

export interface RollupOptions<M = unknown> {
  /** false: every append passes straight through. Default true. */
  readonly enabled?: boolean;
  /** Tracked streams per channel (max_open_streaming_messages_per_channel); overflow bypasses. */
  readonly maxTrackedStreamsPerChannel?: number;
  /** Ceiling of held fragment bytes across all streams; past it, held appends are delivered. */
  readonly maxHeldBytes?: number;
  /** Default `tick` budget (items popped per tick). */
  readonly maxItemsPerTick?: number;
  /** Bytes a held message costs beyond its fragment (e.g. the aggregate it carries for full-mode
   * subscribers); counted in `heldBytes` and against `maxHeldBytes`. Default: 0. */
  readonly sizeOf?: (message: M) => number;
}

export const DEFAULT_ROLLUP_OPTIONS = Object.freeze({
  enabled: true,
  maxTrackedStreamsPerChannel: 1024,
  maxHeldBytes: 64 * 1024 * 1024,
  maxItemsPerTick: 4096,
});

export interface RollupStats {
  /** Appends offered, counted once per window group they were offered to. */
  readonly appendsReceived: number;
  /** Deliveries that carry appends. */
  readonly appendsDelivered: number;
  /** Streams with at least one tracked window (the `active_streams` gauge). */
  readonly activeStreams: number;
  /** Tracked (stream, window) states. */
  readonly trackedWindows: number;
  /** States holding appends now. */
  readonly pendingWindows: number;
  /** UTF-8 bytes of held fragments plus `sizeOf` of each held message. */
  readonly heldBytes: number;
  /** Deadline entries, including stale ones not popped yet. */
  readonly scheduledDeadlines: number;
  readonly bypassed: number;
  readonly overflowed: number;
}

export interface TickResult<M> {
  readonly deliveries: Delivery<M>[];
  /** Entries popped (due, rescheduled or stale). */
  readonly examined: number;
  /** More entries are due now: tick again soon (e.g. setImmediate) instead of waiting. */
  readonly more: boolean;
}

interface Pending<M> {
  message: M;
  fragment: string;
  count: number;
  firstSeenMs: number;
  /** Fragment bytes + sizeOf(message). */
  bytes: number;
  messageBytes: number;
}

interface WindowState<M> {
  readonly stream: StreamState<M>;
  readonly window: number;
  deadline: number;
  pending: Pending<M> | undefined;
  alive: boolean;
}

interface StreamState<M> {
  readonly key: RollupKey;
  readonly channelKey: string;
  readonly windows: Map<number, WindowState<M>>;
}

interface ChannelState<M> {
  readonly streams: Map<string, StreamState<M>>;
}

function channelKeyOf(key: RollupKey): string {
  return `${key.appId}\u0000${key.channel}`;
}

export class RollupScheduler<M> {
  readonly #enabled: boolean;
  readonly #maxTracked: number;
  readonly #maxHeldBytes: number;
  readonly #maxItems: number;
  readonly #sizeOf: (message: M) => number;
  readonly #channels = new Map<string, ChannelState<M>>();
  readonly #heap = new DeadlineHeap<WindowState<M>>();
  #now = 0;
  #heldBytes = 0;
  #trackedWindows = 0;
  #pendingWindows = 0;
  #activeStreams = 0;
  #received = 0;
  #delivered = 0;
  #bypassed = 0;
  #overflowed = 0;

  constructor(opts: RollupOptions<M> = {}) {
    const o = { ...DEFAULT_ROLLUP_OPTIONS, ...opts };
    for (const k of ['maxTrackedStreamsPerChannel', 'maxHeldBytes', 'maxItemsPerTick'] as const) {
      if (!Number.isSafeInteger(o[k]) || o[k] < 0) throw new TypeError(`${k} must be a non-negative integer`);
    }
    this.#enabled = o.enabled;
    this.#maxTracked = o.maxTrackedStreamsPerChannel;
    this.#maxHeldBytes = o.maxHeldBytes;
    this.#maxItems = o.maxItemsPerTick;
    this.#sizeOf = opts.sizeOf ?? (() => 0);
  }

  /**
   * Offers one committed append/update/delete of a stream. `windows` are the distinct
   * `append_rollup_window` values in use by the channel's subscribers (decision 12); a delivery
   * is returned per window group that gets one now.
   */
  offer(key: RollupKey, input: RollupInput<M>, windows: readonly number[], now: number): Delivery<M>[] {
    const t = this.#advance(now);
    const out: Delivery<M>[] = [];
    const ws = distinctWindows(windows);
    const fragment = input.action === 'append' ? (input.fragment ?? '') : '';
    const isAppend = input.action === 'append';
    if (isAppend && !input.terminal) {
      for (const w of ws) this.#offerAppend(key, input, fragment, w, t, out);
      return out;
    }
    // Terminal append, update or delete: flush, deliver, untrack — for every window in use and
    // every window that still has state for this stream.
    const stream = this.#channels.get(channelKeyOf(key))?.streams.get(key.messageSerial);
    const all = new Set<number>(ws);
    if (stream) for (const w of stream.windows.keys()) all.add(w);
    for (const w of [...all].sort((a, b) => a - b)) {
      const st = stream?.windows.get(w);
      if (isAppend) this.#received++;
      if (st && isAppend) {
        // Held appends and the terminal append go out as ONE append delivery (the terminal
        // version, all fragments): what a reducer ends with is the same, and the stream stays
        // within one delivery per W plus the terminal one.
        this.#hold(st, input, fragment, t);
        out.push(this.#takePending(st, 'terminal', t));
      } else {
        // An update or delete is another action: held appends are flushed first (PROTOCOL.md 5).
        if (st?.pending) out.push(this.#takePending(st, 'flush', t));
        out.push(this.#single(key, w, input, fragment, w === 0 || !this.#enabled ? 'passthrough' : 'terminal', t));
      }
      if (st) this.#untrack(st);
    }
    return out;
  }

  /**
   * Flushes due windows, popping at most `maxItems` deadline entries. Due windows with held
   * appends are delivered; due windows with nothing held are untracked (idle for W).
   */
  tick(now: number, maxItems: number = this.#maxItems): TickResult<M> {
    const t = this.#advance(now);
    const deliveries: Delivery<M>[] = [];
    let examined = 0;
    while (examined < maxItems) {
      const due = this.#heap.peekDue();
      if (due === undefined || due > t) break;
      const { item: st } = this.#heap.pop()!;
      examined++;
      if (!st.alive) continue;
      if (st.deadline > due) {
        // Rescheduled by a late append after this entry was pushed: re-queue at the new deadline.
        this.#heap.push(st.deadline, st);
        continue;
      }
      if (st.pending) {
        deliveries.push(this.#takePending(st, 'deadline', t, st.deadline));
        st.deadline = t + st.window;
        this.#heap.push(st.deadline, st);
      } else {
        this.#untrack(st);
      }
    }
    const next = this.#heap.peekDue();
    return { deliveries, examined, more: next !== undefined && next <= t };
  }

  /** Graceful shutdown: delivers everything held and forgets every stream. */
  drain(now: number): Delivery<M>[] {
    const t = this.#advance(now);
    const out: Delivery<M>[] = [];
    for (const channel of [...this.#channels.values()]) {
      for (const stream of [...channel.streams.values()]) {
        for (const st of [...stream.windows.values()]) {
          if (st.pending) out.push(this.#takePending(st, 'drain', t));
          this.#untrack(st);
        }
      }
    }
    this.#heap.clear();
    return out;
  }

  /**
   * Delivers now the held appends of the channel's streams in one window group whose latest
   * message orders before `order` (ascending by `orderOf`), without untracking them. Delivery
   * calls it before sending anything else to the group, so what a subscriber receives never goes
   * backwards in serial order although streams are coalesced independently.
   */
  flushBefore(
    appId: string,
    channel: string,
    window: number,
    order: number,
    orderOf: (message: M) => number,
    now: number,
  ): Delivery<M>[] {
    const channelState = this.#channels.get(channelKeyOf({ appId, channel, messageSerial: '' }));
    if (!channelState) return [];
    const t = this.#advance(now);
    const due: WindowState<M>[] = [];
    for (const stream of channelState.streams.values()) {
      const st = stream.windows.get(window);
      if (st?.pending && orderOf(st.pending.message) < order) due.push(st);
    }
    due.sort((a, b) => orderOf(a.pending!.message) - orderOf(b.pending!.message));
    return due.map((st) => this.#takePending(st, 'flush', t));
  }

  /** Delivers now every held append of one channel in one window group (a subscriber joins it). */
  flushChannelWindow(
    appId: string,
    channel: string,
    window: number,
    orderOf: (message: M) => number,
    now: number,
  ): Delivery<M>[] {
    return this.flushBefore(appId, channel, window, Number.POSITIVE_INFINITY, orderOf, now);
  }

  /** Forgets a channel's streams without delivering what they hold (its history was reset). */
  dropChannel(appId: string, channel: string): number {
    const channelState = this.#channels.get(channelKeyOf({ appId, channel, messageSerial: '' }));
    if (!channelState) return 0;
    let dropped = 0;
    for (const stream of [...channelState.streams.values()]) {
      for (const st of [...stream.windows.values()]) {
        if (st.pending) dropped += st.pending.count;
        this.#untrack(st);
      }
    }
    return dropped;
  }

  /** Tracked streams per app (the `active_streams` gauge). O(tracked channels): call it rarely. */
  activeStreamsByApp(): Map<string, number> {
    const out = new Map<string, number>();
    for (const channel of this.#channels.values()) {
      const first = channel.streams.values().next();
      if (first.done) continue;
      const app = first.value.key.appId;
      out.set(app, (out.get(app) ?? 0) + channel.streams.size);
    }
    return out;
  }

  /** The earliest scheduled deadline (possibly of a stale entry): when the worker should tick. */
  nextDueMs(): number | undefined {
    return this.#heap.peekDue();
  }

  stats(): RollupStats {
    return {
      appendsReceived: this.#received,
      appendsDelivered: this.#delivered,
      activeStreams: this.#activeStreams,
      trackedWindows: this.#trackedWindows,
      pendingWindows: this.#pendingWindows,
      heldBytes: this.#heldBytes,
      scheduledDeadlines: this.#heap.size,
      bypassed: this.#bypassed,
      overflowed: this.#overflowed,
    };
  }

  /** True when the stream has state for this window (for tests and diagnostics). */
  isTracked(key: RollupKey, window: number): boolean {
    return this.#channels.get(channelKeyOf(key))?.streams.get(key.messageSerial)?.windows.has(window) ?? false;
  }

  // -------------------------------------------------------------------------------------------

  /** The scheduler's clock never goes backwards, whatever the injected one does. */
  #advance(now: number): number {
    if (Number.isFinite(now) && now > this.#now) this.#now = now;
    return this.#now;
  }

  #offerAppend(
    key: RollupKey,
    input: RollupInput<M>,
    fragment: string,
    w: number,
    t: number,
    out: Delivery<M>[],
  ): void {
    this.#received++;
    if (w === 0 || !this.#enabled) {
      out.push(this.#single(key, w, input, fragment, 'passthrough', t));
      return;
    }
    const st = this.#channels.get(channelKeyOf(key))?.streams.get(key.messageSerial)?.windows.get(w);
    if (!st) {
      const created = this.#track(key, w, t);
      if (!created) {
        this.#bypassed++;
        out.push(this.#single(key, w, input, fragment, 'bypass', t));
        return;
      }
      out.push(this.#single(key, w, input, fragment, 'immediate', t));
      return;
    }
    if (t >= st.deadline) {
      this.#hold(st, input, fragment, t);
      out.push(this.#takePending(st, 'late', t));
      st.deadline = t + w;
      return;
    }
    const messageBytes = this.#sizeOf(input.message);
    const added = Buffer.byteLength(fragment, 'utf8') + messageBytes - (st.pending?.messageBytes ?? 0);
    if (this.#heldBytes + added > this.#maxHeldBytes) {
      this.#overflowed++;
      this.#hold(st, input, fragment, t);
      out.push(this.#takePending(st, 'overflow', t));
      st.deadline = t + w;
      return;
    }
    this.#hold(st, input, fragment, t);
  }

  #track(key: RollupKey, w: number, t: number): WindowState<M> | undefined {
    const ck = channelKeyOf(key);
    let channel = this.#channels.get(ck);
    let stream = channel?.streams.get(key.messageSerial);
    if (!stream) {
      if ((channel?.streams.size ?? 0) >= this.#maxTracked) return undefined;
      if (!channel) {
        channel = { streams: new Map() };
        this.#channels.set(ck, channel);
      }
      stream = { key, channelKey: ck, windows: new Map() };
      channel.streams.set(key.messageSerial, stream);
      this.#activeStreams++;
    }
    const st: WindowState<M> = { stream, window: w, deadline: t + w, pending: undefined, alive: true };
    stream.windows.set(w, st);
    this.#trackedWindows++;
    this.#heap.push(st.deadline, st);
    return st;
  }

  #untrack(st: WindowState<M>): void {
    if (!st.alive) return;
    st.alive = false;
    if (st.pending) {
      this.#heldBytes -= st.pending.bytes;
      this.#pendingWindows--;
      st.pending = undefined;
    }
    const stream = st.stream;
    stream.windows.delete(st.window);
    this.#trackedWindows--;
    if (stream.windows.size === 0) {
      const channel = this.#channels.get(stream.channelKey);
      channel?.streams.delete(stream.key.messageSerial);
      this.#activeStreams--;
      if (channel && channel.streams.size === 0) this.#channels.delete(stream.channelKey);
    }
  }

  #hold(st: WindowState<M>, input: RollupInput<M>, fragment: string, t: number): void {
    const fragmentBytes = Buffer.byteLength(fragment, 'utf8');
    const messageBytes = this.#sizeOf(input.message);
    const p = st.pending;
    let added: number;
    if (p) {
      added = fragmentBytes + messageBytes - p.messageBytes;
      p.message = input.message;
      p.fragment += fragment;
      p.count++;
      p.bytes += added;
      p.messageBytes = messageBytes;
    } else {
      added = fragmentBytes + messageBytes;
      st.pending = { message: input.message, fragment, count: 1, firstSeenMs: t, bytes: added, messageBytes };
      this.#pendingWindows++;
    }
    this.#heldBytes += added;
  }

  #takePending(st: WindowState<M>, reason: DeliveryReason, t: number, dueMs?: number): Delivery<M> {
    const p = st.pending!;
    st.pending = undefined;
    this.#pendingWindows--;
    this.#heldBytes -= p.bytes;
    this.#delivered++;
    const d: Delivery<M> = {
      key: st.stream.key,
      window: st.window,
      reason,
      action: 'append',
      message: p.message,
      fragment: p.fragment,
      coalesced: p.count,
      firstSeenMs: p.firstSeenMs,
      deliveredAtMs: t,
      ...(dueMs === undefined ? {} : { dueMs }),
    };
    return d;
  }

  #single(
    key: RollupKey,
    w: number,
    input: RollupInput<M>,
    fragment: string,
    reason: DeliveryReason,
    t: number,
  ): Delivery<M> {
    const isAppend = input.action === 'append';
    if (isAppend) this.#delivered++;
    return {
      key,
      window: w,
      reason,
      action: input.action,
      message: input.message,
      fragment,
      coalesced: isAppend ? 1 : 0,
      firstSeenMs: t,
      deliveredAtMs: t,
    };
  }
}

function distinctWindows(windows: readonly number[]): number[] {
  const out = new Set<number>();
  for (const w of windows) {
    if (!Number.isSafeInteger(w) || w < 0)
      throw new TypeError(`rollup window must be a non-negative integer, got ${w}`);
    out.add(w);
  }
  return [...out].sort((a, b) => a - b);
}
