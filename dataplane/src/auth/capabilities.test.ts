import { describe, expect, it } from 'vitest';
import {
  CAPABILITY_OPS,
  type CapabilityOp,
  can,
  capabilitySetFrom,
  normalizeOp,
  parseSigninCapabilities,
  parseTokenCapabilityClaim,
  patternMatches,
} from './capabilities.ts';

const BASIC: CapabilityOp[] = ['subscribe', 'publish', 'history', 'presence'];
const RESTRICTED: CapabilityOp[] = [
  'annotation-subscribe',
  'annotation-publish',
  'annotation-delete-own',
  'annotation-delete-any',
  'message-update-own',
  'message-update-any',
  'message-delete-own',
  'message-delete-any',
  'message-append-own',
  'message-append-any',
  'push-admin',
  'push-subscribe',
];

describe('normalizeOp', () => {
  it('knows exactly the 16 operations of PROTOCOL.md 2.4', () => {
    expect(new Set(CAPABILITY_OPS)).toEqual(new Set([...BASIC, ...RESTRICTED]));
  });

  it.each([
    ['subscribe', 'subscribe'],
    ['presence', 'presence'],
    ['annotation-subscribe', 'annotation-subscribe'],
    ['annotation_subscribe', 'annotation-subscribe'],
    ['message_append_own', 'message-append-own'],
    ['message-append_own', 'message-append-own'],
    ['message_delete_any', 'message-delete-any'],
    ['push_admin', 'push-admin'],
    ['push-subscribe', 'push-subscribe'],
  ])('%s -> %s', (input, want) => {
    expect(normalizeOp(input)).toBe(want);
  });

  it.each(['', 'admin', 'Subscribe', 'SUBSCRIBE', 'message-append', 'message append own', '*', 'subscribe '])(
    'rejects %j',
    (input) => {
      expect(normalizeOp(input)).toBeUndefined();
    },
  );
});

describe('patternMatches', () => {
  it.each<[string, string, boolean]>([
    ['*', 'anything', true],
    ['*', 'private-ai-1', true],
    ['private-ai-1', 'private-ai-1', true],
    ['private-ai-1', 'private-ai-12', false],
    ['private-ai-1', 'private-ai-', false],
    ['private-ai-*', 'private-ai-room', true],
    ['private-ai-*', 'private-ai-', true],
    ['private-ai-*', 'private-ai', false],
    ['private-ai-*', 'presence-ai-room', false],
    ['ns:*', 'ns', false],
    ['ns:*', 'ns:one', true],
    ['ns:*', 'NS:one', false],
    ['*-room', 'private-room', true],
    ['*-room', '-room', true],
    ['*-room', 'private-room-2', false],
    ['private-*-input', 'private-ai-input', true],
    ['private-*-input', 'private--input', true],
    ['private-*-input', 'private-input', false],
    ['private-*-input', 'private-ai-output', false],
    ['ab*ba', 'aba', false],
    ['ab*ba', 'abba', true],
    ['a*b*c', 'abc', false],
    ['a*b*c', 'aXbYc', false],
    ['Private-*', 'private-x', false],
    ['', '', false],
    ['', 'x', false],
  ])('%j ~ %j -> %s', (pattern, channel, want) => {
    expect(patternMatches(pattern, channel)).toBe(want);
  });
});

describe('parseTokenCapabilityClaim', () => {
  it('maps pattern -> ops into op -> patterns', () => {
    const r = parseTokenCapabilityClaim({
      'private-ai-*': ['subscribe', 'history', 'message_append_own'],
      'presence-room': ['subscribe', 'presence'],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.set.source).toBe('token');
    expect(r.set.grants.get('subscribe')).toEqual(['private-ai-*', 'presence-room']);
    expect(r.set.grants.get('history')).toEqual(['private-ai-*']);
    expect(r.set.grants.get('presence')).toEqual(['presence-room']);
    expect(r.set.grants.get('message-append-own')).toEqual(['private-ai-*']);
    expect(r.set.grants.has('publish')).toBe(false);
  });

  it('accepts the JSON-string form', () => {
    const r = parseTokenCapabilityClaim('{"*":["subscribe"]}');
    expect(r.ok && r.set.grants.get('subscribe')).toEqual(['*']);
  });

  it('accepts exactly 100 patterns and an empty ops list', () => {
    const claim = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`ch-${i}`, ['subscribe']]));
    expect(parseTokenCapabilityClaim(claim).ok).toBe(true);
    expect(parseTokenCapabilityClaim({ x: [] }).ok).toBe(true);
  });

  it('returns an immutable set', () => {
    const r = parseTokenCapabilityClaim({ x: ['subscribe'] });
    if (!r.ok) throw new Error(r.reason);
    expect(Object.isFrozen(r.set)).toBe(true);
    expect(Object.isFrozen(r.set.grants.get('subscribe'))).toBe(true);
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a number', 7],
    ['an array', [['*', ['subscribe']]]],
    ['invalid JSON', '{"*":['],
    ['a JSON string of an array', '["subscribe"]'],
    ['a JSON string of a string', '"*"'],
    ['101 patterns', Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`ch-${i}`, ['subscribe']]))],
    ['an empty pattern', { '': ['subscribe'] }],
    ['a pattern with two stars', { 'a*b*': ['subscribe'] }],
    ['an unknown op', { '*': ['subscribe', 'admin'] }],
    ['a wrongly cased op', { '*': ['Subscribe'] }],
    ['a wildcard op', { '*': ['*'] }],
    ['a non-string op', { '*': [1] }],
    ['ops given as a string', { '*': 'subscribe' }],
    ['ops given as an object', { '*': { subscribe: true } }],
  ])('rejects %s', (_name, raw) => {
    const r = parseTokenCapabilityClaim(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/\S/);
  });
});

describe('parseSigninCapabilities', () => {
  it('maps op -> patterns and merges both spellings of an op', () => {
    const r = parseSigninCapabilities({
      subscribe: ['a-*'],
      'annotation-publish': ['b'],
      message_append_own: ['c'],
      'message-append-own': ['d'],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.set.source).toBe('signin');
    expect(r.set.grants.get('subscribe')).toEqual(['a-*']);
    expect(r.set.grants.get('annotation-publish')).toEqual(['b']);
    expect(r.set.grants.get('message-append-own')).toEqual(['c', 'd']);
  });

  it.each<[string, unknown]>([
    ['an array', ['subscribe']],
    ['a string', '{"subscribe":["*"]}'],
    ['an unknown op', { admin: ['*'] }],
    ['a non-array list', { subscribe: '*' }],
    ['a non-string pattern', { subscribe: [3] }],
    ['an empty pattern', { subscribe: [''] }],
    ['a two-star pattern', { subscribe: ['*a*'] }],
    ['101 patterns in one list', { subscribe: Array.from({ length: 101 }, (_, i) => `c${i}`) }],
  ])('rejects %s', (_name, raw) => {
    expect(parseSigninCapabilities(raw).ok).toBe(false);
  });
});

describe('can', () => {
  describe('without a capability set (HMAC-only connection)', () => {
    it.each(BASIC)('allows %s', (op) => {
      expect(can(undefined, op, 'private-anything')).toBe(true);
    });
    it.each(RESTRICTED)('denies %s', (op) => {
      expect(can(undefined, op, 'private-anything')).toBe(false);
    });
  });

  describe('with a token set: anything not granted is denied', () => {
    const r = parseTokenCapabilityClaim({
      'private-ai-*': ['subscribe', 'message-append-own'],
      'presence-lobby': ['subscribe', 'presence'],
    });
    if (!r.ok) throw new Error(r.reason);
    const set = r.set;

    it.each<[CapabilityOp, string, boolean]>([
      ['subscribe', 'private-ai-1', true],
      ['subscribe', 'presence-lobby', true],
      ['presence', 'presence-lobby', true],
      ['presence', 'private-ai-1', false],
      ['subscribe', 'private-other', false],
      ['publish', 'private-ai-1', false],
      ['history', 'private-ai-1', false],
      ['message-append-own', 'private-ai-1', true],
      ['message-append-any', 'private-ai-1', false],
      ['annotation-subscribe', 'private-ai-1', false],
      ['push-subscribe', 'private-ai-1', false],
    ])('%s on %s -> %s', (op, channel, want) => {
      expect(can(set, op, channel)).toBe(want);
    });

    it('denies every basic op when the token grants nothing', () => {
      const empty = parseTokenCapabilityClaim({});
      if (!empty.ok) throw new Error(empty.reason);
      for (const op of BASIC) expect(can(empty.set, op, 'public')).toBe(false);
    });
  });

  describe('with a sign-in set: absent basic list = allow, absent other list = deny', () => {
    const set = capabilitySetFrom('signin', { subscribe: ['private-ai-*'], 'message-update-own': ['private-ai-*'] });

    it.each<[CapabilityOp, string, boolean]>([
      ['subscribe', 'private-ai-1', true],
      ['subscribe', 'private-other', false],
      ['publish', 'private-other', true],
      ['history', 'anything', true],
      ['presence', 'presence-x', true],
      ['message-update-own', 'private-ai-1', true],
      ['message-update-own', 'private-other', false],
      ['message-update-any', 'private-ai-1', false],
      ['annotation-publish', 'private-ai-1', false],
      ['push-admin', 'private-ai-1', false],
    ])('%s on %s -> %s', (op, channel, want) => {
      expect(can(set, op, channel)).toBe(want);
    });

    it('treats an explicitly empty basic list as deny', () => {
      const s = capabilitySetFrom('signin', { publish: [] });
      expect(can(s, 'publish', 'x')).toBe(false);
      expect(can(s, 'subscribe', 'x')).toBe(true);
    });
  });

  it('a token set and a sign-in set with the same grants differ only on absent basic lists', () => {
    const grants = { 'message-append-own': ['*'] };
    const token = capabilitySetFrom('token', grants);
    const signin = capabilitySetFrom('signin', grants);
    expect(can(token, 'subscribe', 'x')).toBe(false);
    expect(can(signin, 'subscribe', 'x')).toBe(true);
    expect(can(token, 'message-append-own', 'x')).toBe(true);
    expect(can(signin, 'message-append-own', 'x')).toBe(true);
  });
});
