import { describe, expect, it } from 'vitest';
import { admissionError, type ConnectionParams, originAllowed, parseUpgradeRequest } from './ws-upgrade.ts';

describe('parseUpgradeRequest', () => {
  it('reads a pusher-js URL as V1', () => {
    expect(parseUpgradeRequest('/app/app-key?protocol=7&client=js&version=8.6.0&flash=false')).toEqual({
      ok: true,
      params: {
        appKey: 'app-key',
        version: 1,
        echoMessages: false,
        appendRollupWindowMs: undefined,
        appendMode: 'full',
        token: undefined,
      },
    });
  });

  it('reads V2 options', () => {
    const r = parseUpgradeRequest(
      '/app/k?protocol=2&echo_messages=false&append_rollup_window=100&append_mode=full&token=t',
    );
    expect(r).toEqual({
      ok: true,
      params: {
        appKey: 'k',
        version: 2,
        echoMessages: false,
        appendRollupWindowMs: 100,
        appendMode: 'full',
        token: 't',
      },
    });
  });

  it('defaults V2 to echo and delta; an empty append_mode is delta', () => {
    const r = parseUpgradeRequest('/app/k?protocol=2&append_mode=');
    expect(r.ok && r.params).toMatchObject({ echoMessages: true, appendMode: 'delta' });
  });

  it('treats a missing or other integer protocol as V1', () => {
    for (const t of ['/app/k', '/app/k?protocol=1', '/app/k?protocol=255']) {
      const r = parseUpgradeRequest(t);
      expect(r.ok && r.params.version).toBe(1);
    }
  });

  it('ignores V2-only parameters on V1', () => {
    const r = parseUpgradeRequest('/app/k?protocol=7&format=msgpack&append_rollup_window=3&append_mode=x');
    expect(r.ok).toBe(true);
  });

  it.each([
    ['/app/k?protocol=abc'],
    ['/app/k?protocol='],
    ['/app/k?protocol=256'],
    ['/app/k?protocol=2.0'],
    ['/app/k?protocol=2&format=protobuf'],
    ['/app/k?protocol=2&format=yaml'],
    ['/app/k?protocol=2&append_rollup_window=10'],
    ['/app/k?protocol=2&append_rollup_window=abc'],
    ['/app/k?protocol=2&append_mode=partial'],
    ['/app/k?protocol=2&echo_messages=yes'],
  ])('answers 400 to %s', (target) => {
    expect(parseUpgradeRequest(target)).toMatchObject({ ok: false, status: 400, code: 'invalid_input' });
  });

  it.each([['/'], ['/app'], ['/app/'], ['/app/k/extra'], ['/apps/k'], ['/app/bad key'], [undefined]])(
    'answers 404 to %s',
    (target) => {
      expect(parseUpgradeRequest(target)).toMatchObject({ ok: false, status: 404 });
    },
  );
});

describe('originAllowed', () => {
  it('allows anything when the list is empty or has *', () => {
    expect(originAllowed(undefined, [])).toBe(true);
    expect(originAllowed('https://x.test', ['*'])).toBe(true);
  });
  it('matches exact origins case-insensitively', () => {
    expect(originAllowed('https://App.example.com', ['https://app.example.com'])).toBe(true);
    expect(originAllowed('http://app.example.com', ['https://app.example.com'])).toBe(false);
  });
  it('matches host suffix patterns, with or without a scheme', () => {
    expect(originAllowed('https://a.example.com', ['*.example.com'])).toBe(true);
    expect(originAllowed('http://a.b.example.com', ['*.example.com'])).toBe(true);
    expect(originAllowed('https://example.com', ['*.example.com'])).toBe(false);
    expect(originAllowed('https://evilexample.com', ['*.example.com'])).toBe(false);
    expect(originAllowed('http://a.example.com', ['https://*.example.com'])).toBe(false);
    expect(originAllowed('https://a.example.com', ['https://*.example.com'])).toBe(true);
  });
  it('matches a bare host entry', () => {
    expect(originAllowed('https://app.test:8443', ['app.test'])).toBe(true);
  });
  it('refuses a missing or unparseable origin when a list is set', () => {
    expect(originAllowed(undefined, ['https://a.test'])).toBe(false);
    expect(originAllowed('null', ['https://a.test'])).toBe(false);
  });
});

describe('admissionError', () => {
  const app = {
    id: 'a',
    key: 'k',
    secret: 's',
    enabled: true,
    enableClientMessages: false,
    enableUserAuthentication: false,
    userAuthenticationTimeoutSeconds: 3600,
    allowedOrigins: [],
    limits: { maxConnections: 2 },
  } as unknown as Parameters<typeof admissionError>[0];
  const params = (over: Partial<ConnectionParams> = {}): ConnectionParams => ({
    appKey: 'k',
    version: 1,
    echoMessages: false,
    appendRollupWindowMs: undefined,
    appendMode: 'full',
    token: undefined,
    ...over,
  });
  const load = { nodeConnections: 0, nodeMax: 0, appConnections: 0 };
  const code = (...args: Parameters<typeof admissionError>) => admissionError(...args)?.code;

  it('admits within limits', () => {
    expect(code(app, params(), undefined, load)).toBeUndefined();
    expect(code(app, params({ version: 2, token: 't' }), undefined, load)).toBeUndefined();
  });
  it('refuses in the documented order', () => {
    expect(code(undefined, params(), undefined, load)).toBe('AIT_ERR_APP_NOT_FOUND');
    expect(code({ ...app, enabled: false } as typeof app, params(), undefined, load)).toBe('AIT_ERR_APP_DISABLED');
    expect(code({ ...app, allowedOrigins: ['https://a.test'] } as typeof app, params(), 'https://b.test', load)).toBe(
      'AIT_ERR_ORIGIN_NOT_ALLOWED',
    );
    expect(code(app, params(), undefined, { ...load, nodeMax: 1, nodeConnections: 1 })).toBe(
      'AIT_ERR_NODE_OVER_CAPACITY',
    );
    expect(code(app, params(), undefined, { ...load, appConnections: 2 })).toBe('AIT_ERR_APP_OVER_QUOTA');
    expect(code(app, params({ token: 't' }), undefined, load)).toBe('AIT_ERR_TOKEN_ON_V1');
  });
});
