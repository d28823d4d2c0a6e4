import { describe, expect, it } from 'vitest';
import { compilePolicies, findPolicy, globToRegExp, parsePolicyDocument } from './channel-policies.ts';

describe('channel policy documents', () => {
  it('parses what the operator renders, with defaults', () => {
    const r = parsePolicyDocument({
      version: 1,
      policies: [{ name: 'p', appId: 'a', channels: { prefixes: ['ai:'] }, rollup: { windowMs: 20 } }],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const p = r.doc.policies[0];
    expect(p?.history).toMatchObject({ enabled: true, retention: { maxMessages: 1000 }, recovery: { enabled: true } });
    expect(p?.rollup).toEqual({ enabled: true, windowMs: 20, maxBufferBytes: 65536 });
  });

  it('names every problem with its path', () => {
    const r = parsePolicyDocument({
      version: 2,
      policies: [{ name: '', appId: 'a', channels: {}, rollup: { windowMs: 30 }, extra: 1 }],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.issues.join('\n');
    expect(text).toContain('version');
    expect(text).toContain('policies.0.name');
    expect(text).toContain('policies.0.channels');
    expect(text).toContain('policies.0.rollup.windowMs');
    expect(text).toMatch(/extra/);
  });

  it('matches names, prefixes and globs; the first policy by name wins', () => {
    const doc = parsePolicyDocument({
      version: 1,
      policies: [
        { name: 'z', appId: 'a', channels: { prefixes: ['presence-'] } },
        { name: 'm', appId: 'a', channels: { patterns: ['presence-ai-*', 'x?y'] } },
        { name: 'a', appId: 'a', channels: { names: ['exact'] } },
      ],
    });
    if (!doc.ok) throw new Error('invalid');
    const compiled = compilePolicies(doc.doc.policies);
    expect(findPolicy(compiled, 'a', 'presence-ai-1')?.name).toBe('m');
    expect(findPolicy(compiled, 'a', 'presence-chat')?.name).toBe('z');
    expect(findPolicy(compiled, 'a', 'exact')?.name).toBe('a');
    expect(findPolicy(compiled, 'a', 'xzy')?.name).toBe('m');
    expect(findPolicy(compiled, 'a', 'xzzy')).toBeUndefined();
    expect(findPolicy(compiled, 'b', 'exact')).toBeUndefined();
  });

  it('treats regex metacharacters in globs literally', () => {
    expect(globToRegExp('a.b*').test('a.bc')).toBe(true);
    expect(globToRegExp('a.b*').test('axbc')).toBe(false);
    expect(globToRegExp('(x)+').test('(x)+')).toBe(true);
  });
});
