// The attach gate of one socket on one channel: while a V2 socket is being attached (subscribe
// with history, rewind, resume), live frames for it are held here, one per committed version
// (never rolled up), and released once its snapshot or replay has been sent, minus what the
// snapshot already covered (PROTOCOL.md 2.2, 6.4, 6.5). Bounded (STANDARDS C4): an overflow
// closes the socket so it reconnects and recovers instead of growing memory.

export interface BufferedFrame {
  readonly frame: Buffer;
  /** The wire serial (delivery serial on versioned channels). */
  readonly serial: number | undefined;
  /** Creates and history events: their history serial (what an attach point covers). */
  readonly createHistorySerial: number | undefined;
  readonly messageId: string | undefined;
}

/** What a snapshot or replay already gave the client, so released frames skip it. */
export interface AttachCovered {
  /** Creates and events with a history serial at or below this are in the snapshot. */
  readonly historySerial?: number;
  /** Frames with a wire serial at or below this were replayed. */
  readonly serial?: number;
  /** Ids of creates and events already sent (rewind). */
  readonly messageIds?: ReadonlySet<string>;
}

export class AttachBuffer {
  readonly #maxFrames: number;
  readonly #maxBytes: number;
  /** Operations holding the buffer (a subscribe's attach, then a resume queued behind it). */
  #holders = 1;
  #frames: BufferedFrame[] = [];
  #bytes = 0;
  #overflowed = false;

  constructor(maxFrames: number, maxBytes: number) {
    this.#maxFrames = maxFrames;
    this.#maxBytes = maxBytes;
  }

  /** One more operation holds the buffer: it is released only when the last one lets go. */
  hold(): void {
    this.#holders++;
  }

  /** How many operations hold the buffer now. */
  get holders(): number {
    return this.#holders;
  }

  /** Lets go; returns how many operations still hold the buffer. */
  unhold(): number {
    this.#holders = Math.max(0, this.#holders - 1);
    return this.#holders;
  }

  get overflowed(): boolean {
    return this.#overflowed;
  }

  get size(): number {
    return this.#frames.length;
  }

  /** Holds one frame; false (and overflowed) when the buffer is full. */
  push(f: BufferedFrame): boolean {
    if (this.#overflowed) return false;
    if (this.#frames.length >= this.#maxFrames || this.#bytes + f.frame.length > this.#maxBytes) {
      this.#overflowed = true;
      this.#frames = [];
      this.#bytes = 0;
      return false;
    }
    this.#frames.push(f);
    this.#bytes += f.frame.length;
    return true;
  }

  /** The held frames the client still needs, in arrival order; empties the buffer. */
  release(covered: AttachCovered): BufferedFrame[] {
    const out = this.#frames.filter((f) => !isCovered(f, covered));
    this.#frames = [];
    this.#bytes = 0;
    return out;
  }
}

export function isCovered(f: BufferedFrame, c: AttachCovered): boolean {
  if (c.serial !== undefined && f.serial !== undefined && f.serial <= c.serial) return true;
  if (
    c.historySerial !== undefined &&
    f.createHistorySerial !== undefined &&
    f.createHistorySerial <= c.historySerial
  ) {
    return true;
  }
  // Only creates/events by id: a mutation carries its create's id but may be newer than the snapshot.
  return f.createHistorySerial !== undefined && f.messageId !== undefined && c.messageIds?.has(f.messageId) === true;
}
