import { describe, expect, it } from 'vitest';
import { ERRORS } from '../protocol/errors.ts';
import {
  aiErrorToAitError,
  aiLimits,
  checkAiHttpPublish,
  checkAiWsPublish,
  checkClientIdSpoof,
  codecStatus,
  DEFAULT_AI_LIMITS,
  hasTerminalStatus,
  isAiChannel,
  isStreaming,
  isTerminalTransport,
  stampClientId,
  TRANSPORT_KEYS,
  transportStatus,
  validateExtrasAi,
} from './validate.ts';

const code = (ai: unknown, opts?: Parameters<typeof validateExtrasAi>[1]): number | 'ok' => {
  const r = validateExtrasAi(ai, opts);
  return r.ok ? 'ok' : r.error.aiCode;
};

const keys = (n: number, prefix = 'k'): Record<string, string> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'v']));

describe('extras.ai shape', () => {
  it.each<[string, unknown, number | 'ok']>([
    ['empty object', {}, 'ok'],
    ['both tiers', { transport: { status: 'streaming', role: 'assistant' }, codec: { type: 'text' } }, 'ok'],
    ['not an object', 'x', 104000],
    ['an array', [], 104000],
    ['null', null, 104000],
    ['unknown tier', { headers: {} }, 104000],
    ['tier not an object', { transport: 'status=complete' }, 104000],
    ['tier is an array', { codec: ['a'] }, 104000],
    ['non-string value', { codec: { n: 1 } }, 104000],
    ['null value', { transport: { status: null } }, 104000],
  ])('%s → %s', (_l, ai, expected) => {
    expect(code(ai)).toBe(expected);
  });
});

describe('keys', () => {
  it.each<[string, unknown, number | 'ok']>([
    ['32 codec keys', { codec: keys(32) }, 'ok'],
    ['33 codec keys', { codec: keys(33) }, 104001],
    ['33 transport keys (count is checked before the registry)', { transport: keys(33) }, 104001],
    ['codec key of 64 bytes', { codec: { ['k'.repeat(64)]: 'v' } }, 'ok'],
    ['codec key of 65 bytes', { codec: { ['k'.repeat(65)]: 'v' } }, 104001],
    ['codec key with a multi-byte char over 64 bytes', { codec: { ['é'.repeat(33)]: 'v' } }, 104001],
    ['codec key with camelCase, _ and -', { codec: { providerMetadata: '{}', a_b: 'x', 'c-d': 'y' } }, 'ok'],
    ['codec key with a dot', { codec: { 'a.b': 'x' } }, 104000],
    ['codec key with a space', { codec: { 'a b': 'x' } }, 104000],
    ['empty codec key', { codec: { '': 'x' } }, 104000],
    ['transport key in upper case', { transport: { Status: 'complete' } }, 104000],
    ['transport key with _', { transport: { run_id: 'r' } }, 104000],
    ['unknown transport key', { transport: { 'made-up': 'x' } }, 104000],
  ])('%s → %s', (_l, ai, expected) => {
    expect(code(ai)).toBe(expected);
  });
});

describe('transport value domains', () => {
  const nonEmpty = Object.entries(TRANSPORT_KEYS)
    .filter(([, d]) => d === 'nonEmpty')
    .map(([k]) => k);

  it('the registry has every key of PROTOCOL.md 7.3', () => {
    expect(Object.keys(TRANSPORT_KEYS).sort()).toEqual(
      [
        'run-id',
        'turn-id',
        'turn-client-id',
        'input-client-id',
        'input-codec-message-id',
        'codec-message-id',
        'parent',
        'fork-of',
        'stream-id',
        'invocation-id',
        'event-id',
        'step-id',
        'step-start-serial',
        'steer-codec-message-ids',
        'msg-regenerate',
        'supersedes',
        'error-code',
        'model',
        'run-client-id',
        'step-client-id',
        'run-reason',
        'turn-reason',
        'step-reason',
        'stream',
        'discrete',
        'run-continue',
        'turn-continue',
        'status',
        'role',
        'error-message',
      ].sort(),
    );
  });

  it.each(nonEmpty)('%s must be non-empty', (key) => {
    expect(code({ transport: { [key]: 'x' } })).toBe('ok');
    expect(code({ transport: { [key]: '' } })).toBe(104000);
  });

  it.each<[string, string[], string[]]>([
    ['run-reason', ['complete', 'cancelled', 'error'], ['suspended', 'failed', '']],
    ['turn-reason', ['complete', 'cancelled', 'error', 'suspended'], ['failed']],
    ['step-reason', ['complete', 'failed', 'cancelled'], ['error', 'suspended']],
    ['stream', ['true', 'false'], ['1', 'TRUE', 'yes']],
    ['discrete', ['true', 'false'], ['0']],
    ['run-continue', ['true', 'false'], ['']],
    ['turn-continue', ['true', 'false'], ['no']],
    ['status', ['streaming', 'complete', 'cancelled'], ['error', 'done', 'Complete']],
    ['role', ['user', 'assistant', 'system', 'tool', 'agent'], ['bot', '']],
  ])('%s accepts %j and rejects %j', (key, good, bad) => {
    for (const v of good) expect(code({ transport: { [key]: v } }), v).toBe('ok');
    for (const v of bad) expect(code({ transport: { [key]: v } }), v).toBe(104000);
  });

  it.each(['run-client-id', 'step-client-id', 'error-message'])(
    '%s accepts an empty string from a trusted caller',
    (key) => {
      expect(code({ transport: { [key]: '' } })).toBe('ok');
    },
  );
});

describe('value sizes', () => {
  it.each<[string, unknown, number | 'ok']>([
    ['transport value of 256 bytes', { transport: { model: 'm'.repeat(256) } }, 'ok'],
    ['transport value of 257 bytes', { transport: { model: 'm'.repeat(257) } }, 104001],
    ['transport value of 129 two-byte chars', { transport: { model: 'é'.repeat(129) } }, 104001],
    ['steer ids of 2048 bytes', { transport: { 'steer-codec-message-ids': 's'.repeat(2048) } }, 'ok'],
    ['steer ids of 2049 bytes', { transport: { 'steer-codec-message-ids': 's'.repeat(2049) } }, 104001],
    ['codec value of 256 bytes', { codec: { text: 'x'.repeat(256) } }, 'ok'],
    ['codec value of 257 bytes', { codec: { text: 'x'.repeat(257) } }, 104001],
    ['providerMetadata of 8192 bytes', { codec: { providerMetadata: 'x'.repeat(8192) } }, 'ok'],
    ['providerMetadata of 8193 bytes', { codec: { providerMetadata: 'x'.repeat(8193) } }, 104001],
    ['a too-long value out of domain: size first', { transport: { status: 'x'.repeat(300) } }, 104001],
  ])('%s → %s', (_l, ai, expected) => {
    expect(code(ai)).toBe(expected);
  });

  it('config raises the ceilings but never lowers them', () => {
    const raised = aiLimits({ maxTransportValueBytes: 1024, maxSteerCodecMessageIdsBytes: 4096 });
    expect(code({ transport: { model: 'm'.repeat(1024) } }, { limits: raised })).toBe('ok');
    expect(code({ transport: { model: 'm'.repeat(1025) } }, { limits: raised })).toBe(104001);
    expect(code({ transport: { 'steer-codec-message-ids': 's'.repeat(4096) } }, { limits: raised })).toBe('ok');
    const lowered = aiLimits({ maxTransportValueBytes: 10, maxSteerCodecMessageIdsBytes: 10 });
    expect(lowered).toEqual(DEFAULT_AI_LIMITS);
    expect(code({ transport: { model: 'm'.repeat(256) } }, { limits: lowered })).toBe('ok');
    expect(aiLimits({ maxTransportValueBytes: Number.NaN })).toEqual(DEFAULT_AI_LIMITS);
  });
});

describe('anti-spoof (untrusted publishers)', () => {
  const untrusted = { publisher: { trusted: false as const, clientId: 'alice' } };

  it.each<[string, Record<string, string>, number | 'ok']>([
    ['matching input-client-id', { 'input-client-id': 'alice' }, 'ok'],
    ['other input-client-id', { 'input-client-id': 'bob' }, 104002],
    ['other run-client-id', { 'run-client-id': 'bob', 'run-id': 'r' }, 104002],
    ['empty run-client-id', { 'run-client-id': '' }, 104002],
    ['other legacy turn-client-id', { 'turn-client-id': 'bob' }, 104002],
    ['other step-client-id', { 'step-client-id': 'mallory' }, 104002],
    ['no client-id keys', { 'run-id': 'r', status: 'streaming' }, 'ok'],
  ])('%s → %s', (_l, transport, expected) => {
    expect(code({ transport }, untrusted)).toBe(expected);
  });

  it('is skipped for trusted publishers', () => {
    expect(code({ transport: { 'run-client-id': 'bob' } })).toBe('ok');
    expect(code({ transport: { 'run-client-id': '' } }, { publisher: { trusted: true } })).toBe('ok');
  });

  it('an empty verified id never matches', () => {
    expect(checkClientIdSpoof({ 'input-client-id': '' }, '')?.aiCode).toBe(104002);
  });

  it('reports the key', () => {
    const r = validateExtrasAi({ transport: { 'input-client-id': 'bob' } }, untrusted);
    expect(!r.ok && r.error).toMatchObject({
      tier: 'transport',
      key: 'input-client-id',
      code: 'AIT_ERR_AI_CLIENT_ID_SPOOF',
    });
  });
});

describe('publish gating (PROTOCOL.md 7.2)', () => {
  it('WebSocket: AI channel, protocol 2, client-publishable events only', () => {
    expect(checkAiWsPublish({ event: 'ai-input', aiChannel: true, protocol: 2 })).toBeUndefined();
    expect(checkAiWsPublish({ event: 'ai-cancel', aiChannel: true, protocol: 2 })).toBeUndefined();
    expect(checkAiWsPublish({ event: 'ai-input', aiChannel: false, protocol: 2 })?.aiCode).toBe(104003);
    expect(checkAiWsPublish({ event: 'ai-input', aiChannel: true, protocol: 1 })?.aiCode).toBe(104003);
    const agent = checkAiWsPublish({ event: 'ai-output', aiChannel: true, protocol: 2 });
    expect(agent?.aiCode).toBe(104003);
    expect(agent?.reason).toBe('agent AI events require trusted app-key publish');
  });

  it('HTTP: AI events and extras.ai only on AI channels; message_id 1..64 bytes', () => {
    expect(checkAiHttpPublish({ event: 'ai-output', aiChannel: false, hasExtrasAi: false })?.aiCode).toBe(104003);
    expect(checkAiHttpPublish({ event: 'my-event', aiChannel: false, hasExtrasAi: true })?.aiCode).toBe(104003);
    expect(checkAiHttpPublish({ event: 'my-event', aiChannel: false, hasExtrasAi: false })).toBeUndefined();
    expect(checkAiHttpPublish({ event: 'ai-output', aiChannel: true, hasExtrasAi: true, messageId: '' })?.aiCode).toBe(
      104000,
    );
    expect(
      checkAiHttpPublish({ event: 'ai-output', aiChannel: true, hasExtrasAi: true, messageId: 'm'.repeat(65) })?.aiCode,
    ).toBe(104001);
    expect(
      checkAiHttpPublish({ event: 'ai-output', aiChannel: true, hasExtrasAi: true, messageId: 'm'.repeat(64) }),
    ).toBeUndefined();
  });

  it('AI channels match by plain prefix; an empty prefix never matches', () => {
    expect(isAiChannel('private-ai-x', ['private-ai-'])).toBe(true);
    expect(isAiChannel('private-x', ['private-ai-', ''])).toBe(false);
  });

  it('stamps the verified id when the header is missing', () => {
    expect(stampClientId(undefined, 'ai-input', 'alice')).toEqual({ transport: { 'input-client-id': 'alice' } });
    expect(stampClientId({ codec: { a: 'b' } }, 'ai-cancel', 'alice')).toEqual({
      codec: { a: 'b' },
      transport: { 'run-client-id': 'alice' },
    });
    const given = { transport: { 'input-client-id': 'alice' } };
    expect(stampClientId(given, 'ai-input', 'alice')).toBe(given);
    expect(stampClientId(undefined, 'ai-output', 'alice')).toBeUndefined();
  });
});

describe('status helpers', () => {
  it.each<
    [string, unknown, { transport?: string; codec?: string; terminal: boolean; any: boolean; streaming: boolean }]
  >([
    [
      'transport complete',
      { ai: { transport: { status: 'complete' } } },
      { transport: 'complete', terminal: true, any: true, streaming: false },
    ],
    [
      'transport cancelled',
      { ai: { transport: { status: 'cancelled' } } },
      { transport: 'cancelled', terminal: true, any: true, streaming: false },
    ],
    [
      'transport streaming',
      { ai: { transport: { status: 'streaming' } } },
      { transport: 'streaming', terminal: false, any: false, streaming: true },
    ],
    [
      'codec complete only',
      { ai: { codec: { status: 'complete' } } },
      { codec: 'complete', terminal: false, any: true, streaming: false },
    ],
    ['no extras', undefined, { terminal: false, any: false, streaming: false }],
    ['malformed ai', { ai: 'x' }, { terminal: false, any: false, streaming: false }],
  ])('%s', (_l, extras, e) => {
    expect(transportStatus(extras)).toBe(e.transport);
    expect(codecStatus(extras)).toBe(e.codec);
    expect(isTerminalTransport(extras)).toBe(e.terminal);
    expect(hasTerminalStatus(extras)).toBe(e.any);
    expect(isStreaming(extras)).toBe(e.streaming);
  });
});

describe('catalogue mapping', () => {
  it.each<[unknown, object | undefined, string, number]>([
    [{ transport: { bogus: 'x' } }, undefined, 'ai_invalid_transport_header', 400],
    [{ codec: keys(40) }, undefined, 'ai_header_too_large', 413],
    [
      { transport: { 'input-client-id': 'x' } },
      { publisher: { trusted: false, clientId: 'y' } },
      'ai_client_id_spoof',
      403,
    ],
  ])('%j → %s', (ai, opts, httpCode, status) => {
    const r = validateExtrasAi(ai, opts as Parameters<typeof validateExtrasAi>[1]);
    if (r.ok) throw new Error('expected an error');
    expect(ERRORS[r.error.code]).toBeDefined();
    const e = aiErrorToAitError(r.error, 'private-ai-x');
    expect(e.httpBody()).toMatchObject({ code: httpCode, status, ai_code: r.error.aiCode });
    expect(e.wsCode).toBe(4000);
  });
});
