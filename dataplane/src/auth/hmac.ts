// HMAC primitives and the Pusher channel-auth / sign-in signatures (PROTOCOL.md 2.3).
// Pure: no I/O, no clock. Every comparison of a client-supplied value against a secret-derived
// one goes through constantTimeEqual.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type CapabilitySet, parseSigninCapabilities } from './capabilities.ts';

/** Lowercase hex HMAC-SHA256 of the UTF-8 message. */
export function hmacSha256Hex(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message, 'utf8').digest('hex');
}

/**
 * Constant-time string equality. Different lengths return false without throwing, after a
 * dummy comparison so the length mismatch costs about the same as a content mismatch.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

/** Hex signature of `socketId:channel`, or `socketId:channel:channelData` when channelData is non-empty. */
export function channelAuthSignature(secret: string, socketId: string, channel: string, channelData?: string): string {
  const message =
    typeof channelData === 'string' && channelData.length > 0
      ? `${socketId}:${channel}:${channelData}`
      : `${socketId}:${channel}`;
  return hmacSha256Hex(secret, message);
}

/**
 * Checks a subscribe `auth` value. It must be the string `<app_key>:<hex>`; the whole string is
 * compared, so a signature made with another app's key prefix fails even if the secrets match.
 */
export function verifyChannelAuth(
  app: { key: string; secret: string },
  socketId: string,
  channel: string,
  auth: unknown,
  channelData?: string,
): boolean {
  if (typeof auth !== 'string' || auth.length === 0) return false;
  const expected = `${app.key}:${channelAuthSignature(app.secret, socketId, channel, channelData)}`;
  return constantTimeEqual(auth, expected);
}

/** Hex signature of `socketId::user::userData` (pusher:signin). */
export function signinSignature(secret: string, socketId: string, userData: string): string {
  return hmacSha256Hex(secret, `${socketId}::user::${userData}`);
}

/** Checks a pusher:signin `auth`: either `<app_key>:<hex>` or the bare hex. */
export function verifySignin(
  app: { key: string; secret: string },
  socketId: string,
  userData: unknown,
  auth: unknown,
): boolean {
  if (typeof userData !== 'string' || typeof auth !== 'string' || auth.length === 0) return false;
  const sig = signinSignature(app.secret, socketId, userData);
  // A hex signature never holds ':', so a colon means the prefixed form; its key must be ours.
  return auth.includes(':') ? constantTimeEqual(auth, `${app.key}:${sig}`) : constantTimeEqual(auth, sig);
}

export const MAX_USER_ID_BYTES = 128;

export type SigninUserData =
  | { ok: true; id: string; userInfo: Record<string, unknown>; capabilities?: CapabilitySet }
  | { ok: false; reason: string };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses a signed `user_data` JSON string. Call it only after verifySignin succeeded: the id it
 * returns becomes the connection's verified identity (STANDARDS I3).
 */
export function parseSigninUserData(userData: unknown): SigninUserData {
  if (typeof userData !== 'string') return { ok: false, reason: 'user_data must be a JSON string' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(userData);
  } catch {
    return { ok: false, reason: 'user_data is not valid JSON' };
  }
  if (!isPlainObject(parsed)) return { ok: false, reason: 'user_data must be a JSON object' };

  const id = parsed['id'];
  if (typeof id !== 'string' || id.length === 0)
    return { ok: false, reason: 'user_data.id must be a non-empty string' };
  if (Buffer.byteLength(id, 'utf8') > MAX_USER_ID_BYTES) {
    return { ok: false, reason: `user_data.id must be at most ${MAX_USER_ID_BYTES} bytes` };
  }

  const rawInfo = parsed['user_info'];
  let userInfo: Record<string, unknown> = {};
  if (rawInfo !== undefined && rawInfo !== null) {
    if (!isPlainObject(rawInfo)) return { ok: false, reason: 'user_data.user_info must be an object' };
    userInfo = rawInfo;
  }

  const rawCaps = parsed['capabilities'];
  if (rawCaps === undefined || rawCaps === null) return { ok: true, id, userInfo };
  const caps = parseSigninCapabilities(rawCaps);
  if (!caps.ok) return { ok: false, reason: `user_data.capabilities: ${caps.reason}` };
  return { ok: true, id, userInfo, capabilities: caps.set };
}
