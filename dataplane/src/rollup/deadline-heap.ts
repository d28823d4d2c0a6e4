// A binary min-heap of deadlines: (due, insertion sequence) → item. The rollup scheduler keeps
// one entry per tracked (stream, window) instead of a timer object per stream; `tick` pops only
// what is due, so the work per tick is bounded by what it pops.

interface Entry<T> {
  due: number;
  seq: number;
  item: T;
}

export class DeadlineHeap<T> {
  readonly #a: Entry<T>[] = [];
  #seq = 0;

  get size(): number {
    return this.#a.length;
  }

  push(due: number, item: T): void {
    const a = this.#a;
    a.push({ due, seq: this.#seq++, item });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  /** The earliest deadline, or undefined when empty. */
  peekDue(): number | undefined {
    return this.#a[0]?.due;
  }

  /** Removes and returns the earliest entry. */
  pop(): { due: number; item: T } | undefined {
    const a = this.#a;
    const top = a[0];
    if (top === undefined) return undefined;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return { due: top.due, item: top.item };
  }

  clear(): void {
    this.#a.length = 0;
  }
}

function less<T>(x: Entry<T>, y: Entry<T>): boolean {
  return x.due < y.due || (x.due === y.due && x.seq < y.seq);
}
