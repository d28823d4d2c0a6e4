import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  channelAuthSignature,
  constantTimeEqual,
  hmacSha256Hex,
  parseSigninUserData,
  signinSignature,
  verifyChannelAuth,
  verifySignin,
} from './hmac.ts';

// The official Pusher server SDK, as a reference implementation of the signatures.
type PusherCtor = new (opts: {
  appId: string;
  key: string;
  secret: string;
}) => {
  authorizeChannel(socketId: string, channel: string, data?: unknown): { auth: string; channel_data?: string };
  authenticateUser(socketId: string, userData: unknown): { auth: string; user_data: string };
};
const Pusher = createRequire(import.meta.url)('pusher') as PusherCtor;

// Pusher's documented example credentials (library_auth_reference/auth-signatures).
const DOC_APP = { key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' };
const APP = { key: 'app-key', secret: 'app-secret' };
const OTHER = { key: 'other-key', secret: 'app-secret' }; // same secret, different app
const SOCKET = '123.456';

function refHmac(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message).digest('hex');
}

describe('hmacSha256Hex', () => {
  it('matches RFC 4231 test case 2', () => {
    expect(hmacSha256Hex('Jefe', 'what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('hashes the UTF-8 bytes of non-ASCII input', () => {
    expect(hmacSha256Hex('k', 'é')).toBe(
      createHmac('sha256', 'k')
        .update(Buffer.from([0xc3, 0xa9]))
        .digest('hex'),
    );
  });
});

describe('constantTimeEqual', () => {
  it.each([
    ['abc', 'abc', true],
    ['', '', true],
    ['abc', 'abd', false],
    ['abc', 'ab', false],
    ['ab', 'abc', false],
    ['', 'a', false],
    ['é', 'e', false],
    ['ABC', 'abc', false],
  ])('%j vs %j -> %s', (a, b, want) => {
    expect(constantTimeEqual(a, b)).toBe(want);
  });

  it('returns false instead of throwing for non-strings', () => {
    expect(constantTimeEqual(undefined as unknown as string, 'a')).toBe(false);
    expect(constantTimeEqual('a', 1 as unknown as string)).toBe(false);
  });
});

describe('channelAuthSignature', () => {
  it('reproduces the Pusher documentation vector for private-foobar', () => {
    expect(channelAuthSignature(DOC_APP.secret, '1234.1234', 'private-foobar')).toBe(
      '58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4',
    );
  });

  it('signs socket:channel, or socket:channel:data when data is non-empty', () => {
    expect(channelAuthSignature('s', '1.2', 'private-a')).toBe(refHmac('s', '1.2:private-a'));
    expect(channelAuthSignature('s', '1.2', 'presence-a', '{"user_id":"u"}')).toBe(
      refHmac('s', '1.2:presence-a:{"user_id":"u"}'),
    );
    expect(channelAuthSignature('s', '1.2', 'private-a', '')).toBe(refHmac('s', '1.2:private-a'));
  });
});

describe('verifyChannelAuth', () => {
  const pusher = new Pusher({ appId: '1', ...APP });

  it('accepts what the Pusher SDK signs for a private channel', () => {
    const { auth } = pusher.authorizeChannel(SOCKET, 'private-ai-room');
    expect(verifyChannelAuth(APP, SOCKET, 'private-ai-room', auth)).toBe(true);
  });

  it('accepts what the Pusher SDK signs for a presence channel with its channel_data', () => {
    const res = pusher.authorizeChannel(SOCKET, 'presence-room', { user_id: 'u1', user_info: { name: 'Ann' } });
    expect(res.channel_data).toBeTypeOf('string');
    expect(verifyChannelAuth(APP, SOCKET, 'presence-room', res.auth, res.channel_data)).toBe(true);
  });

  const good = `${APP.key}:${refHmac(APP.secret, `${SOCKET}:private-x`)}`;
  const goodPresence = `${APP.key}:${refHmac(APP.secret, `${SOCKET}:presence-x:{"user_id":"1"}`)}`;

  it('accepts a correct key:signature', () => {
    expect(verifyChannelAuth(APP, SOCKET, 'private-x', good)).toBe(true);
    expect(verifyChannelAuth(APP, SOCKET, 'presence-x', goodPresence, '{"user_id":"1"}')).toBe(true);
  });

  it.each<[string, { key: string; secret: string }, string, string, unknown, string | undefined]>([
    ['another socket id', APP, '123.457', 'private-x', good, undefined],
    ['another channel', APP, SOCKET, 'private-y', good, undefined],
    ['a forged signature', APP, SOCKET, 'private-x', `${APP.key}:${'0'.repeat(64)}`, undefined],
    ['the wrong secret', { key: APP.key, secret: 'nope' }, SOCKET, 'private-x', good, undefined],
    ['another app (same secret, other key)', OTHER, SOCKET, 'private-x', good, undefined],
    ['no key prefix', APP, SOCKET, 'private-x', good.slice(APP.key.length + 1), undefined],
    ['an uppercased signature', APP, SOCKET, 'private-x', good.toUpperCase().replace('APP-KEY', APP.key), undefined],
    ['trailing garbage', APP, SOCKET, 'private-x', `${good}0`, undefined],
    ['an empty auth', APP, SOCKET, 'private-x', '', undefined],
    ['a non-string auth', APP, SOCKET, 'private-x', { auth: good }, undefined],
    ['undefined auth', APP, SOCKET, 'private-x', undefined, undefined],
    ['tampered channel_data', APP, SOCKET, 'presence-x', goodPresence, '{"user_id":"2"}'],
    ['channel_data dropped', APP, SOCKET, 'presence-x', goodPresence, undefined],
    ['channel_data added to a private signature', APP, SOCKET, 'private-x', good, '{"user_id":"1"}'],
  ])('rejects %s', (_name, app, socketId, channel, auth, channelData) => {
    expect(verifyChannelAuth(app, socketId, channel, auth, channelData)).toBe(false);
  });
});

describe('signinSignature / verifySignin', () => {
  const pusher = new Pusher({ appId: '1', ...APP });
  const userData = '{"id":"user-1"}';
  const sig = refHmac(APP.secret, `${SOCKET}::user::${userData}`);

  it('signs socket_id::user::user_data', () => {
    expect(signinSignature(APP.secret, SOCKET, userData)).toBe(sig);
  });

  it('accepts what the Pusher SDK authenticateUser produces', () => {
    const res = pusher.authenticateUser(SOCKET, { id: 'user-1', user_info: { plan: 'pro' } });
    expect(verifySignin(APP, SOCKET, res.user_data, res.auth)).toBe(true);
  });

  it('accepts the key-prefixed and the bare signature', () => {
    expect(verifySignin(APP, SOCKET, userData, `${APP.key}:${sig}`)).toBe(true);
    expect(verifySignin(APP, SOCKET, userData, sig)).toBe(true);
  });

  it.each<[string, { key: string; secret: string }, string, unknown, unknown]>([
    ['another app key prefix', APP, SOCKET, userData, `${OTHER.key}:${sig}`],
    ['another app (same secret)', OTHER, SOCKET, userData, `${APP.key}:${sig}`],
    ['an empty prefix', APP, SOCKET, userData, `:${sig}`],
    ['tampered user_data', APP, SOCKET, '{"id":"admin"}', sig],
    ['another socket', APP, '9.9', userData, sig],
    ['the wrong secret', { key: APP.key, secret: 'x' }, SOCKET, userData, sig],
    ['a channel-style signature', APP, SOCKET, userData, refHmac(APP.secret, `${SOCKET}:${userData}`)],
    ['non-string user_data', APP, SOCKET, { id: 'user-1' }, sig],
    ['non-string auth', APP, SOCKET, userData, 42],
    ['empty auth', APP, SOCKET, userData, ''],
  ])('rejects %s', (_name, app, socketId, ud, auth) => {
    expect(verifySignin(app, socketId, ud, auth)).toBe(false);
  });
});

describe('parseSigninUserData', () => {
  it('returns the id and user_info', () => {
    const r = parseSigninUserData('{"id":"u-1","user_info":{"name":"Ann"},"watchlist":["u-2"]}');
    expect(r).toEqual({ ok: true, id: 'u-1', userInfo: { name: 'Ann' } });
  });

  it('defaults user_info to an empty object', () => {
    expect(parseSigninUserData('{"id":"u"}')).toEqual({ ok: true, id: 'u', userInfo: {} });
  });

  it('accepts an id of exactly 128 bytes, counting UTF-8 bytes', () => {
    expect(parseSigninUserData(JSON.stringify({ id: 'a'.repeat(128) })).ok).toBe(true);
    expect(parseSigninUserData(JSON.stringify({ id: 'é'.repeat(64) })).ok).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a non-string', { id: 'u' }],
    ['invalid JSON', '{id:u}'],
    ['a JSON array', '["u"]'],
    ['JSON null', 'null'],
    ['a JSON string', '"u"'],
    ['a missing id', '{"user_info":{}}'],
    ['an empty id', '{"id":""}'],
    ['a numeric id', '{"id":42}'],
    ['an id over 128 bytes', JSON.stringify({ id: 'a'.repeat(129) })],
    ['an id over 128 bytes in UTF-8 only', JSON.stringify({ id: 'é'.repeat(65) })],
    ['a non-object user_info', '{"id":"u","user_info":"x"}'],
    ['a non-object capabilities', '{"id":"u","capabilities":["subscribe"]}'],
    ['an unknown capability op', '{"id":"u","capabilities":{"admin":["*"]}}'],
    ['a non-array capability list', '{"id":"u","capabilities":{"subscribe":"*"}}'],
    ['an empty capability pattern', '{"id":"u","capabilities":{"subscribe":[""]}}'],
  ])('rejects %s', (_name, input) => {
    const r = parseSigninUserData(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
  });

  it('turns capabilities into a sign-in set (absent basic list = allow, absent mutation list = deny)', () => {
    const r = parseSigninUserData(
      JSON.stringify({
        id: 'u',
        capabilities: { subscribe: ['private-ai-*'], message_append_own: ['private-ai-*'] },
      }),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.capabilities?.source).toBe('signin');
    expect(r.capabilities?.grants.get('subscribe')).toEqual(['private-ai-*']);
    expect(r.capabilities?.grants.get('message-append-own')).toEqual(['private-ai-*']);
    expect(r.capabilities?.grants.has('publish')).toBe(false);
  });

  it('has no capability set when the object has none', () => {
    const r = parseSigninUserData('{"id":"u","capabilities":null}');
    expect(r.ok && r.capabilities).toBe(undefined);
  });
});
