import { describe, expect, it } from 'vitest';
import { createWire, encodeBroadcastV1, encodeBroadcastV2, jsonInteger } from './sender.ts';

const ids = () => {
  let n = 0;
  return () => `id-${++n}`;
};

describe('V1 wire (protocol 7)', () => {
  const w = createWire(1, ids());
  it('connection_established carries string data and no message_id', () => {
    expect(w.connectionEstablished('1.2', 120)).toBe(
      '{"event":"pusher:connection_established","data":"{\\"socket_id\\":\\"1.2\\",\\"activity_timeout\\":120}"}',
    );
  });
  it('ping and pong have no data', () => {
    expect(w.pong()).toBe('{"event":"pusher:pong"}');
    expect(w.ping()).toBe('{"event":"pusher:ping"}');
  });
  it('error carries object data', () => {
    expect(w.error({ code: 4009, message: 'no' })).toBe('{"event":"pusher:error","data":{"code":4009,"message":"no"}}');
    expect(JSON.parse(w.error({ code: 4000, message: 'x', aiCode: 104000 })).data).toEqual({
      code: 4000,
      message: 'x',
      ai_code: 104000,
    });
  });
  it('subscription_succeeded carries string data, presence included', () => {
    expect(w.subscriptionSucceeded('a')).toBe(
      '{"event":"pusher_internal:subscription_succeeded","channel":"a","data":"{}"}',
    );
    const f = JSON.parse(w.subscriptionSucceeded('presence-a', { ids: ['1'], hash: { '1': null }, count: 1 }));
    expect(JSON.parse(f.data)).toEqual({ presence: { ids: ['1'], hash: { '1': null }, count: 1 } });
  });
  it('member_added/member_removed', () => {
    expect(JSON.parse(JSON.parse(w.memberAdded('presence-a', 'u', { n: 1 })).data)).toEqual({
      user_id: 'u',
      user_info: { n: 1 },
    });
    expect(w.memberRemoved('presence-a', 'u')).toBe(
      '{"event":"pusher_internal:member_removed","channel":"presence-a","data":"{\\"user_id\\":\\"u\\"}"}',
    );
  });
  it('signin_success carries user_data in an object', () => {
    expect(w.signinSuccess('{"id":"1"}')).toBe(
      '{"event":"pusher:signin_success","data":{"user_data":"{\\"id\\":\\"1\\"}"}}',
    );
  });
  it('cache_miss', () => {
    expect(w.cacheMiss('cache-a')).toBe('{"event":"pusher:cache_miss","channel":"cache-a"}');
  });
  it('refuses V2-only frames', () => {
    expect(() => w.authSuccess('c', 'j', 1)).toThrow(TypeError);
    expect(() => w.tokenExpired(40142, 'expired')).toThrow(TypeError);
  });
});

describe('V2 wire', () => {
  it('adds a fresh message_id to every direct frame but ping and pong', () => {
    const w = createWire(2, ids());
    const ce = JSON.parse(w.connectionEstablished('1.2', 120));
    expect(ce).toEqual({
      event: 'sockudo:connection_established',
      data: '{"socket_id":"1.2","activity_timeout":120}',
      message_id: 'id-1',
    });
    expect(JSON.parse(w.subscriptionSucceeded('a'))).toMatchObject({
      event: 'sockudo_internal:subscription_succeeded',
      message_id: 'id-2',
    });
    expect(w.pong()).toBe('{"event":"sockudo:pong"}');
    expect(w.ping()).toBe('{"event":"sockudo:ping"}');
    expect(JSON.parse(w.error({ code: 4009, message: 'm' }))).toEqual({
      event: 'sockudo:error',
      data: { code: 4009, message: 'm' },
      message_id: 'id-3',
    });
  });
  it('auth_success and token_expired', () => {
    const w = createWire(2, ids());
    expect(JSON.parse(w.authSuccess('c1', 'j1', 1_800_000_000))).toEqual({
      event: 'sockudo:auth_success',
      data: { client_id: 'c1', jti: 'j1', exp: 1_800_000_000 },
      message_id: 'id-1',
    });
    expect(JSON.parse(w.tokenExpired(40160, 'revoked')).data).toEqual({ code: 40160, reason: 'revoked' });
  });
});

describe('broadcast shaping', () => {
  const msg = {
    event: 'ai-output',
    channel: 'private-ai-x',
    data: '{"a":1}',
    userId: 'u1',
    messageId: 'm1',
    streamId: 's1',
    serial: 18446744073709551615n,
    tags: { t: 'v' },
    extras: { ai: { transport: { status: 'streaming' } } },
  };
  it('V2 carries the envelope with an integer serial', () => {
    expect(encodeBroadcastV2(msg, () => 'x')).toBe(
      '{"event":"ai-output","channel":"private-ai-x","data":"{\\"a\\":1}","user_id":"u1","tags":{"t":"v"},' +
        '"message_id":"m1","stream_id":"s1","serial":18446744073709551615,"extras":{"ai":{"transport":{"status":"streaming"}}}}',
    );
  });
  it('V2 generates a message_id when none is given', () => {
    expect(JSON.parse(encodeBroadcastV2({ event: 'e', channel: 'c', data: 'd' }, () => 'gen')).message_id).toBe('gen');
  });
  it('V1 strips serial, message_id, stream_id, tags and extras', () => {
    expect(encodeBroadcastV1(msg)).toBe(
      '{"event":"ai-output","channel":"private-ai-x","data":"{\\"a\\":1}","user_id":"u1"}',
    );
  });
  it('jsonInteger refuses unsafe numbers', () => {
    expect(() => jsonInteger(2 ** 60)).toThrow(TypeError);
    expect(JSON.stringify({ s: jsonInteger(7) })).toBe('{"s":7}');
  });
});
