// Unauthenticated health routes of the public listener (PROTOCOL.md 9.4): `GET /live` and
// `GET /up[/{appId}]`, answering a status word in the body and in `X-Health-Check`. Pure.
import { aitError } from '../../protocol/errors.ts';
import { errorResponse, type HttpResponse, text } from '../http-util.ts';

export type HealthWord = 'OK' | 'DEGRADED' | 'ERROR' | 'DRAINING' | 'NOT_FOUND';

export interface HealthState {
  /** The node refuses new connections (drain or shutdown). */
  draining: boolean;
  /** 'enabled' / 'disabled' for a configured app, undefined for an unknown one. */
  appState(appId: string): 'enabled' | 'disabled' | undefined;
}

const STATUS: Record<HealthWord, number> = { OK: 200, DEGRADED: 200, ERROR: 503, DRAINING: 503, NOT_FOUND: 404 };

function word(w: HealthWord): HttpResponse {
  return text(STATUS[w], w, { 'X-Health-Check': w });
}

export function isHealthPath(rawPath: string): boolean {
  return rawPath === '/live' || rawPath === '/up' || rawPath.startsWith('/up/');
}

/** Answers a health path; the caller checked `isHealthPath`. */
export function healthResponse(method: string, rawPath: string, state: HealthState): HttpResponse {
  if (method !== 'GET' && method !== 'HEAD') {
    return errorResponse(aitError('AIT_ERR_METHOD_NOT_ALLOWED', { method, allow: 'GET, HEAD' }));
  }
  if (rawPath === '/live') return word('OK');
  if (rawPath === '/up') return word(state.draining ? 'DRAINING' : 'OK');
  let appId: string;
  try {
    appId = decodeURIComponent(rawPath.slice('/up/'.length));
  } catch {
    return word('NOT_FOUND');
  }
  const app = state.appState(appId);
  if (app === undefined) return word('NOT_FOUND');
  if (state.draining) return word('DRAINING');
  return word(app === 'enabled' ? 'OK' : 'ERROR');
}
