import { describe, expect, it } from 'vitest';
import { KnownEpochs } from './epochs.ts';

describe('KnownEpochs', () => {
  it('remembers the last epoch per key until its window passes', () => {
    const k = new KnownEpochs(10);
    k.set('a', 'e1', 1000, 500);
    expect(k.get('a', 1499)).toBe('e1');
    k.set('a', 'e2', 1400, 500);
    expect(k.get('a', 1899)).toBe('e2');
    expect(k.get('a', 1900)).toBeUndefined();
    expect(k.size).toBe(0);
  });

  it('drops the least recently seen past the cap', () => {
    const k = new KnownEpochs(2);
    k.set('a', '1', 0, 1000);
    k.set('b', '2', 0, 1000);
    k.set('a', '3', 1, 1000);
    k.set('c', '4', 2, 1000);
    expect(k.get('b', 3)).toBeUndefined();
    expect(k.get('a', 3)).toBe('3');
    expect(k.get('c', 3)).toBe('4');
  });

  it('validates its cap', () => {
    expect(() => new KnownEpochs(0)).toThrow(TypeError);
  });
});
