// The hot tier of connection recovery (PROTOCOL.md 6.5): a per-node buffer of the exact V2 wire
// frames of each channel, bounded by count (`max_buffer_size`, also the largest hot replay) and
// by age (`buffer_ttl_seconds`). It is a cache (I6): losing it only sends resumes to the cold
// tier. The interface is async like every store, and has a memory implementation below; a
// shared implementation is possible but not needed (every node buffers what it fans out).
import { assertScope, scopedKey } from '../stores/keys.ts';
import { Ring } from '../stores/ring.ts';
import { isSerial, type Serial } from './types.ts';

export interface HotEntry {
  /** The wire `serial` of the frame (delivery serial on versioned channels, else history serial). */
  readonly serial: Serial;
  readonly streamId: string;
  readonly messageId?: string;
  /** The exact V2 frame as sent. */
  readonly frame: string;
  readonly storedAtMs: number;
}

export type HotPush = Omit<HotEntry, 'storedAtMs'>;

/** What the buffer holds after a position, for the recovery ladder (`decideHot`). */
export interface HotSnapshot {
  /** The stream id of the buffered frames; null when the channel has nothing buffered. */
  readonly streamId: string | null;
  readonly oldestSerial: Serial | null;
  readonly newestSerial: Serial | null;
  /** Entries with serial > the position, ascending, at most the requested maximum. */
  readonly entries: readonly HotEntry[];
}

export interface HotReplayBuffer {
  /** Buffers a frame in fanout order. A new stream id empties the channel's buffer first
   * (`reset`); a serial not above the newest is ignored (`ignored`). */
  push(appId: string, channel: string, entry: HotPush): Promise<'stored' | 'reset' | 'ignored'>;
  /** The live (unexpired) frames after `afterSerial`, at most `max`. */
  after(appId: string, channel: string, afterSerial: Serial, max: number): Promise<HotSnapshot>;
  clear(appId: string, channel: string): Promise<void>;
}

export interface MemoryHotBufferOptions {
  readonly now?: () => number;
  /** Frames kept per channel (`max_buffer_size`, default 100). */
  readonly maxMessages?: number;
  /** Frame lifetime (`buffer_ttl_seconds`, default 120 s). */
  readonly ttlMs?: number;
  /** Channels kept, least recently pushed dropped first (default 100 000). */
  readonly maxChannels?: number;
  /** Largest frame buffered (default 1 MiB); larger frames empty the channel's buffer, so a
   * resume across them falls through to the cold tier instead of replaying a gap. */
  readonly maxFrameBytes?: number;
}

interface HotChan {
  streamId: string;
  readonly ring: Ring<HotEntry>;
}

export class MemoryHotReplayBuffer implements HotReplayBuffer {
  readonly #now: () => number;
  readonly #maxMessages: number;
  readonly #ttlMs: number;
  readonly #maxChannels: number;
  readonly #maxFrameBytes: number;
  readonly #channels = new Map<string, HotChan>();

  constructor(opts: MemoryHotBufferOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#maxMessages = opts.maxMessages ?? 100;
    this.#ttlMs = opts.ttlMs ?? 120_000;
    this.#maxChannels = opts.maxChannels ?? 100_000;
    this.#maxFrameBytes = opts.maxFrameBytes ?? 1024 * 1024;
    for (const [k, v] of Object.entries({ maxMessages: this.#maxMessages, ttlMs: this.#ttlMs })) {
      if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`${k} must be a positive integer`);
    }
  }

  async push(appId: string, channel: string, entry: HotPush): Promise<'stored' | 'reset' | 'ignored'> {
    assertScope(appId, channel);
    if (!isSerial(entry.serial) || entry.serial < 1) throw new TypeError('hot entry serial must be >= 1');
    if (typeof entry.frame !== 'string') throw new TypeError('hot entry frame must be a string');
    const key = scopedKey(appId, channel);
    const now = this.#now();
    let ch = this.#channels.get(key);
    let result: 'stored' | 'reset' = 'stored';
    if (ch && ch.streamId !== entry.streamId) {
      this.#channels.delete(key);
      ch = undefined;
      result = 'reset';
    }
    if (ch) {
      const newest = ch.ring.last();
      if (newest && entry.serial <= newest.serial) return 'ignored';
      this.#channels.delete(key);
    } else {
      ch = { streamId: entry.streamId, ring: new Ring() };
      if (this.#channels.size >= this.#maxChannels) this.#channels.delete(this.#channels.keys().next().value as string);
    }
    this.#channels.set(key, ch);
    if (entry.frame.length > this.#maxFrameBytes) {
      // Too big to keep: forget the channel's frames so no resume replays across the hole.
      this.#channels.delete(key);
      return 'ignored';
    }
    const stored: HotEntry = { ...entry, storedAtMs: now };
    ch.ring.push(stored);
    while (ch.ring.length > this.#maxMessages) ch.ring.shift();
    this.#expire(ch, now);
    return result;
  }

  async after(appId: string, channel: string, afterSerial: Serial, max: number): Promise<HotSnapshot> {
    assertScope(appId, channel);
    if (!isSerial(afterSerial)) throw new TypeError('afterSerial must be a u64 counter');
    if (!Number.isSafeInteger(max) || max < 0) throw new TypeError('max must be a non-negative integer');
    const ch = this.#channels.get(scopedKey(appId, channel));
    if (!ch) return { streamId: null, oldestSerial: null, newestSerial: null, entries: [] };
    this.#expire(ch, this.#now());
    const ring = ch.ring;
    if (ring.length === 0) return { streamId: ch.streamId, oldestSerial: null, newestSerial: null, entries: [] };
    const start = ring.lowerBound((e) => e.serial > afterSerial);
    const end = Math.min(ring.length, start + Math.min(max, this.#maxMessages));
    const entries: HotEntry[] = [];
    for (let i = start; i < end; i++) entries.push(ring.at(i) as HotEntry);
    return {
      streamId: ch.streamId,
      oldestSerial: (ring.first() as HotEntry).serial,
      newestSerial: (ring.last() as HotEntry).serial,
      entries,
    };
  }

  async clear(appId: string, channel: string): Promise<void> {
    assertScope(appId, channel);
    this.#channels.delete(scopedKey(appId, channel));
  }

  #expire(ch: HotChan, now: number): void {
    const cutoff = now - this.#ttlMs;
    for (let e = ch.ring.first(); e !== undefined && e.storedAtMs <= cutoff; e = ch.ring.first()) ch.ring.shift();
  }
}
