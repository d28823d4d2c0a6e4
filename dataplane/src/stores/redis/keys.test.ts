import { describe, expect, it } from 'vitest';
import { bucketOf, checkKeyPrefix, clusterSlot, encodePart, hashTag, RedisKeys } from './keys.ts';

describe('clusterSlot', () => {
  it('matches Redis Cluster’s CRC16 slots (values from CLUSTER KEYSLOT)', () => {
    expect(clusterSlot('123456789')).toBe(0x31c3 % 16384);
    expect(clusterSlot('foo')).toBe(12182);
    expect(clusterSlot('{user1000}.following')).toBe(clusterSlot('{user1000}.followers'));
    expect(clusterSlot('{user1000}.following')).toBe(clusterSlot('user1000'));
    // An empty tag `{}` hashes the whole key.
    expect(clusterSlot('foo{}{bar}')).toBe(clusterSlot('foo{}{bar}'));
    expect(clusterSlot('foo{}{bar}')).not.toBe(clusterSlot('bar'));
  });
});

describe('encoding', () => {
  it('escapes the characters that could open a tag or fake a separator', () => {
    expect(encodePart('a{b}c:d%e')).toBe('a%7Bb%7Dc%3Ad%25e');
    expect(hashTag('a:b', 'c')).not.toBe(hashTag('a', 'b:c'));
    expect(hashTag('x}', 'y')).toBe('{x%7D:y}');
  });

  it('buckets stably within range', () => {
    for (const ch of ['a', 'b', 'private-ai-1', '']) {
      const b = bucketOf(16, 'app', ch);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(16);
      expect(bucketOf(16, 'app', ch)).toBe(b);
    }
    expect(bucketOf(1, 'app', 'x')).toBe(0);
  });

  it('refuses prefixes with braces or other characters', () => {
    expect(checkKeyPrefix('ait:')).toBe('ait:');
    expect(checkKeyPrefix('')).toBe('');
    for (const bad of ['a{b', 'a}b', 'sp ace', 'x'.repeat(65)]) expect(() => checkKeyPrefix(bad)).toThrow(TypeError);
  });
});

describe('RedisKeys', () => {
  const keys = new RedisKeys({ prefix: 'p:', historyBuckets: 8, activeStreamBuckets: 4 });

  it('keeps every key of one history channel and its bucket in one slot', () => {
    for (const [app, ch] of [
      ['app', 'private-ai-1'],
      ['a{b}', 'c}{d'],
      ['a:b', 'c'],
    ] as const) {
      const k = keys.history(app, ch);
      const slots = new Set([k.meta, k.idle, k.bad, k.stats, k.rows, k.idx].map(clusterSlot));
      expect(slots.size).toBe(1);
      expect(k.meta).toBe(keys.historyBucket(app, k.bucket).meta);
      for (const key of [k.meta, k.rows]) expect(key.startsWith('p:h:{')).toBe(true);
    }
  });

  it('keeps every key of one version channel in one slot, apart from other apps', () => {
    const a = keys.version('a', 'ch');
    expect(new Set(Object.values(a).map(clusterSlot)).size).toBe(1);
    expect(keys.version('a:b', 'c').meta).not.toBe(keys.version('a', 'b:c').meta);
  });

  it('scopes single keys by app and hashes user-controlled idempotency keys', () => {
    expect(keys.publishClaim('a', 'ch', 'k')).toMatch(/^p:pc:\{a:ch\}:[0-9a-f]{64}$/);
    expect(keys.claim('a', 'job')).toBe('p:cl:{a:job}');
    expect(keys.revocations('a')).toBe('p:rv:{a}');
    expect(keys.idempotency('app:a:idempotency:{k}')).toBe('p:idem:{app%3Aa%3Aidempotency%3A%7Bk%7D}');
  });

  it('puts an active-stream entry, its bucket and its channel count in one slot', () => {
    const k = keys.activeChannel('a', 'ch');
    expect(k.bucket).toBeLessThan(4);
    expect(new Set([k.entries, k.seen, k.exp, k.count].map(clusterSlot)).size).toBe(1);
    expect(k.idPrefix).toBe('a:ch:');
  });

  it('validates bucket counts', () => {
    expect(() => new RedisKeys({ historyBuckets: 0 })).toThrow(TypeError);
    expect(() => new RedisKeys({ activeStreamBuckets: 2000 })).toThrow(TypeError);
  });
});
