// Per-channel ordering of committed messages on one node (PROTOCOL.md decision 9): messages of a
// channel reach delivery in serial order whatever node committed them and whatever order the
// transport brought them in. Serials are contiguous per channel and epoch (the store assigns
// them), so the orderer holds a message that arrives early, and when the gap does not fill within
// `gapTimeoutMs` (a message lost on the transport: a dropped pub/sub connection, a publish that
// failed) it fetches the missing serials from the store (`repair`) and delivers them in order. A
// duplicate (serial already delivered) is dropped. Nothing is ever delivered out of order; what
// the store no longer has is skipped, counted and logged — the recovery ladder of the clients
// then takes over.
//
// Messages without a serial (channels without history) are delivered as they come: they carry no
// order to restore. Timers and the clock are injected so the logic is testable.
import type { ChannelMessage, ChannelSignal } from '../pipeline/message.ts';
import { serialOf } from '../pipeline/message.ts';

export interface OrdererDeps {
  readonly now: () => number;
  readonly setTimer: (fn: () => void, ms: number) => unknown;
  readonly clearTimer: (handle: unknown) => void;
  /** The next stage (delivery); called in order per channel. */
  readonly deliver: (m: ChannelSignal) => void;
  /** Fetches serials from..to (inclusive) of a channel from the store, ascending. */
  readonly repair: (
    appId: string,
    channel: string,
    kind: ChannelMessage['kind'],
    from: number,
    to: number,
  ) => Promise<ChannelMessage[]>;
  readonly gapTimeoutMs: number;
  /** Early messages held per channel; past it the repair runs at once. */
  readonly maxPendingPerChannel: number;
  /** Channels tracked; the least recently used is forgotten past it. */
  readonly maxChannels: number;
  readonly onDuplicate?: (m: ChannelMessage) => void;
  readonly onGap?: (result: 'repaired' | 'unrecoverable', count: number, m: { appId: string; channel: string }) => void;
}

interface ChannelOrder {
  readonly appId: string;
  readonly channel: string;
  readonly kind: ChannelMessage['kind'];
  streamId: string;
  /** The serial the channel waits for. */
  next: number;
  readonly pending: Map<number, ChannelMessage>;
  timer: unknown;
  repairing: boolean;
  /** Consecutive repairs that failed to reach the store (backoff). */
  failures: number;
}

/** Held messages per channel past which a channel the store cannot repair gives up the gap. */
const HARD_PENDING_FACTOR = 10;
const MAX_REPAIR_BACKOFF_MS = 5000;

function keyOf(appId: string, channel: string): string {
  return `${appId.length}:${appId}|${channel}`;
}

/** What a catch-up delivered, and the channels whose store reads failed (to try again). */
export interface CatchUpResult {
  readonly delivered: number;
  readonly failed: ReadonlyArray<{ readonly appId: string; readonly channel: string }>;
}

export class ChannelOrderer {
  readonly #d: OrdererDeps;
  readonly #channels = new Map<string, ChannelOrder>();

  constructor(deps: OrdererDeps) {
    this.#d = deps;
  }

  /** Channels tracked now (tests, diagnostics). */
  get tracked(): number {
    return this.#channels.size;
  }

  /** Messages held waiting for an earlier serial, all channels (`horizontal_transport_queue_depth`). */
  get held(): number {
    let n = 0;
    for (const c of this.#channels.values()) n += c.pending.size;
    return n;
  }

  /**
   * A subscriber here attached at this point of the channel (read from the store): when the
   * channel is not tracked yet, track it from `next`, so a message committed meanwhile that
   * this node never received is a gap to repair (and a catch-up covers the channel) instead of
   * silently missing — the first message seen is not where the stream starts for it.
   */
  expect(appId: string, channel: string, kind: ChannelMessage['kind'], streamId: string, next: number): void {
    const key = keyOf(appId, channel);
    if (this.#channels.has(key)) return;
    if (this.#channels.size >= this.#d.maxChannels) this.#forget(this.#channels.keys().next().value as string);
    this.#channels.set(key, {
      appId,
      channel,
      kind,
      streamId,
      next,
      pending: new Map(),
      timer: undefined,
      repairing: false,
      failures: 0,
    });
  }

  accept(signal: ChannelSignal): void {
    if (signal.kind === 'reset') {
      this.#forget(keyOf(signal.appId, signal.channel));
      this.#d.deliver(signal);
      return;
    }
    const serial = serialOf(signal);
    const streamId = signal.streamId;
    if (serial === undefined || streamId === undefined) {
      this.#d.deliver(signal);
      return;
    }
    const key = keyOf(signal.appId, signal.channel);
    let st = this.#channels.get(key);
    if (st && st.streamId !== streamId) {
      // A new epoch (a reset elsewhere, or data loss): start over from this message.
      this.#forget(key);
      st = undefined;
    }
    if (!st) {
      st = {
        appId: signal.appId,
        channel: signal.channel,
        kind: signal.kind,
        streamId,
        next: serial,
        pending: new Map(),
        timer: undefined,
        repairing: false,
        failures: 0,
      };
      if (this.#channels.size >= this.#d.maxChannels) this.#forget(this.#channels.keys().next().value as string);
    } else {
      this.#channels.delete(key);
    }
    this.#channels.set(key, st);
    if (serial < st.next || st.pending.has(serial)) {
      this.#d.onDuplicate?.(signal);
      return;
    }
    if (serial > st.next) {
      st.pending.set(serial, signal);
      if (st.repairing) return;
      if (st.pending.size > this.#d.maxPendingPerChannel && st.failures === 0) void this.#repair(key, st);
      else if (st.timer === undefined) {
        st.timer = this.#d.setTimer(() => {
          st.timer = undefined;
          void this.#repair(key, st);
        }, this.#d.gapTimeoutMs);
      }
      return;
    }
    this.#d.deliver(signal);
    st.next = serial + 1;
    this.#drain(st);
  }

  #drain(st: ChannelOrder): void {
    for (let m = st.pending.get(st.next); m !== undefined; m = st.pending.get(st.next)) {
      st.pending.delete(st.next);
      this.#d.deliver(m);
      st.next++;
    }
    if (st.pending.size === 0 && st.timer !== undefined) {
      this.#d.clearTimer(st.timer);
      st.timer = undefined;
    }
  }

  async #repair(key: string, st: ChannelOrder): Promise<void> {
    if (st.repairing || st.pending.size === 0) return;
    if (st.timer !== undefined) {
      this.#d.clearTimer(st.timer);
      st.timer = undefined;
    }
    st.repairing = true;
    const from = st.next;
    const to = Math.min(...st.pending.keys()) - 1;
    let fetched: ChannelMessage[];
    try {
      fetched = await this.#d.repair(st.appId, st.channel, st.kind, from, to);
      st.failures = 0;
    } catch {
      // The store is unreachable: that is not "the serials are gone". Keep holding and try again
      // with backoff, unless the channel holds far too much (then give the gap up, counted).
      st.repairing = false;
      if (this.#channels.get(key) !== st) return;
      st.failures++;
      if (st.pending.size > this.#d.maxPendingPerChannel * HARD_PENDING_FACTOR) {
        this.#skip(st);
        return;
      }
      const delay = Math.min(MAX_REPAIR_BACKOFF_MS, this.#d.gapTimeoutMs * 2 ** st.failures);
      if (st.timer === undefined) {
        st.timer = this.#d.setTimer(() => {
          st.timer = undefined;
          void this.#repair(key, st);
        }, delay);
      }
      return;
    }
    st.repairing = false;
    if (this.#channels.get(key) !== st) return; // forgotten or a new epoch meanwhile
    let repaired = 0;
    for (const m of fetched) {
      const s = serialOf(m);
      if (s === undefined || s < st.next || m.streamId !== st.streamId || st.pending.has(s)) continue;
      st.pending.set(s, m);
      repaired++;
    }
    const before = st.next;
    this.#drain(st);
    if (repaired > 0) this.#d.onGap?.('repaired', repaired, st);
    // The store answered but does not have the missing serials (evicted, or lost): skip them.
    if (st.pending.size > 0 && st.next === before) this.#skip(st);
    if (st.pending.size > 0 && st.timer === undefined) {
      st.timer = this.#d.setTimer(() => {
        st.timer = undefined;
        void this.#repair(key, st);
      }, this.#d.gapTimeoutMs);
    }
  }

  /** Gives up the gap before the lowest held serial: counted, then delivery goes on from there. */
  #skip(st: ChannelOrder): void {
    if (st.pending.size === 0) return;
    const skipTo = Math.min(...st.pending.keys());
    this.#d.onGap?.('unrecoverable', skipTo - st.next, st);
    st.next = skipTo;
    this.#drain(st);
  }

  /**
   * Checks channels against the store's heads after the transport lost messages it cannot
   * report (a reconnected subscription): messages after the last delivered serial are fetched
   * and delivered. `heads` gives each channel's newest serial.
   */
  async catchUp(
    channels: Iterable<{ appId: string; channel: string }>,
    newest: (appId: string, channel: string, kind: ChannelMessage['kind']) => Promise<number | undefined>,
  ): Promise<CatchUpResult> {
    let delivered = 0;
    const failed: Array<{ appId: string; channel: string }> = [];
    for (const { appId, channel } of channels) {
      const key = keyOf(appId, channel);
      const st = this.#channels.get(key);
      if (!st || st.repairing) continue;
      let head: number | undefined;
      let fetched: ChannelMessage[] = [];
      try {
        head = await newest(appId, channel, st.kind);
        if (head === undefined || head < st.next || this.#channels.get(key) !== st) continue;
        fetched = await this.#d.repair(appId, channel, st.kind, st.next, head);
      } catch {
        // The store is not back yet: the caller tries these again.
        failed.push({ appId, channel });
        continue;
      }
      for (const m of fetched) {
        const before = st.next;
        this.accept(m);
        if (st.next > before) delivered += st.next - before;
      }
    }
    return { delivered, failed };
  }

  /** Channels tracked with their app (for catch-up after a reconnect). */
  channels(): Array<{ appId: string; channel: string }> {
    return [...this.#channels.values()].map((c) => ({ appId: c.appId, channel: c.channel }));
  }

  #forget(key: string): void {
    const st = this.#channels.get(key);
    if (!st) return;
    if (st.timer !== undefined) this.#d.clearTimer(st.timer);
    this.#channels.delete(key);
  }

  stop(): void {
    for (const key of [...this.#channels.keys()]) this.#forget(key);
  }
}
