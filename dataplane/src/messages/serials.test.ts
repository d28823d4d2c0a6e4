import { describe, expect, it } from 'vitest';
import {
  assertCounter,
  compareSerials,
  formatSerial,
  isCounter,
  parseCounter,
  parseSerial,
  SerialGenerator,
  serialProblem,
} from './serials.ts';
import { propertySeeds, Rng } from './testing/prng.ts';

describe('serial format', () => {
  it('matches the server format of PROTOCOL.md 3.3', () => {
    expect(formatSerial(1712345678901, 'node', 7)).toBe('00000001712345678901:node:00000000000000000007');
  });

  it('round-trips through parseSerial and leaves opaque serials alone', () => {
    expect(parseSerial('00000001712345678901:pod-1:00000000000000000042')).toEqual({
      ms: 1712345678901,
      node: 'pod-1',
      counter: 42,
    });
    expect(parseSerial('msg:1')).toBeUndefined();
    expect(parseSerial('00000001712345678901:node:7')).toBeUndefined();
  });

  it('rejects node ids that would break the format', () => {
    expect(() => formatSerial(1, 'a b', 1)).toThrow(TypeError);
    expect(() => new SerialGenerator({ node: 'x:y', now: () => 0 })).toThrow(TypeError);
    expect(() => new SerialGenerator({ node: '', now: () => 0 })).toThrow(TypeError);
  });

  it.each([
    ['', 'non-empty'],
    ['a b', 'whitespace'],
    ['a\tb', 'whitespace'],
    ['a\u00a0b', 'whitespace'],
    ['x'.repeat(129), 'at most 128 bytes'],
    ['é'.repeat(65), 'at most 128 bytes'],
  ])('serialProblem(%j) mentions %s', (value, reason) => {
    expect(serialProblem('version_serial', value)).toContain(reason);
  });

  it.each([['x'.repeat(128)], ['é'.repeat(64)], ['msg:1'], ['00000001712345678901:node:00000000000000000007']])(
    'accepts %j',
    (value) => {
      expect(serialProblem('version_serial', value)).toBeUndefined();
    },
  );

  it('rejects non-strings', () => {
    expect(serialProblem('message_serial', 42)).toContain('non-empty string');
    expect(serialProblem('message_serial', undefined)).toContain('non-empty string');
  });

  it('sorts server serials by plain string comparison in time then counter order', () => {
    const a = formatSerial(999, 'n', 5);
    const b = formatSerial(1000, 'n', 1);
    const c = formatSerial(1000, 'n', 2);
    expect([c, a, b].sort()).toEqual([a, b, c]);
    expect(compareSerials(a, b)).toBe(-1);
    expect(compareSerials(c, c)).toBe(0);
  });
});

describe('u64 counters as safe integers', () => {
  it.each([
    [0, true],
    [1, true],
    [Number.MAX_SAFE_INTEGER, true],
    [Number.MAX_SAFE_INTEGER + 1, false],
    [-1, false],
    [1.5, false],
    [Number.NaN, false],
  ])('isCounter(%s) = %s', (n, ok) => {
    expect(isCounter(n)).toBe(ok);
  });

  it('parses decimal strings and bigints, refusing anything it cannot hold exactly', () => {
    expect(parseCounter('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseCounter('9007199254740992')).toBeUndefined();
    expect(parseCounter(12n)).toBe(12);
    expect(parseCounter(2n ** 60n)).toBeUndefined();
    expect(parseCounter('-1')).toBeUndefined();
    expect(parseCounter('1e3')).toBeUndefined();
    expect(parseCounter(3)).toBe(3);
  });

  it('throws a RangeError naming the counter', () => {
    expect(() => assertCounter('delivery_serial', 2 ** 60)).toThrow(/delivery_serial/);
  });

  it('serializes as a plain JSON integer (decision 10)', () => {
    const json = JSON.stringify({ serial: Number.MAX_SAFE_INTEGER, ts: 1712345678901 });
    expect(json).toBe('{"serial":9007199254740991,"ts":1712345678901}');
  });
});

describe('SerialGenerator', () => {
  it('uses the clock and counts up', () => {
    let now = 1000;
    const g = new SerialGenerator({ node: 'n1', now: () => now });
    expect(g.next()).toBe(formatSerial(1000, 'n1', 1));
    now = 1005;
    expect(g.next()).toBe(formatSerial(1005, 'n1', 2));
  });

  it('holds the ms part when the clock goes backwards', () => {
    let now = 5000;
    const g = new SerialGenerator({ node: 'n1', now: () => now });
    const a = g.next();
    now = 10;
    const b = g.next();
    expect(b > a).toBe(true);
    expect(parseSerial(b)?.ms).toBe(5000);
  });

  it('goes past a serial from a node whose clock is ahead', () => {
    const ahead = new SerialGenerator({ node: 'zz', now: () => 9_000 });
    const behind = new SerialGenerator({ node: 'aa', now: () => 1_000 });
    const s1 = ahead.next();
    const s2 = behind.next(s1);
    expect(s2 > s1).toBe(true);
    // Same ms but a node id that sorts lower: the generator moves to the next ms.
    expect(parseSerial(s2)?.ms).toBe(9_001);
    const s3 = behind.next();
    expect(s3 > s2).toBe(true);
  });

  it('tolerates a non-finite clock', () => {
    const g = new SerialGenerator({ node: 'n', now: () => Number.NaN });
    const a = g.next();
    expect(g.next() > a).toBe(true);
  });

  // Property (d): strictly increasing under a clock that jumps backwards, on one node and across
  // nodes that chain versions of one message through next(after).
  it.each(propertySeeds(30))('strictly increases under a jumping clock (seed %i)', (seed) => {
    const rng = new Rng(seed);
    let clock = 1_700_000_000_000;
    const now = (): number => clock;
    const nodes = ['node-a', 'node-b', 'node-c'].map((node) => new SerialGenerator({ node, now }));
    const single = nodes[0]!;
    let prevSingle = '';
    let chainLatest = '';
    for (let i = 0; i < 2000; i++) {
      const r = rng.float();
      if (r < 0.1)
        clock -= rng.int(1, 60_000); // NTP step back
      else if (r < 0.15) clock += rng.int(1, 60_000);
      else clock += rng.int(0, 2);
      const s = single.next();
      expect(s > prevSingle, `seed ${seed} step ${i}: ${s} <= ${prevSingle}`).toBe(true);
      expect(serialProblem('version_serial', s)).toBeUndefined();
      prevSingle = s;
      // A message whose versions are written by whichever node gets the request.
      const writer = rng.pick(nodes);
      const v = writer.next(chainLatest || undefined);
      expect(v > chainLatest, `seed ${seed} step ${i}: chain ${v} <= ${chainLatest}`).toBe(true);
      chainLatest = v;
    }
  });
});
