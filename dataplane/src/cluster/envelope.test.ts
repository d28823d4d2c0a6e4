import { describe, expect, it } from 'vitest';
import type { VersionMessage } from '../pipeline/message.ts';
import { decodeEnvelope, encodeEnvelope } from './envelope.ts';

const append: VersionMessage = {
  kind: 'version',
  appId: 'a',
  channel: 'c',
  streamId: 's',
  terminal: false,
  record: {
    action: 'append',
    message_serial: 'm',
    version_serial: 'v2',
    history_serial: 1,
    delivery_serial: 2,
    timestamp_ms: 1,
    data: 'the whole aggregate so far',
    fragment: 'far',
  },
};

describe('transport envelopes', () => {
  it('carry appends without their aggregate, everything else whole', () => {
    const env = decodeEnvelope(encodeEnvelope('n1', append));
    expect(env?.n).toBe('n1');
    const p = env?.p as VersionMessage;
    expect(p.record.data).toBeUndefined();
    expect(p.record.fragment).toBe('far');
    const update = { ...append, record: { ...append.record, action: 'update' as const } };
    const whole = decodeEnvelope(encodeEnvelope('n1', update))?.p as VersionMessage | undefined;
    expect(whole?.record.data).toBe('the whole aggregate so far');
  });

  it('round-trips control signals', () => {
    const env = decodeEnvelope(encodeEnvelope('n2', { kind: 'revoke', appId: 'a', jti: 'j' }));
    expect(env?.p).toEqual({ kind: 'revoke', appId: 'a', jti: 'j' });
  });

  it('refuses anything malformed', () => {
    for (const bad of [
      'nope',
      '[]',
      '{"v":2,"n":"x","p":{}}',
      '{"v":1,"n":"x","p":{"kind":"other","appId":"a"}}',
      '{"v":1,"n":"x","p":{"kind":"event","appId":"a"}}',
      '{"v":1,"n":"x","p":{"kind":"version","appId":"a","channel":"c","streamId":"s","record":{"message_serial":"m"}}}',
    ]) {
      expect(decodeEnvelope(bad), bad).toBeUndefined();
    }
  });
});
