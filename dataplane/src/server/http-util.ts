// Small node:http helpers shared by the public and ops listeners: a response value that
// pure handlers return, writing it (JSON, Connection: close), bounded body reading, and
// request ids. Every error body comes from the catalogue (protocol/errors.ts).
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AitError, aitError } from '../protocol/errors.ts';

/** What a handler answers; written by `writeResponse`. */
export interface HttpResponse {
  status: number;
  /** A string or object body; objects are serialised as JSON. */
  body: unknown;
  /** Defaults to JSON for objects, text/plain for strings. */
  contentType?: string;
  headers?: Record<string, string>;
}

export const JSON_TYPE = 'application/json; charset=utf-8';
export const TEXT_TYPE = 'text/plain; charset=utf-8';

export function json(status: number, body: unknown, headers?: Record<string, string>): HttpResponse {
  return headers ? { status, body, contentType: JSON_TYPE, headers } : { status, body, contentType: JSON_TYPE };
}

export function text(status: number, body: string, headers?: Record<string, string>): HttpResponse {
  return headers ? { status, body, contentType: TEXT_TYPE, headers } : { status, body, contentType: TEXT_TYPE };
}

/** Any thrown value as a catalogue error: unknown errors become a bare 500 (no internals leak, F8). */
export function toAitError(err: unknown): AitError {
  return err instanceof AitError ? err : aitError('AIT_ERR_INTERNAL', undefined, { cause: err });
}

/** The JSON error response of a catalogue error, with Retry-After on 429/503 (STANDARDS F8). */
export function errorResponse(err: AitError, extra?: Record<string, unknown>): HttpResponse {
  const headers: Record<string, string> = {};
  const status = err.httpStatus;
  if (status === 429 || status === 503) headers['Retry-After'] = String(err.retryAfterSeconds ?? 1);
  if (status === 405) {
    const allow = /allowed: (.*)$/.exec(err.message)?.[1];
    if (allow) headers.Allow = allow;
  }
  return json(status, extra ? { ...err.httpBody(), ...extra } : err.httpBody(), headers);
}

function serialise(response: HttpResponse): { payload: Buffer; type: string } {
  if (typeof response.body === 'string') {
    return { payload: Buffer.from(response.body), type: response.contentType ?? TEXT_TYPE };
  }
  if (Buffer.isBuffer(response.body)) return { payload: response.body, type: response.contentType ?? TEXT_TYPE };
  return { payload: Buffer.from(JSON.stringify(response.body)), type: response.contentType ?? JSON_TYPE };
}

/**
 * Writes a response with Content-Length and, when `close` is set, `Connection: close`
 * (every public API response, PROTOCOL.md 2.5). Returns the bytes written in the body.
 */
export function writeResponse(
  res: ServerResponse,
  response: HttpResponse,
  opts: { close?: boolean; requestId?: string; headOnly?: boolean } = {},
): number {
  if (res.headersSent || res.destroyed) return 0;
  const { payload, type } = serialise(response);
  res.statusCode = response.status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', payload.length);
  res.setHeader('Cache-Control', 'no-store');
  if (opts.close) res.setHeader('Connection', 'close');
  if (opts.requestId) res.setHeader('X-Request-Id', opts.requestId);
  for (const [k, v] of Object.entries(response.headers ?? {})) res.setHeader(k, v);
  res.end(opts.headOnly ? undefined : payload);
  return opts.headOnly ? 0 : payload.length;
}

/** Thrown by `readBody` when the client goes away mid-body. */
export class RequestAbortedError extends Error {}

/**
 * Reads a request body up to `limitBytes`. A declared Content-Length over the limit is
 * refused before any byte is read; a chunked body is refused as soon as it crosses the
 * limit, so an oversize body is never buffered whole. Rejects with 413 payload_too_large.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () =>
      aitError('AIT_ERR_PAYLOAD_TOO_LARGE', { reason: `request body exceeds ${limitBytes} bytes` });
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limitBytes) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | undefined, body?: Buffer) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) {
        // Discard (never buffer) whatever else arrives; Connection: close ends the socket.
        req.resume();
        reject(err);
      } else resolve(body as Buffer);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) finish(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => finish(undefined, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    const onError = (err: Error) => finish(err);
    const onAborted = () => finish(new RequestAbortedError('request aborted'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** A caller-supplied X-Request-Id when it is sane, else a fresh one. */
export function requestIdFrom(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Splits a request target into its raw path and raw query (percent-encoding kept). */
export function splitTarget(url: string | undefined): { rawPath: string; rawQuery: string } {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return q < 0 ? { rawPath: target, rawQuery: '' } : { rawPath: target.slice(0, q), rawQuery: target.slice(q + 1) };
}

/**
 * Answers a malformed request (bad headers, header timeout) with a JSON error instead of
 * Node's plain-text default; used as the servers' 'clientError' listener.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const status = timeout ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const reason = timeout ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  const body = JSON.stringify({
    error: timeout ? 'request headers not received in time' : 'malformed HTTP request',
    code: timeout ? 'request_timeout' : 'invalid_input',
    status,
  });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}
