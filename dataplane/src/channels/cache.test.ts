import { describe, expect, it } from 'vitest';
import { ChannelCache } from './cache.ts';

describe('ChannelCache', () => {
  it('keeps the last event per app and channel', () => {
    const c = new ChannelCache();
    c.set('a1', 'cache-x', { event: 'e1', data: '1' }, 0);
    c.set('a1', 'cache-x', { event: 'e2', data: '2' }, 1);
    expect(c.get('a1', 'cache-x', 2)).toEqual({ event: 'e2', data: '2' });
    expect(c.get('a2', 'cache-x', 2)).toBeUndefined();
  });
  it('expires entries after the ttl, lazily and by sweep', () => {
    const c = new ChannelCache({ ttlMs: 100 });
    c.set('a', 'cache-1', { event: 'e', data: '' }, 0);
    c.set('a', 'cache-2', { event: 'e', data: '' }, 50);
    expect(c.get('a', 'cache-1', 100)).toBeUndefined();
    expect(c.sweep(149)).toBe(0);
    expect(c.sweep(150)).toBe(1);
    expect(c.size).toBe(0);
  });
  it('evicts the oldest write over maxEntries', () => {
    const c = new ChannelCache({ maxEntries: 2 });
    c.set('a', '1', { event: 'e', data: '' }, 0);
    c.set('a', '2', { event: 'e', data: '' }, 0);
    c.set('a', '1', { event: 'e', data: '' }, 0);
    c.set('a', '3', { event: 'e', data: '' }, 0);
    expect(c.get('a', '2', 0)).toBeUndefined();
    expect(c.get('a', '1', 0)).toBeDefined();
  });
});
