// Who a connection is: `pusher:signin` (HMAC-signed user_data, PROTOCOL.md 2.3) and V2
// capability tokens (`?token=` at connect, `sockudo:auth` refresh, PROTOCOL.md 2.4). The
// verified id becomes the connection's identity (STANDARDS I3); a refresh cannot change it.
import {
  parseSigninUserData,
  type RevocationStore,
  type TokenVerification,
  type VerifiedToken,
  verifyCapabilityToken,
  verifySignin,
} from '../auth/index.ts';
import type { ResolvedApp } from '../config/load.ts';
import { aitError } from '../protocol/errors.ts';
import { dataObject } from '../protocol/frames.ts';
import type { Connection } from './connection.ts';
import type { EngineCore } from './ws-context.ts';

/** Time limit of one revocation-store lookup (STANDARDS F1); a timeout fails closed. */
export const REVOCATION_CHECK_TIMEOUT_MS = 2_000;

/** Verifies a token for an app, then checks the revocation store; fails closed. */
export async function verifyToken(
  app: ResolvedApp,
  token: string,
  revocations: RevocationStore,
  nowMs: number,
): Promise<TokenVerification> {
  const v = await verifyCapabilityToken(token, app, nowMs);
  if (!v.ok) return v;
  let timer: NodeJS.Timeout | undefined;
  try {
    const revoked = await Promise.race([
      revocations.isRevoked(app.id, v.token.jti, v.token.clientId, nowMs),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('revocation check timed out')), REVOCATION_CHECK_TIMEOUT_MS);
      }),
    ]);
    if (revoked) return { ok: false, reason: 'token revoked' };
  } catch {
    return { ok: false, reason: 'revocation check unavailable' };
  } finally {
    clearTimeout(timer);
  }
  return v;
}

/** Makes a verified token the connection's identity and capability set. */
export function applyToken(core: EngineCore, conn: Connection, t: VerifiedToken): void {
  conn.token = { clientId: t.clientId, jti: t.jti, exp: t.exp };
  conn.capabilities = t.capabilities;
  conn.tokenExpiredNoticeAtMs = undefined;
  conn.authenticated = true;
  if (!conn.signedIn) conn.userId = t.clientId;
  core.setIdentity(conn, conn.userId, t.jti);
}

export function handleSignin(core: EngineCore, conn: Connection, data: unknown): void {
  const d = dataObject(data);
  if (!d.ok) {
    core.fail(conn, aitError('AIT_ERR_SIGNIN_FAILED', { reason: d.reason }));
    return;
  }
  const userData = d.data.user_data;
  if (!verifySignin(conn.app, conn.socketId, userData, d.data.auth)) {
    core.fail(conn, aitError('AIT_ERR_SIGNIN_FAILED', { reason: 'invalid signature' }));
    return;
  }
  const u = parseSigninUserData(userData);
  if (!u.ok) {
    core.fail(conn, aitError('AIT_ERR_SIGNIN_FAILED', { reason: u.reason }));
    return;
  }
  if (conn.token && conn.token.clientId !== u.id) {
    core.fail(conn, aitError('AIT_ERR_SIGNIN_FAILED', { reason: 'user id differs from the token client id' }));
    return;
  }
  conn.userId = u.id;
  conn.userInfo = u.userInfo;
  conn.signedIn = true;
  conn.authenticated = true;
  // A token's capabilities are authoritative; sign-in capabilities apply to HMAC connections.
  if (!conn.token && u.capabilities) conn.capabilities = u.capabilities;
  core.setIdentity(conn, u.id, conn.token?.jti);
  core.send(conn, conn.wire.signinSuccess(userData as string));
  conn.log.debug('signed in');
}

export async function handleTokenRefresh(core: EngineCore, conn: Connection, data: unknown): Promise<void> {
  const d = dataObject(data);
  const token = d.ok ? d.data.token : undefined;
  if (typeof token !== 'string' || token === '') {
    core.fail(conn, aitError('AIT_ERR_TOKEN_REFRESH_FAILED', { reason: 'token is required' }));
    return;
  }
  const r = await verifyToken(conn.app, token, core.revocations, core.now());
  if (conn.state !== 'open') return;
  if (!r.ok) {
    core.fail(conn, aitError('AIT_ERR_TOKEN_REFRESH_FAILED', { reason: r.reason }));
    return;
  }
  const current = conn.token?.clientId ?? (conn.signedIn ? conn.userId : undefined);
  if (current !== undefined && r.token.clientId !== current) {
    core.fail(conn, aitError('AIT_ERR_TOKEN_REFRESH_FAILED', { reason: 'client_id cannot change' }));
    return;
  }
  applyToken(core, conn, r.token);
  core.send(conn, conn.wire.authSuccess(r.token.clientId, r.token.jti, r.token.exp));
  conn.log.debug({ exp: r.token.exp }, 'token refreshed');
}
