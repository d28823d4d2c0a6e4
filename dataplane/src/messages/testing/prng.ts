// A small seeded PRNG for property-style tests (no fast-check). mulberry32: 32-bit state, good
// enough spread for test generation, and every failure is reproducible from its seed.
// Run one seed with PROPERTY_SEED=<n>; widen a run with PROPERTY_RUNS=<n>.

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  readonly seed: number;
  readonly #next: () => number;

  constructor(seed: number) {
    this.seed = seed;
    this.#next = mulberry32(seed);
  }

  /** [0, 1) */
  float(): number {
    return this.#next();
  }

  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.#next() * (hi - lo + 1));
  }

  bool(p = 0.5): boolean {
    return this.#next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.#next() * items.length)]!;
  }

  /** A string of `len` characters from `alphabet` (default: ASCII letters, space, and a few
   * multi-byte characters so byte and character counts differ). */
  string(len: number, alphabet = 'abcdefghij KLMNOP.,é€😀'): string {
    const chars = [...alphabet];
    let s = '';
    for (let i = 0; i < len; i++) s += this.pick(chars);
    return s;
  }
}

/** The seeds a property runs with: PROPERTY_SEED pins one; otherwise `runs` fixed seeds. */
export function propertySeeds(runs: number, base = 0x5eed): number[] {
  const pinned = process.env['PROPERTY_SEED'];
  if (pinned !== undefined && pinned !== '') return [Number(pinned)];
  const n = Number(process.env['PROPERTY_RUNS'] ?? runs) || runs;
  return Array.from({ length: n }, (_, i) => (base + i * 7919) >>> 0);
}
