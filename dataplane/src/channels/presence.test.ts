import { describe, expect, it } from 'vitest';
import { PresenceMembers, parseChannelData } from './presence.ts';

describe('PresenceMembers', () => {
  it('adds on the first socket of a user and removes on the last', () => {
    const p = new PresenceMembers();
    expect(p.add('u1', { n: 1 })).toBe(true);
    expect(p.add('u1', { n: 2 })).toBe(false);
    expect(p.add('u2', undefined)).toBe(true);
    expect(p.snapshot()).toEqual({ ids: ['u1', 'u2'], hash: { u1: { n: 1 }, u2: null }, count: 2 });
    expect(p.remove('u1')).toBe(false);
    expect(p.remove('u1')).toBe(true);
    expect(p.remove('u1')).toBe(false);
    expect(p.ids()).toEqual(['u2']);
  });
  it('counts distinct users against the limit', () => {
    const p = new PresenceMembers();
    p.add('a', null);
    expect(p.wouldExceed('a', 1)).toBe(false);
    expect(p.wouldExceed('b', 1)).toBe(true);
  });
});

describe('parseChannelData', () => {
  it('reads user_id (string or number) and user_info', () => {
    expect(parseChannelData('{"user_id":"u","user_info":{"a":1}}', 100)).toEqual({
      ok: true,
      userId: 'u',
      userInfo: { a: 1 },
    });
    expect(parseChannelData('{"user_id":42}', 100)).toEqual({ ok: true, userId: '42', userInfo: undefined });
  });
  it.each([[undefined], [''], ['{'], ['[]'], ['{"user_info":{}}'], ['{"user_id":""}'], ['{"user_id":{}}']])(
    'rejects %j',
    (cd) => {
      expect(parseChannelData(cd, 100).ok).toBe(false);
    },
  );
  it('enforces the size limit', () => {
    expect(parseChannelData(JSON.stringify({ user_id: 'u', user_info: 'x'.repeat(100) }), 50).ok).toBe(false);
  });
});
