import { describe, expect, it } from 'vitest';
import { Ring } from './ring.ts';

describe('Ring', () => {
  it('behaves as a FIFO with indexed access across growth and wrap-around', () => {
    const r = new Ring<number>(2);
    const model: number[] = [];
    let next = 0;
    for (let step = 0; step < 2000; step++) {
      if (step % 3 === 2) {
        expect(r.shift()).toBe(model.shift());
      } else {
        r.push(next);
        model.push(next++);
      }
      expect(r.length).toBe(model.length);
      expect(r.first()).toBe(model[0]);
      expect(r.last()).toBe(model[model.length - 1]);
      const i = step % Math.max(1, model.length);
      expect(r.at(i)).toBe(model[i]);
    }
    expect(r.at(-1)).toBeUndefined();
    expect(r.at(model.length)).toBeUndefined();
  });

  it('binary-searches a monotone predicate', () => {
    const r = new Ring<number>();
    for (let i = 0; i < 100; i++) r.push(i * 2);
    for (let i = 0; i < 10; i++) r.shift();
    expect(r.lowerBound((v) => v >= 50)).toBe(15);
    expect(r.lowerBound((v) => v > 1000)).toBe(r.length);
    expect(r.lowerBound(() => true)).toBe(0);
    r.clear();
    expect(r.length).toBe(0);
    expect(r.shift()).toBeUndefined();
  });
});
