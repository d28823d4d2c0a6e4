// A growable ring buffer (double-ended queue) with O(1) push/shift and O(1) indexed access.
// The memory stores keep per-channel rows in one so that eviction from the old end never
// costs O(n) (Array#shift does) and a row can be found by serial offset in O(1).

export class Ring<T> {
  #buf: (T | undefined)[];
  #head = 0;
  #size = 0;

  constructor(initialCapacity = 16) {
    let cap = 1;
    while (cap < initialCapacity) cap *= 2;
    this.#buf = new Array<T | undefined>(cap);
  }

  get length(): number {
    return this.#size;
  }

  /** The element at logical index i (0 = oldest), or undefined when out of range. */
  at(i: number): T | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.#size) return undefined;
    return this.#buf[(this.#head + i) & (this.#buf.length - 1)];
  }

  first(): T | undefined {
    return this.at(0);
  }

  last(): T | undefined {
    return this.at(this.#size - 1);
  }

  push(value: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#size) & (this.#buf.length - 1)] = value;
    this.#size++;
  }

  /** Removes and returns the oldest element. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const v = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.#size--;
    if (this.#size === 0) this.#head = 0;
    return v;
  }

  clear(): void {
    this.#buf = new Array<T | undefined>(16);
    this.#head = 0;
    this.#size = 0;
  }

  /** Index of the first element for which `pred` is true, assuming pred is monotone
   * (false...false, true...true) over the ring; `length` when none. O(log n). */
  lowerBound(pred: (v: T) => boolean): number {
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pred(this.at(mid) as T)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  #grow(): void {
    const old = this.#buf;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#buf = next;
    this.#head = 0;
  }
}
