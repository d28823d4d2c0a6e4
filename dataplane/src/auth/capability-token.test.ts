import { createHmac } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { can } from './capabilities.ts';
import { issueCapabilityToken, verifyCapabilityToken } from './capability-token.ts';

const APP = { key: 'app-key', secret: 'app-secret-0123456789' };
const OTHER_SAME_SECRET = { key: 'other-key', secret: APP.secret };
const OTHER = { key: 'other-key', secret: 'other-secret-0123456789' };

const NOW_S = 1_750_000_000;
const NOW_MS = NOW_S * 1000 + 500;

// An independent JWT encoder (node:crypto only), so tests can build tokens jose would refuse to mint.
function b64url(v: unknown): string {
  return Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
}
function craft(
  payload: Record<string, unknown>,
  opts: { header?: Record<string, unknown>; secret?: string; alg?: 'sha256' | 'sha384' | 'sha512' } = {},
): string {
  const header = opts.header ?? { alg: 'HS256', typ: 'JWT', kid: APP.key };
  const input = `${b64url(header)}.${b64url(payload)}`;
  const sig = createHmac(opts.alg ?? 'sha256', opts.secret ?? APP.secret)
    .update(input)
    .digest('base64url');
  return `${input}.${sig}`;
}
function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'x-sockudo-client-id': 'user-42',
    'x-sockudo-capability': '{"private-ai-*":["subscribe","history"],"presence-lobby":["subscribe","presence"]}',
    iat: NOW_S,
    exp: NOW_S + 3600,
    jti: 'jti-1',
    ...over,
  };
}
function without(key: string): Record<string, unknown> {
  const c = claims();
  delete c[key];
  return c;
}
async function reason(token: string, app = APP, nowMs = NOW_MS): Promise<string> {
  const r = await verifyCapabilityToken(token, app, nowMs);
  if (r.ok) throw new Error('expected the token to be rejected');
  return r.reason;
}

describe('verifyCapabilityToken: accepted tokens', () => {
  it('returns the verified claims and the capability set', async () => {
    const r = await verifyCapabilityToken(craft(claims({ nbf: NOW_S - 5 })), APP, NOW_MS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.token).toMatchObject({ clientId: 'user-42', jti: 'jti-1', iat: NOW_S, exp: NOW_S + 3600, nbf: NOW_S - 5 });
    const caps = r.token.capabilities;
    expect(caps.source).toBe('token');
    expect(can(caps, 'subscribe', 'private-ai-7')).toBe(true);
    expect(can(caps, 'history', 'private-ai-7')).toBe(true);
    expect(can(caps, 'publish', 'private-ai-7')).toBe(false);
    expect(can(caps, 'presence', 'presence-lobby')).toBe(true);
  });

  it('accepts the capability claim as an object', async () => {
    const r = await verifyCapabilityToken(
      craft(claims({ 'x-sockudo-capability': { '*': ['subscribe'] } })),
      APP,
      NOW_MS,
    );
    expect(r.ok && can(r.token.capabilities, 'subscribe', 'anything')).toBe(true);
  });

  it('omits nbf when the token has none', async () => {
    const r = await verifyCapabilityToken(craft(claims()), APP, NOW_MS);
    expect(r.ok && 'nbf' in r.token).toBe(false);
  });

  it.each<[string, Record<string, unknown>, number?]>([
    ['exp 29 s in the past (leeway)', { iat: NOW_S - 100, exp: NOW_S - 29 }],
    ['iat exactly 30 s in the future', { iat: NOW_S + 30, exp: NOW_S + 3600 }],
    ['nbf exactly 30 s in the future', { nbf: NOW_S + 30 }],
    ['a lifetime of exactly 24 h', { iat: NOW_S, exp: NOW_S + 86_400 }],
    ['a 128-byte client id', { 'x-sockudo-client-id': 'c'.repeat(128) }],
    ['a 128-byte multibyte client id', { 'x-sockudo-client-id': 'é'.repeat(64) }],
    ['a 128-byte jti', { jti: 'j'.repeat(128) }],
    ['an empty capability object', { 'x-sockudo-capability': {} }],
  ])('accepts %s', async (_name, over) => {
    const r = await verifyCapabilityToken(craft(claims(over)), APP, NOW_MS);
    expect(r.ok ? 'ok' : r.reason).toBe('ok');
  });
});

describe('verifyCapabilityToken: rejections', () => {
  it('a forged signature (wrong secret)', async () => {
    expect(await reason(craft(claims(), { secret: 'not-the-secret' }))).toMatch(/signature/);
  });

  it('a payload changed after signing', async () => {
    const [h, , s] = craft(claims()).split('.');
    const tampered = `${h}.${b64url(claims({ 'x-sockudo-capability': '{"*":["publish"]}' }))}.${s}`;
    expect(await reason(tampered)).toMatch(/signature/);
  });

  it('a token of another app that shares the secret (kid differs)', async () => {
    const token = craft(claims(), { header: { alg: 'HS256', kid: OTHER_SAME_SECRET.key } });
    expect(await verifyCapabilityToken(token, OTHER_SAME_SECRET, NOW_MS)).toMatchObject({ ok: true });
    expect(await reason(token, APP)).toMatch(/kid/);
  });

  it('a token of another app with the other app key claimed as ours', async () => {
    const token = craft(claims(), { header: { alg: 'HS256', kid: APP.key }, secret: OTHER.secret });
    expect(await reason(token, APP)).toMatch(/signature/);
  });

  it.each<[string, Record<string, unknown>]>([
    ['a missing kid', { alg: 'HS256', typ: 'JWT' }],
    ['a kid in another case', { alg: 'HS256', kid: 'APP-KEY' }],
    ['an empty kid', { alg: 'HS256', kid: '' }],
  ])('%s', async (_name, header) => {
    expect(await reason(craft(claims(), { header }))).toMatch(/kid/);
  });

  it.each<[string, 'sha384' | 'sha512', string]>([
    ['HS384', 'sha384', 'HS384'],
    ['HS512', 'sha512', 'HS512'],
  ])('alg %s even with a valid signature', async (_name, hash, alg) => {
    const token = craft(claims(), { header: { alg, kid: APP.key }, alg: hash });
    expect(await reason(token)).toMatch(/HS256/);
  });

  it('alg none with an empty signature', async () => {
    const token = `${b64url({ alg: 'none', kid: APP.key })}.${b64url(claims())}.`;
    expect(await reason(token)).toMatch(/HS256/);
  });

  it('an HS256 header on an unsigned token', async () => {
    const token = `${b64url({ alg: 'HS256', kid: APP.key })}.${b64url(claims())}.`;
    expect(await reason(token)).toMatch(/signature|malformed/);
  });

  it('RS256 signed with a real key pair', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: APP.key }).sign(privateKey);
    expect(await reason(token)).toMatch(/HS256/);
  });

  it('a token over 8 KiB, while one of 8 KiB or less passes', async () => {
    const sized = (n: number) => craft(claims({ pad: 'x'.repeat(n) }));
    let n = 1000;
    while (sized(n + 1).length <= 8192) n++;
    expect(sized(n).length).toBeLessThanOrEqual(8192);
    expect(sized(n + 1).length).toBeGreaterThan(8192);
    expect((await verifyCapabilityToken(sized(n), APP, NOW_MS)).ok).toBe(true);
    expect(await reason(sized(n + 1))).toMatch(/8192|exceeds/);
  });

  it.each<[string, string]>([
    ['an empty string', ''],
    ['a non-JWT', 'hello'],
    ['garbage segments', 'a.b.c'],
    ['two segments', `${b64url({ alg: 'HS256', kid: APP.key })}.${b64url(claims())}`],
    ['a JSON header that is not an object', `${b64url('[]')}.${b64url(claims())}.sig`],
  ])('%s', async (_name, token) => {
    expect(await reason(token)).toMatch(/\S/);
  });

  it('a non-string token', async () => {
    expect(await reason(42 as unknown as string)).toMatch(/\S/);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['expired beyond the leeway (exp = now - 30)', { iat: NOW_S - 100, exp: NOW_S - 30 }, /expired/],
    ['expired an hour ago', { iat: NOW_S - 7200, exp: NOW_S - 3600 }, /expired/],
    ['iat 31 s in the future', { iat: NOW_S + 31, exp: NOW_S + 3600 }, /iat/],
    ['nbf 31 s in the future', { nbf: NOW_S + 31 }, /nbf|not yet valid/],
    ['a lifetime of 24 h + 1 s', { iat: NOW_S, exp: NOW_S + 86_401 }, /24 hours/],
    ['exp before iat', { iat: NOW_S, exp: NOW_S - 1 }, /after iat/],
    ['exp equal to iat', { iat: NOW_S + 10, exp: NOW_S + 10 }, /after iat/],
    ['a string iat', { iat: String(NOW_S) }, /iat/],
    ['a string exp', { exp: String(NOW_S + 60) }, /exp/],
    ['a string nbf', { nbf: String(NOW_S) }, /nbf/],
    ['an empty client id', { 'x-sockudo-client-id': '' }, /client-id/],
    ['a 129-byte client id', { 'x-sockudo-client-id': 'c'.repeat(129) }, /client-id/],
    ['a client id over 128 bytes in UTF-8', { 'x-sockudo-client-id': 'é'.repeat(65) }, /client-id/],
    ['a numeric client id', { 'x-sockudo-client-id': 42 }, /client-id/],
    ['an empty jti', { jti: '' }, /jti/],
    ['a 129-byte jti', { jti: 'j'.repeat(129) }, /jti/],
    ['a numeric jti', { jti: 7 }, /jti/],
    ['a capability with an unknown op', { 'x-sockudo-capability': '{"*":["subscribe","admin"]}' }, /admin/],
    ['a capability that is not JSON', { 'x-sockudo-capability': '{"*":' }, /capability/],
    ['a capability array', { 'x-sockudo-capability': ['subscribe'] }, /capability/],
    ['a capability with an empty pattern', { 'x-sockudo-capability': { '': ['subscribe'] } }, /pattern/],
    [
      'a capability with 101 patterns',
      { 'x-sockudo-capability': Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`c${i}`, ['subscribe']])) },
      /100 patterns/,
    ],
  ])('%s', async (_name, over, why) => {
    expect(await reason(craft(claims(over)))).toMatch(why);
  });

  it.each([
    ['iat', /iat/],
    ['exp', /exp/],
    ['jti', /jti/],
    ['x-sockudo-client-id', /client-id/],
    ['x-sockudo-capability', /capability/],
  ])('a missing %s', async (claim, why) => {
    expect(await reason(craft(without(claim)))).toMatch(why);
  });

  it('a valid token evaluated after it expired', async () => {
    const token = craft(claims());
    expect((await verifyCapabilityToken(token, APP, NOW_MS)).ok).toBe(true);
    expect(await reason(token, APP, (NOW_S + 3600 + 30) * 1000)).toMatch(/expired/);
  });
});

describe('issueCapabilityToken', () => {
  it('mints a token that verifies with the claims given', async () => {
    const token = await issueCapabilityToken(APP, {
      clientId: 'agent-1',
      capabilities: { 'private-ai-*': ['subscribe', 'publish', 'message_append_own'] },
      ttlSeconds: 600,
      jti: 'fixed-jti',
      nowMs: NOW_MS,
    });
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p!, 'base64url').toString()));
    expect(header).toMatchObject({ alg: 'HS256', kid: APP.key });
    expect(payload).toMatchObject({ iat: NOW_S, exp: NOW_S + 600, jti: 'fixed-jti', 'x-sockudo-client-id': 'agent-1' });
    expect(typeof payload['x-sockudo-capability']).toBe('string');

    const r = await verifyCapabilityToken(token, APP, NOW_MS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.token.clientId).toBe('agent-1');
    expect(can(r.token.capabilities, 'message-append-own', 'private-ai-1')).toBe(true);
    expect(can(r.token.capabilities, 'message-append-any', 'private-ai-1')).toBe(false);
    expect(await reason(token, OTHER)).toMatch(/kid/);
  });

  it('generates a unique jti when none is given', async () => {
    const base = { clientId: 'c', capabilities: { '*': ['subscribe'] }, ttlSeconds: 60, nowMs: NOW_MS };
    const a = await verifyCapabilityToken(await issueCapabilityToken(APP, base), APP, NOW_MS);
    const b = await verifyCapabilityToken(await issueCapabilityToken(APP, base), APP, NOW_MS);
    expect(a.ok && b.ok && a.token.jti !== b.token.jti && a.token.jti.length > 0).toBe(true);
  });

  it.each<[string, Record<string, unknown>]>([
    ['ttl 0', { ttlSeconds: 0 }],
    ['ttl over 24 h', { ttlSeconds: 86_401 }],
    ['a fractional ttl', { ttlSeconds: 1.5 }],
    ['an empty client id', { clientId: '' }],
    ['a 129-byte client id', { clientId: 'x'.repeat(129) }],
    ['an empty jti', { jti: '' }],
    ['an unknown op', { capabilities: { '*': ['admin'] } }],
  ])('refuses %s with a TypeError', async (_name, over) => {
    const args = { clientId: 'c', capabilities: { '*': ['subscribe'] }, ttlSeconds: 60, nowMs: NOW_MS, ...over };
    await expect(issueCapabilityToken(APP, args as Parameters<typeof issueCapabilityToken>[1])).rejects.toThrow(
      TypeError,
    );
  });
});
