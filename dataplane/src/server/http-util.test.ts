import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { aitError } from '../protocol/errors.ts';
import { errorResponse, readBody, requestIdFrom, splitTarget } from './http-util.ts';

function fakeRequest(headers: Record<string, string> = {}) {
  const stream = new PassThrough() as PassThrough & { headers: Record<string, string> };
  stream.headers = headers;
  return stream;
}

describe('readBody', () => {
  it('returns the body under the limit', async () => {
    const req = fakeRequest();
    const body = readBody(req as never, 10);
    req.end(Buffer.from('hello'));
    expect((await body).toString()).toBe('hello');
  });

  it('refuses a declared oversize body without reading it', async () => {
    const req = fakeRequest({ 'content-length': '11' });
    await expect(readBody(req as never, 10)).rejects.toMatchObject({ httpStatus: 413 });
  });

  it('stops at the limit for a chunked body', async () => {
    const req = fakeRequest();
    const body = readBody(req as never, 10);
    req.write(Buffer.alloc(6));
    req.write(Buffer.alloc(6));
    await expect(body).rejects.toMatchObject({ httpStatus: 413 });
  });
});

describe('errorResponse', () => {
  it('adds Retry-After on 429 and 503, and Allow on 405', () => {
    const limited = errorResponse(aitError('AIT_ERR_RATE_LIMITED', undefined, { retryAfterSeconds: 3 }));
    expect(limited).toMatchObject({ status: 429, headers: { 'Retry-After': '3' } });
    expect(errorResponse(aitError('AIT_ERR_UNAVAILABLE', { reason: 'x' })).headers).toEqual({ 'Retry-After': '1' });
    const wrong = errorResponse(aitError('AIT_ERR_METHOD_NOT_ALLOWED', { method: 'PUT', allow: 'GET, POST' }));
    expect(wrong).toMatchObject({ status: 405, headers: { Allow: 'GET, POST' } });
    expect(wrong.body).toEqual({
      error: 'Method PUT not allowed here; allowed: GET, POST',
      code: 'method_not_allowed',
      status: 405,
    });
  });

  it('never leaks the message of an internal error', () => {
    expect(errorResponse(aitError('AIT_ERR_INTERNAL', undefined, { cause: new Error('db password x') })).body).toEqual({
      error: 'Internal error',
      code: 'internal_error',
      status: 500,
    });
  });
});

describe('request helpers', () => {
  it('keeps a sane X-Request-Id and replaces anything else', () => {
    expect(requestIdFrom({ 'x-request-id': 'abc-123' })).toBe('abc-123');
    expect(requestIdFrom({ 'x-request-id': 'bad id\n' })).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFrom({})).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('splits the raw target without decoding', () => {
    expect(splitTarget('/apps/a/channels/x%3Ay?auth_key=k&b=1')).toEqual({
      rawPath: '/apps/a/channels/x%3Ay',
      rawQuery: 'auth_key=k&b=1',
    });
    expect(splitTarget('/live')).toEqual({ rawPath: '/live', rawQuery: '' });
  });
});
