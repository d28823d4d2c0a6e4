import { describe, expect, it } from 'vitest';
import { ChannelRegistry } from './registry.ts';

describe('ChannelRegistry', () => {
  it('isolates apps', () => {
    const r = new ChannelRegistry<string>();
    r.subscribe('a1', 'ch', 's1');
    expect(r.get('a2', 'ch')).toBeUndefined();
    expect(r.list('a1').map((c) => c.name)).toEqual(['ch']);
    expect(r.list('a2')).toEqual([]);
  });
  it('reports created, already and deleted', () => {
    const r = new ChannelRegistry<string>();
    expect(r.subscribe('a', 'ch', 's1')).toEqual({ already: false, created: true, memberAdded: false });
    expect(r.subscribe('a', 'ch', 's1')).toEqual({ already: true, created: false, memberAdded: false });
    expect(r.subscribe('a', 'ch', 's2').created).toBe(false);
    expect(r.count()).toBe(1);
    expect(r.unsubscribe('a', 'ch', 's1')).toMatchObject({ removed: true, deleted: false });
    expect(r.unsubscribe('a', 'ch', 's1')).toMatchObject({ removed: false, deleted: false });
    expect(r.unsubscribe('a', 'ch', 's2')).toMatchObject({ removed: true, deleted: true });
    expect(r.count()).toBe(0);
  });
  it('tracks presence users across sockets', () => {
    const r = new ChannelRegistry<string>();
    expect(r.subscribe('a', 'presence-x', 's1', { id: 'u', info: 1 }).memberAdded).toBe(true);
    expect(r.subscribe('a', 'presence-x', 's2', { id: 'u', info: 1 }).memberAdded).toBe(false);
    expect(r.get('a', 'presence-x')?.presence?.size).toBe(1);
    expect(r.unsubscribe('a', 'presence-x', 's1').memberRemoved).toBeUndefined();
    expect(r.unsubscribe('a', 'presence-x', 's2').memberRemoved).toBe('u');
  });
  it('filters by prefix', () => {
    const r = new ChannelRegistry<string>();
    r.subscribe('a', 'private-1', 's');
    r.subscribe('a', 'public-1', 's');
    expect(r.list('a', 'private-').map((c) => c.name)).toEqual(['private-1']);
  });
});
