import { createHash, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AppCredentials,
  canonicalQuery,
  parseQuery,
  type SignedRequestInput,
  signRequest,
  verifySignedRequest,
} from './signed-request.ts';

// pusher-http-node's own signer and token (the SDK backends use to call us).
const require = createRequire(import.meta.url);
const { createSignedQueryString } = require('pusher/lib/requests') as {
  createSignedQueryString(
    token: unknown,
    req: { method: string; path: string; params?: Record<string, string>; body?: string },
  ): string;
};
const PusherToken = require('pusher/lib/token') as new (key: string, secret: string) => unknown;

const APP: AppCredentials = { id: 'app-1', key: 'key-1', secret: 'secret-1', enabled: true };
// Same secret as APP on purpose: only the key/app binding tells them apart.
const OTHER: AppCredentials = { id: 'app-2', key: 'key-2', secret: 'secret-1', enabled: true };
const DISABLED: AppCredentials = { id: 'app-3', key: 'key-3', secret: 'secret-3', enabled: false };
const DOC_APP: AppCredentials = {
  id: '3',
  key: '278d425bdf160c739803',
  secret: '7ad3773142a6692b25b8',
  enabled: true,
};
const APPS = new Map([APP, OTHER, DISABLED, DOC_APP].map((a) => [a.key, a]));
const lookup = (key: string) => APPS.get(key);

const NOW_S = 1_750_000_000;
const NOW_MS = NOW_S * 1000 + 123;
const EMPTY = Buffer.alloc(0);

function refHmac(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message).digest('hex');
}
function md5(s: string | Buffer): string {
  return createHash('md5').update(s).digest('hex');
}
function req(method: string, rawPath: string, rawQuery: string, body: Buffer | string = EMPTY): SignedRequestInput {
  return { method, rawPath, rawQuery, body: typeof body === 'string' ? Buffer.from(body) : body };
}
/** Sign with signRequest, then hand back the request with the query split off like a server sees it. */
function signed(
  method: string,
  rawPath: string,
  params: Record<string, string> = {},
  body = '',
  app: { key: string; secret: string } = APP,
  nowMs = NOW_MS,
): SignedRequestInput {
  return req(method, rawPath, signRequest(app, method, rawPath, params, body, nowMs), body);
}
function verify(r: SignedRequestInput, appId = APP.id, nowMs = NOW_MS, window?: number) {
  return verifySignedRequest(r, appId, lookup, nowMs, window);
}
function withParam(r: SignedRequestInput, edit: (q: string) => string): SignedRequestInput {
  return { ...r, rawQuery: edit(r.rawQuery) };
}

// Pusher REST API reference, "worked authentication example".
const DOC_BODY = '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';
const DOC_QUERY =
  'auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0' +
  '&body_md5=ec365a775a4cd0599faeb73354201b6f' +
  '&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c';

afterEach(() => {
  vi.useRealTimers();
});

describe('known vectors', () => {
  it('verifies the Pusher documentation example', () => {
    const r = verifySignedRequest(req('POST', '/apps/3/events', DOC_QUERY, DOC_BODY), '3', lookup, 1353088179_000);
    expect(r).toEqual({ ok: true, app: DOC_APP });
  });

  it('signRequest reproduces the Pusher documentation example byte for byte', () => {
    expect(signRequest(DOC_APP, 'POST', '/apps/3/events', {}, DOC_BODY, 1353088179_999)).toBe(DOC_QUERY);
  });

  it('verifies a hand-computed GET with params in a non-canonical order and case', () => {
    const path = '/apps/app-1/channels';
    const toSign =
      'GET\n/apps/app-1/channels\n' +
      `auth_key=key-1&auth_timestamp=${NOW_S}&auth_version=1.0&filter_by_prefix=presence-&info=user_count`;
    const rawQuery =
      `INFO=user_count&auth_version=1.0&filter_by_prefix=presence%2D&auth_timestamp=${NOW_S}` +
      `&auth_key=key-1&auth_signature=${refHmac(APP.secret, toSign)}`;
    expect(verify(req('GET', path, rawQuery)).ok).toBe(true);
  });

  it('decodes + as a space and %XX escapes before signing', () => {
    const toSign = `GET\n/apps/app-1/x\nauth_key=key-1&auth_timestamp=${NOW_S}&q=a b&c/d`;
    const rawQuery = `q=a+b%26c%2Fd&auth_key=key-1&auth_timestamp=${NOW_S}&auth_signature=${refHmac(APP.secret, toSign)}`;
    expect(verify(req('GET', '/apps/app-1/x', rawQuery)).ok).toBe(true);
  });
});

describe('interop with pusher-http-node', () => {
  // The SDK signs with Date.now() and puts raw values in the URL; URL() applies the
  // percent-encoding a real HTTP client would put on the wire.
  function viaSdk(method: string, path: string, params: Record<string, string>, body?: string): SignedRequestInput {
    vi.useFakeTimers({ now: NOW_MS, toFake: ['Date'] });
    const qs = createSignedQueryString(new PusherToken(APP.key, APP.secret), { method, path, params, body });
    vi.useRealTimers();
    const url = new URL(`http://localhost:6001${path}?${qs}`);
    return req(method, url.pathname, url.search.slice(1), body ?? '');
  }

  it('accepts a POST /events with a JSON body', () => {
    const body = JSON.stringify({ name: 'ai-token', channel: 'private-ai-1', data: '{"t":"hé"}' });
    expect(verify(viaSdk('POST', '/apps/app-1/events', {}, body)).ok).toBe(true);
  });

  it('accepts a GET with params that need encoding', () => {
    const r = viaSdk('GET', '/apps/app-1/channels', { filter_by_prefix: 'presence-', info: 'user_count,cache hit' });
    expect(r.rawQuery).toContain('cache%20hit');
    expect(verify(r).ok).toBe(true);
  });

  it('accepts a percent-encoded path signed as sent', () => {
    const r = viaSdk('GET', '/apps/app-1/channels/private-ai-1/messages/17%3A3', {});
    expect(verify(r).ok).toBe(true);
  });

  it('rejects an SDK request sent to another app id', () => {
    const r = viaSdk('POST', '/apps/app-2/events', {}, '{}');
    expect(verify(r, 'app-2')).toMatchObject({ ok: false, status: 401, code: 'auth_failed' });
  });
});

describe('round trip', () => {
  it.each([
    ['GET', '/apps/app-1/channels', { info: 'user_count' }, ''],
    ['GET', '/apps/app-1/channels/private-ai-a%3Ab', {}, ''],
    ['POST', '/apps/app-1/events', {}, '{"name":"e","channel":"c","data":"x"}'],
    ['POST', '/apps/app-1/events', {}, ''],
    ['PUT', '/apps/app-1/things/1', {}, '{"a":1}'],
    ['DELETE', '/apps/app-1/channels/c/messages/1/annotations/2', {}, ''],
    ['GET', '/apps/app-1/x', { 'a key': 'v&w=x', Mixed: 'ÜNÍCÖDE ✓', empty: '' }, ''],
  ])('%s %s', (method, path, params, body) => {
    expect(verify(signed(method, path, params, body))).toEqual({ ok: true, app: APP });
  });

  it('signRequest adds auth_version=1.0 and puts auth_signature last', () => {
    const q = signRequest(APP, 'GET', '/apps/app-1/channels', { info: 'x' }, undefined, NOW_MS);
    expect(q).toMatch(
      new RegExp(`^auth_key=key-1&auth_timestamp=${NOW_S}&auth_version=1\\.0&info=x&auth_signature=[0-9a-f]{64}$`),
    );
  });

  it('signRequest adds body_md5 only for a body-carrying method with a non-empty body', () => {
    expect(signRequest(APP, 'POST', '/p', {}, '{}', NOW_MS)).toContain(`body_md5=${md5('{}')}`);
    expect(signRequest(APP, 'put', '/p', {}, Buffer.from('{}'), NOW_MS)).toContain(`body_md5=${md5('{}')}`);
    expect(signRequest(APP, 'POST', '/p', {}, '', NOW_MS)).not.toContain('body_md5');
    expect(signRequest(APP, 'POST', '/p', {}, undefined, NOW_MS)).not.toContain('body_md5');
    expect(signRequest(APP, 'GET', '/p', {}, '{}', NOW_MS)).not.toContain('body_md5');
  });

  it.each(['auth_key', 'auth_timestamp', 'auth_version', 'auth_signature', 'body_md5', 'AUTH_KEY'])(
    'signRequest refuses the reserved param %s',
    (k) => {
      expect(() => signRequest(APP, 'GET', '/p', { [k]: 'x' }, undefined, NOW_MS)).toThrow(TypeError);
    },
  );

  it('signRequest refuses params that differ only in case', () => {
    expect(() => signRequest(APP, 'GET', '/p', { info: 'a', INFO: 'b' }, undefined, NOW_MS)).toThrow(TypeError);
  });
});

describe('query canonicalization', () => {
  it('sorts keys by UTF-8 bytes, not UTF-16 code units', () => {
    // U+FF61 is EF BD A1 in UTF-8 but sorts after the surrogate pair of U+1F600 in UTF-16.
    const q = parseQuery('%F0%9F%98%80=2&%EF%BD%A1=1&b=3&A=4');
    if (typeof q === 'string') throw new Error(q);
    expect(canonicalQuery(q)).toBe('a=4&b=3&\uFF61=1&\u{1F600}=2');
  });

  it('excludes auth_signature and keeps empty values', () => {
    const q = parseQuery('b=&auth_signature=zz&a');
    if (typeof q === 'string') throw new Error(q);
    expect(canonicalQuery(q)).toBe('a=&b=');
  });
});

describe('rejections', () => {
  const path = '/apps/app-1/events';
  const body = '{"name":"e","channel":"c","data":"x"}';
  const good = () => signed('POST', path, {}, body);

  it('the baseline request is accepted', () => {
    expect(verify(good()).ok).toBe(true);
  });

  describe('400 invalid_input', () => {
    it.each<[string, () => SignedRequestInput]>([
      ['a missing query string', () => req('POST', path, '', body)],
      ['no auth_key', () => withParam(good(), (q) => q.replace(/auth_key=[^&]*&/, ''))],
      ['an empty auth_key', () => withParam(good(), (q) => q.replace(/auth_key=[^&]*/, 'auth_key='))],
      ['no auth_timestamp', () => withParam(good(), (q) => q.replace(/auth_timestamp=[^&]*&/, ''))],
      ['no auth_signature', () => withParam(good(), (q) => q.replace(/&auth_signature=.*/, ''))],
      ['a query without auth params', () => req('GET', '/apps/app-1/channels', 'info=user_count')],
      ['a duplicated param', () => withParam(good(), (q) => `info=a&info=b&${q}`)],
      ['a duplicated auth_key', () => withParam(good(), (q) => `auth_key=key-1&${q}`)],
      ['keys that differ only in case', () => withParam(good(), (q) => `AUTH_KEY=key-1&${q}`)],
      ['a duplicated auth_signature', () => withParam(good(), (q) => `${q}&auth_signature=00`)],
      ['a malformed escape', () => withParam(good(), (q) => `x=%zz&${q}`)],
    ])('%s', (_name, make) => {
      expect(verify(make())).toMatchObject({ ok: false, status: 400, code: 'invalid_input' });
    });
  });

  describe('401 auth_failed', () => {
    const flip = (q: string) =>
      q.replace(/auth_signature=(.)/, (_m, c: string) => `auth_signature=${c === 'a' ? 'b' : 'a'}`);
    it.each<[string, () => SignedRequestInput, string?]>([
      ['an unknown auth_key', () => signed('POST', path, {}, body, { key: 'nope', secret: APP.secret })],
      ['another app key on this app path', () => signed('POST', path, {}, body, OTHER)],
      ['a valid request for app-2 replayed against app-1', () => signed('POST', '/apps/app-2/events', {}, body, OTHER)],
      ['a forged signature', () => withParam(good(), flip)],
      [
        'an uppercased signature',
        () =>
          withParam(good(), (q) =>
            q.replace(/auth_signature=(.*)$/, (_m, s: string) => `auth_signature=${s.toUpperCase()}`),
          ),
      ],
      ['a truncated signature', () => withParam(good(), (q) => q.slice(0, -1))],
      ['the wrong secret', () => signed('POST', path, {}, body, { key: APP.key, secret: 'wrong' })],
      ['a changed method', () => ({ ...good(), method: 'PUT' })],
      ['a changed path', () => ({ ...good(), rawPath: '/apps/app-1/batch_events' })],
      ['a param added after signing', () => withParam(good(), (q) => `socket_id=1.2&${q}`)],
      [
        'a changed param value',
        () => withParam(signed('GET', '/apps/app-1/channels', { info: 'a' }), (q) => q.replace('info=a', 'info=b')),
      ],
      ['a tampered body', () => ({ ...good(), body: Buffer.from(body.replace('"x"', '"y"')) })],
      [
        'a body_md5 rewritten to match a tampered body',
        () => {
          const tampered = body.replace('"x"', '"y"');
          return withParam({ ...good(), body: Buffer.from(tampered) }, (q) =>
            q.replace(/body_md5=[0-9a-f]+/, `body_md5=${md5(tampered)}`),
          );
        },
      ],
      [
        'a non-numeric timestamp',
        () => withParam(good(), (q) => q.replace(/auth_timestamp=\d+/, 'auth_timestamp=soon')),
      ],
      ['a negative timestamp', () => withParam(good(), (q) => q.replace(/auth_timestamp=\d+/, 'auth_timestamp=-1'))],
    ])('%s', (_name, make, appId = APP.id) => {
      expect(verify(make(), appId)).toMatchObject({ ok: false, status: 401, code: 'auth_failed' });
    });

    it('a signature for app-1 does not verify for app-2 even with the same secret', () => {
      const r = signed('POST', '/apps/app-2/events', {}, body, APP);
      expect(verify(r, 'app-2')).toMatchObject({ ok: false, status: 401 });
    });
  });

  describe('timestamp window', () => {
    it.each<[string, number, number | undefined, boolean]>([
      ['exactly 600 s old', -600, undefined, true],
      ['exactly 600 s ahead', 600, undefined, true],
      ['601 s old', -601, undefined, false],
      ['601 s ahead', 601, undefined, false],
      ['a day old', -86_400, undefined, false],
      ['61 s old with a 60 s window', -61, 60, false],
      ['60 s old with a 60 s window', -60, 60, true],
    ])('%s', (_name, offsetS, window, ok) => {
      const r = signed('GET', '/apps/app-1/channels', {}, '', APP, NOW_MS + offsetS * 1000);
      const res = verify(r, APP.id, NOW_MS, window);
      expect(res.ok).toBe(ok);
      if (!ok) expect(res).toMatchObject({ status: 401, code: 'auth_failed' });
    });
  });

  describe('body_md5 rules', () => {
    /** A correctly signed request whose query holds exactly the given body_md5 (or none). */
    function handSigned(method: string, bodyMd5: string | undefined, sentBody: string): SignedRequestInput {
      const params = [`auth_key=key-1`, `auth_timestamp=${NOW_S}`, 'auth_version=1.0'];
      if (bodyMd5 !== undefined) params.push(`body_md5=${bodyMd5}`);
      const sig = refHmac(APP.secret, `${method}\n${path}\n${params.join('&')}`);
      return req(method, path, `${params.join('&')}&auth_signature=${sig}`, sentBody);
    }

    it.each<[string, string, string | undefined, string, boolean]>([
      ['POST with body and its md5', 'POST', md5(body), body, true],
      ['PUT with body and its md5', 'PUT', md5(body), body, true],
      ['POST with body and no md5', 'POST', undefined, body, false],
      ['PUT with body and no md5', 'PUT', undefined, body, false],
      ['POST with body and an empty md5', 'POST', '', body, false],
      ['POST with body and an uppercase md5', 'POST', md5(body).toUpperCase(), body, false],
      ['POST with body and the md5 of another body', 'POST', md5('{}'), body, false],
      ['POST with an empty body and no md5', 'POST', undefined, '', true],
      ['POST with an empty body and the md5 of empty', 'POST', md5(''), '', false],
      ['GET without md5', 'GET', undefined, '', true],
      ['GET with an md5', 'GET', md5(''), '', false],
      ['DELETE with an md5', 'DELETE', md5(''), '', false],
    ])('%s', (_name, method, bodyMd5, sentBody, ok) => {
      const res = verify(handSigned(method, bodyMd5, sentBody));
      expect(res.ok).toBe(ok);
      if (!ok) expect(res).toMatchObject({ status: 401, code: 'auth_failed' });
    });

    it('hashes raw bytes, not a re-encoded string', () => {
      const raw = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0x7d]); // invalid UTF-8 on purpose
      const r = req('POST', path, signRequest(APP, 'POST', path, {}, raw, NOW_MS), raw);
      expect(r.rawQuery).toContain(`body_md5=${createHash('md5').update(raw).digest('hex')}`);
      expect(verify(r).ok).toBe(true);
    });
  });

  describe('percent-encoded paths', () => {
    const encoded = '/apps/app-1/channels/private-ai-1/messages/17%3A3';

    it('verifies against the raw path', () => {
      expect(verify(signed('GET', encoded)).ok).toBe(true);
    });

    it.each([
      ['the decoded path', '/apps/app-1/channels/private-ai-1/messages/17:3'],
      ['lower-case hex in the escape', '/apps/app-1/channels/private-ai-1/messages/17%3a3'],
    ])('rejects %s when the signature covered the encoded one', (_name, sentPath) => {
      expect(verify({ ...signed('GET', encoded), rawPath: sentPath })).toMatchObject({ ok: false, status: 401 });
    });
  });

  describe('403 forbidden', () => {
    it('a correctly signed request for a disabled app', () => {
      const r = signed('GET', '/apps/app-3/channels', {}, '', DISABLED);
      expect(verify(r, 'app-3')).toMatchObject({ ok: false, status: 403, code: 'forbidden' });
    });

    it('a badly signed request for a disabled app stays 401 (no state disclosed)', () => {
      const r = signed('GET', '/apps/app-3/channels', {}, '', { key: DISABLED.key, secret: 'guess' });
      expect(verify(r, 'app-3')).toMatchObject({ ok: false, status: 401 });
    });
  });

  it('signs auth_version but accepts any value of it', () => {
    const toSign = `GET\n/apps/app-1/channels\nauth_key=key-1&auth_timestamp=${NOW_S}&auth_version=9`;
    const q = `auth_key=key-1&auth_timestamp=${NOW_S}&auth_version=9&auth_signature=${refHmac(APP.secret, toSign)}`;
    expect(verify(req('GET', '/apps/app-1/channels', q)).ok).toBe(true);
    expect(verify(req('GET', '/apps/app-1/channels', q.replace('auth_version=9', 'auth_version=1.0'))).ok).toBe(false);
  });
});
