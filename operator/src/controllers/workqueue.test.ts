import { describe, expect, it } from 'vitest';
import { FakeClock } from '../kube/fake-clock.ts';
import { WorkQueue } from './workqueue.ts';

function setup() {
  const clock = new FakeClock();
  const depths: number[] = [];
  const q = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 1000, onDepth: (d) => depths.push(d) });
  return { clock, q, depths };
}

describe('WorkQueue', () => {
  it('dedupes a key added several times before it is processed', async () => {
    const { q } = setup();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('never hands out a key while it is in flight; re-adds run once after done', async () => {
    const { q } = setup();
    q.add('a');
    const key = await q.get();
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => {
      second = k;
    });
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(key as string);
    await Promise.resolve();
    expect(second).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const { q } = setup();
    const p = q.get();
    q.add('x');
    expect(await p).toBe('x');
    expect(q.isProcessing('x')).toBe(true);
  });

  it('backs off per key exponentially up to the cap, and forget resets it', async () => {
    const { clock, q } = setup();
    expect([1, 2, 3, 4, 5].map(() => q.addRateLimited('a'))).toEqual([100, 200, 400, 800, 1000]);
    expect(q.addRateLimited('b')).toBe(100);
    q.forget('a');
    expect(q.backoffFor('a')).toBe(100);
    // the earliest schedule of 'a' (100 ms) wins over the later ones
    await clock.advance(99);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(2);
  });

  it('requeueAfter: the key comes back once its time has come', async () => {
    const { clock, q } = setup();
    q.addAfter('a', 5000);
    q.addAfter('a', 2000);
    await clock.advance(1999);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    await clock.advance(5000);
    expect(q.len()).toBe(1);
  });

  it('reports the depth and shuts down cleanly', async () => {
    const { clock, q, depths } = setup();
    q.add('a');
    q.add('b');
    q.addAfter('c', 100);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(depths).toEqual([1, 2, 1, 0]);
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    expect(await q.get()).toBeUndefined();
    await clock.advance(1000); // the delayed 'c' was dropped
    q.add('d');
    expect(q.len()).toBe(0);
  });
});
