import { describe, expect, it } from 'vitest';
import { channelType, serverToUserId, validateChannelName } from './names.ts';

describe('channelType', () => {
  it.each([
    ['my-channel', 'public', false, 'public'],
    ['private-a', 'private', false, 'private'],
    ['presence-a', 'presence', false, 'presence'],
    ['private-encrypted-a', 'private-encrypted', false, 'private-encrypted'],
    ['cache-a', 'public', true, 'cache'],
    ['private-cache-a', 'private', true, 'private-cache'],
    ['presence-cache-a', 'presence', true, 'presence-cache'],
    ['private-encrypted-cache-a', 'private-encrypted', true, 'private-encrypted-cache'],
    ['privatex', 'public', false, 'public'],
  ])('%s', (name, kind, cache, label) => {
    expect(channelType(name)).toEqual({ kind, cache, label });
  });
});

describe('validateChannelName', () => {
  it('accepts the allowed characters', () => {
    expect(validateChannelName('private-ai_x-=@,.;:#1', 200).ok).toBe(true);
  });
  it.each([['a b'], ['a*'], ['[meta]a'], ['é'], [''], ['private-'], ['presence-cache-']])('rejects %j', (n) => {
    expect(validateChannelName(n, 200).ok).toBe(false);
  });
  it('enforces the byte limit', () => {
    expect(validateChannelName('a'.repeat(10), 10).ok).toBe(true);
    expect(validateChannelName('a'.repeat(11), 10)).toEqual({ ok: false, reason: 'longer than 10 bytes' });
  });
  it('rejects non-strings', () => {
    expect(validateChannelName(5, 10).ok).toBe(false);
  });
});

describe('serverToUserId', () => {
  it('reads the user of a #server-to-user- channel', () => {
    expect(serverToUserId('#server-to-user-42')).toBe('42');
    expect(serverToUserId('server-to-user-42')).toBeUndefined();
  });
});
