// V2 capability tokens (PROTOCOL.md 2.4): HS256 JWTs signed with the app secret, `kid` = app key.
// jose checks the signature, exp/nbf and the claim types; this module adds the Sockudo rules
// (size, kid, iat skew, 24 h lifetime, claim byte lengths, the capability claim).
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, SignJWT } from 'jose';
import { type CapabilitySet, parseTokenCapabilityClaim } from './capabilities.ts';

export const MAX_TOKEN_BYTES = 8 * 1024;
export const MAX_CLIENT_ID_BYTES = 128;
export const MAX_JTI_BYTES = 128;
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;
export const TOKEN_CLOCK_SKEW_SECONDS = 30;

export const CLIENT_ID_CLAIM = 'x-sockudo-client-id';
export const CAPABILITY_CLAIM = 'x-sockudo-capability';

export interface VerifiedToken {
  clientId: string;
  jti: string;
  /** Unix seconds. */
  iat: number;
  /** Unix seconds; the connection layer sends token_expired (40142) at this instant. */
  exp: number;
  nbf?: number;
  capabilities: CapabilitySet;
}

export type TokenVerification = { ok: true; token: VerifiedToken } | { ok: false; reason: string };

function byteLengthIn(v: unknown, min: number, max: number): v is string {
  if (typeof v !== 'string') return false;
  const n = Buffer.byteLength(v, 'utf8');
  return n >= min && n <= max;
}

function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

function joseReason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `claim ${err.claim} invalid: ${err.reason}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm must be HS256';
  return 'malformed token';
}

/**
 * Verifies a capability token for one app. The result's reason is safe to show the client
 * (it never includes the secret or the token).
 */
export async function verifyCapabilityToken(
  token: string,
  app: { key: string; secret: string },
  nowMs: number,
): Promise<TokenVerification> {
  if (typeof token !== 'string' || token.length === 0) return { ok: false, reason: 'token missing' };
  if (Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) {
    return { ok: false, reason: `token exceeds ${MAX_TOKEN_BYTES} bytes` };
  }

  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, reason: 'invalid token header' };
  }
  if (header.alg !== 'HS256') return { ok: false, reason: 'algorithm must be HS256' };
  // kid binds the token to one app: a token for another app fails here even if secrets are shared.
  if (header.kid !== app.key) return { ok: false, reason: 'kid does not match the app key' };

  let payload: Record<string, unknown>;
  try {
    const verified = await jwtVerify(token, secretKey(app.secret), {
      algorithms: ['HS256'],
      currentDate: new Date(nowMs),
      clockTolerance: TOKEN_CLOCK_SKEW_SECONDS,
      requiredClaims: ['iat', 'exp', 'jti'],
    });
    payload = verified.payload;
  } catch (err) {
    return { ok: false, reason: joseReason(err) };
  }

  // jose has already checked exp (with leeway), nbf and that iat/nbf/exp are numbers.
  const nowSec = Math.floor(nowMs / 1000);
  const iat = payload['iat'] as number;
  const exp = payload['exp'] as number;
  const nbf = payload['nbf'] as number | undefined;
  if (iat > nowSec + TOKEN_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'iat is in the future' };
  if (nbf !== undefined && nbf > nowSec + TOKEN_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'token not yet valid' };
  if (exp <= iat) return { ok: false, reason: 'exp must be after iat' };
  if (exp - iat > MAX_TOKEN_LIFETIME_SECONDS) return { ok: false, reason: 'token lifetime exceeds 24 hours' };

  const clientId = payload[CLIENT_ID_CLAIM];
  if (!byteLengthIn(clientId, 1, MAX_CLIENT_ID_BYTES)) {
    return { ok: false, reason: `${CLIENT_ID_CLAIM} must be 1..${MAX_CLIENT_ID_BYTES} bytes` };
  }
  const jti = payload['jti'];
  if (!byteLengthIn(jti, 1, MAX_JTI_BYTES)) return { ok: false, reason: `jti must be 1..${MAX_JTI_BYTES} bytes` };
  if (payload[CAPABILITY_CLAIM] === undefined) return { ok: false, reason: `${CAPABILITY_CLAIM} missing` };
  const caps = parseTokenCapabilityClaim(payload[CAPABILITY_CLAIM]);
  if (!caps.ok) return { ok: false, reason: caps.reason };

  const verified: VerifiedToken = { clientId, jti, iat, exp, capabilities: caps.set };
  if (nbf !== undefined) verified.nbf = nbf;
  return { ok: true, token: verified };
}

/**
 * Mints a token that verifyCapabilityToken accepts (tests, the demo, docs). Bad arguments throw
 * a TypeError rather than producing a token the server would reject.
 */
export async function issueCapabilityToken(
  app: { key: string; secret: string },
  claims: {
    clientId: string;
    capabilities: Record<string, string[]>;
    ttlSeconds: number;
    jti?: string;
    nowMs: number;
  },
): Promise<string> {
  if (!byteLengthIn(claims.clientId, 1, MAX_CLIENT_ID_BYTES)) {
    throw new TypeError(`clientId must be 1..${MAX_CLIENT_ID_BYTES} bytes`);
  }
  if (!Number.isInteger(claims.ttlSeconds) || claims.ttlSeconds < 1 || claims.ttlSeconds > MAX_TOKEN_LIFETIME_SECONDS) {
    throw new TypeError(`ttlSeconds must be an integer in 1..${MAX_TOKEN_LIFETIME_SECONDS}`);
  }
  const jti = claims.jti ?? randomUUID();
  if (!byteLengthIn(jti, 1, MAX_JTI_BYTES)) throw new TypeError(`jti must be 1..${MAX_JTI_BYTES} bytes`);
  const caps = parseTokenCapabilityClaim(claims.capabilities);
  if (!caps.ok) throw new TypeError(`capabilities: ${caps.reason}`);

  const iat = Math.floor(claims.nowMs / 1000);
  // The claim travels as a JSON string: every Sockudo version accepts that form.
  return new SignJWT({
    [CLIENT_ID_CLAIM]: claims.clientId,
    [CAPABILITY_CLAIM]: JSON.stringify(claims.capabilities),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: app.key })
    .setIssuedAt(iat)
    .setExpirationTime(iat + claims.ttlSeconds)
    .setJti(jti)
    .sign(secretKey(app.secret));
}
