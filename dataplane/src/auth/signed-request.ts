// Pusher-style signed HTTP requests (PROTOCOL.md 2.5): the verifier for every /apps/{id}/...
// route, and the signer used by tests and tools. Pure: the clock and the app lookup are injected.
import { createHash } from 'node:crypto';
import { constantTimeEqual, hmacSha256Hex } from './hmac.ts';

export interface SignedRequestInput {
  method: string;
  /** The request path exactly as received, percent-encoding kept (`/apps/1/channels/a%3Ab`). */
  rawPath: string;
  /** The raw query string, without the leading '?'. */
  rawQuery: string;
  body: Buffer;
}

export interface AppCredentials {
  id: string;
  key: string;
  secret: string;
  enabled: boolean;
}

export type SignedRequestResult =
  | { ok: true; app: AppCredentials }
  | {
      ok: false;
      status: 400 | 401 | 403;
      code: 'invalid_input' | 'auth_failed' | 'forbidden';
      message: string;
    };

export const DEFAULT_TIMESTAMP_WINDOW_SECONDS = 600;

const RESERVED_PARAMS = ['auth_key', 'auth_timestamp', 'auth_version', 'auth_signature', 'body_md5'] as const;

// Methods whose body is covered by body_md5. For every other method body_md5 must be absent.
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);
const EMPTY_BODY = Buffer.alloc(0);

function invalidInput(message: string): SignedRequestResult {
  return { ok: false, status: 400, code: 'invalid_input', message };
}

function authFailed(message: string): SignedRequestResult {
  return { ok: false, status: 401, code: 'auth_failed', message };
}

/** Lowercase hex MD5 of the raw body bytes. */
export function bodyMd5Hex(body: Buffer | string): string {
  return createHash('md5').update(body).digest('hex');
}

/** application/x-www-form-urlencoded decoding; throws URIError on a malformed escape. */
function formDecode(s: string): string {
  return decodeURIComponent(s.replaceAll('+', ' '));
}

/**
 * Splits a raw query into decoded pairs with lower-cased keys. Returns a string reason when
 * the query is malformed or repeats a key (two values would make the signed string ambiguous).
 */
export function parseQuery(rawQuery: string): Map<string, string> | string {
  const params = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let value: string;
    try {
      key = formDecode(eq === -1 ? part : part.slice(0, eq)).toLowerCase();
      value = eq === -1 ? '' : formDecode(part.slice(eq + 1));
    } catch {
      return 'Malformed query string';
    }
    if (params.has(key)) return `Duplicate query parameter: ${key}`;
    params.set(key, value);
  }
  return params;
}

// Bytewise (UTF-8) order, as the Rust BTreeMap in Sockudo sorts; JS '<' compares UTF-16 units.
function sortedKeys(params: ReadonlyMap<string, string>): string[] {
  const keys = [...params.keys()].filter((k) => k !== 'auth_signature');
  return keys.sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** Every pair except auth_signature, sorted by the UTF-8 bytes of the key, joined as `k=v&k=v`. */
export function canonicalQuery(params: ReadonlyMap<string, string>): string {
  return sortedKeys(params)
    .map((k) => `${k}=${params.get(k)}`)
    .join('&');
}

/** `METHOD\npath\ncanonical_query`, the string the app secret signs. */
export function stringToSign(method: string, rawPath: string, params: ReadonlyMap<string, string>): string {
  return `${method.toUpperCase()}\n${rawPath}\n${canonicalQuery(params)}`;
}

/**
 * Verifies a signed REST request for the app named in its path. The signature is checked before
 * the enabled flag, so only a correctly signed caller learns that an app is disabled.
 */
export function verifySignedRequest(
  req: SignedRequestInput,
  expectedAppId: string,
  lookupByKey: (key: string) => AppCredentials | undefined,
  nowMs: number,
  windowSeconds: number = DEFAULT_TIMESTAMP_WINDOW_SECONDS,
): SignedRequestResult {
  if (!req.rawQuery) return invalidInput('Missing query string: the request must be signed');
  const params = parseQuery(req.rawQuery);
  if (typeof params === 'string') return invalidInput(params);

  const authKey = params.get('auth_key');
  if (!authKey) return invalidInput('Missing query parameter: auth_key');
  const authTimestamp = params.get('auth_timestamp');
  if (!authTimestamp) return invalidInput('Missing query parameter: auth_timestamp');
  const authSignature = params.get('auth_signature');
  if (!authSignature) return invalidInput('Missing query parameter: auth_signature');

  const app = lookupByKey(authKey);
  if (!app) return authFailed('Unknown auth_key');
  if (app.id !== expectedAppId) return authFailed('auth_key does not belong to the app in the path');

  if (!/^\d{1,15}$/.test(authTimestamp)) return authFailed('Invalid auth_timestamp');
  const skew = Math.abs(Math.floor(nowMs / 1000) - Number(authTimestamp));
  if (skew > windowSeconds) return authFailed('auth_timestamp outside the allowed window');

  const method = req.method.toUpperCase();
  const bodyMd5 = params.get('body_md5');
  const body = req.body ?? EMPTY_BODY;
  if (BODY_METHODS.has(method) && body.length > 0) {
    if (!bodyMd5) return authFailed(`body_md5 is required for ${method} requests with a body`);
    if (!constantTimeEqual(bodyMd5, bodyMd5Hex(body))) return authFailed('body_md5 does not match the body');
  } else if (bodyMd5 !== undefined) {
    return authFailed(
      BODY_METHODS.has(method)
        ? 'body_md5 must be absent when the body is empty'
        : `body_md5 must be absent for ${method}`,
    );
  }

  const expected = hmacSha256Hex(app.secret, stringToSign(method, req.rawPath, params));
  if (!constantTimeEqual(authSignature, expected)) return authFailed('Invalid signature');

  if (!app.enabled) return { ok: false, status: 403, code: 'forbidden', message: 'App disabled' };
  return { ok: true, app };
}

/**
 * Signs a request the way the Pusher server SDKs do and returns the query string (no '?'):
 * `params`, auth_key, auth_timestamp, auth_version=1.0, body_md5 when the method carries a
 * non-empty body, and auth_signature last. `rawPath` must be the path as it will be sent.
 */
export function signRequest(
  app: { key: string; secret: string },
  method: string,
  rawPath: string,
  params: Record<string, string>,
  body: Buffer | string | undefined,
  nowMs: number,
): string {
  const upper = method.toUpperCase();
  const pairs = new Map<string, string>();
  for (const [k, v] of Object.entries(params)) {
    const key = k.toLowerCase();
    if ((RESERVED_PARAMS as readonly string[]).includes(key)) {
      throw new TypeError(`${key} is set by signRequest and cannot be passed in params`);
    }
    if (pairs.has(key)) throw new TypeError(`params repeat the key ${key} (keys are case-insensitive)`);
    pairs.set(key, String(v));
  }
  pairs.set('auth_key', app.key);
  pairs.set('auth_timestamp', String(Math.floor(nowMs / 1000)));
  pairs.set('auth_version', '1.0');
  if (body !== undefined && body.length > 0 && BODY_METHODS.has(upper)) pairs.set('body_md5', bodyMd5Hex(body));

  const signature = hmacSha256Hex(app.secret, stringToSign(upper, rawPath, pairs));
  const query = sortedKeys(pairs).map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(pairs.get(k)!)}`);
  query.push(`auth_signature=${signature}`);
  return query.join('&');
}
