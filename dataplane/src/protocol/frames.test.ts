import { describe, expect, it } from 'vitest';
import { classifyEvent, dataByteLength, dataObject, decodeFrame, parseSubscribe } from './frames.ts';

describe('decodeFrame', () => {
  it('decodes a pusher-js subscribe frame', () => {
    const r = decodeFrame('{"event":"pusher:subscribe","data":{"auth":"","channel":"my-channel"}}');
    expect(r).toEqual({
      ok: true,
      frame: {
        event: 'pusher:subscribe',
        kind: { type: 'protocol', name: 'subscribe' },
        channel: undefined,
        data: { auth: '', channel: 'my-channel' },
      },
    });
  });

  it.each([
    ['pusher:ping', { type: 'protocol', name: 'ping' }],
    ['sockudo:ping', { type: 'protocol', name: 'ping' }],
    ['sockudo:subscribe', { type: 'protocol', name: 'subscribe' }],
    ['pusher:signin', { type: 'protocol', name: 'signin' }],
    ['sockudo:auth', { type: 'protocol', name: 'auth' }],
    ['client-typing', { type: 'client' }],
    ['pusher:whatever', { type: 'unknown' }],
    ['pusher_internal:subscription_succeeded', { type: 'unknown' }],
    ['my-event', { type: 'unknown' }],
  ])('classifies %s', (event, kind) => {
    expect(classifyEvent(event)).toEqual(kind);
  });

  it.each([
    ['not json', 'malformed JSON'],
    ['[1,2]', 'frame is not a JSON object'],
    ['"str"', 'frame is not a JSON object'],
    ['null', 'frame is not a JSON object'],
    ['{}', 'missing event name'],
    ['{"event":42}', 'missing event name'],
    ['{"event":"client-x","channel":5}', 'channel must be a string'],
    ['', 'malformed JSON'],
  ])('rejects %j with a typed error', (text, reason) => {
    expect(decodeFrame(text)).toEqual({ ok: false, reason });
  });

  it('keeps client event data as sent', () => {
    const r = decodeFrame('{"event":"client-x","channel":"private-a","data":"{\\"a\\":1}"}');
    expect(r.ok && r.frame.data).toBe('{"a":1}');
  });
});

describe('dataObject', () => {
  it('accepts an object, a JSON string of one, or nothing', () => {
    expect(dataObject({ a: 1 })).toEqual({ ok: true, data: { a: 1 } });
    expect(dataObject('{"a":1}')).toEqual({ ok: true, data: { a: 1 } });
    expect(dataObject(undefined)).toEqual({ ok: true, data: {} });
    expect(dataObject('')).toEqual({ ok: true, data: {} });
  });
  it('rejects other shapes', () => {
    expect(dataObject('{bad').ok).toBe(false);
    expect(dataObject('[1]').ok).toBe(false);
    expect(dataObject(5).ok).toBe(false);
  });
});

describe('parseSubscribe', () => {
  it('reads channel, auth and channel_data from a JSON string', () => {
    const data = JSON.stringify({ channel: 'presence-a', auth: 'k:sig', channel_data: '{"user_id":"1"}' });
    expect(parseSubscribe(data)).toEqual({
      ok: true,
      req: { channel: 'presence-a', auth: 'k:sig', channelData: '{"user_id":"1"}' },
    });
  });
  it('requires a channel and string auth', () => {
    expect(parseSubscribe({}).ok).toBe(false);
    expect(parseSubscribe({ channel: 'a', auth: 5 }).ok).toBe(false);
    expect(parseSubscribe({ channel: 'a', channel_data: 5 }).ok).toBe(false);
  });
});

describe('dataByteLength', () => {
  it('measures strings as UTF-8 and values as JSON', () => {
    expect(dataByteLength('é')).toBe(2);
    expect(dataByteLength({ a: 1 })).toBe(7);
    expect(dataByteLength(undefined)).toBe(0);
  });
});
