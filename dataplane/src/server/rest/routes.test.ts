import { describe, expect, it } from 'vitest';
import { matchRoute } from './routes.ts';

describe('matchRoute', () => {
  it.each([
    ['POST', '/apps/a1/events', 'events', { appId: 'a1' }],
    ['POST', '/apps/a1/batch_events', 'batch_events', { appId: 'a1' }],
    ['GET', '/apps/a1/channels', 'channels', { appId: 'a1' }],
    ['GET', '/apps/a1/channels/presence-x', 'channel', { appId: 'a1', channel: 'presence-x' }],
    ['GET', '/apps/a1/channels/presence-x/users', 'channel_users', { appId: 'a1', channel: 'presence-x' }],
    ['POST', '/apps/a1/users/u%2042/terminate_connections', 'terminate_connections', { appId: 'a1', userId: 'u 42' }],
    ['POST', '/apps/a1/revocations', 'revocations', { appId: 'a1' }],
  ])('%s %s → %s', (method, path, route, params) => {
    expect(matchRoute(method, path)).toEqual({ kind: 'match', route, params });
  });

  it('decodes percent-encoded channel names (the signature still covers the raw path)', () => {
    const m = matchRoute('GET', '/apps/a1/channels/private-ai%3Asess%23x');
    expect(m).toMatchObject({ kind: 'match', params: { channel: 'private-ai:sess#x' } });
  });

  it('answers 405 with the allowed methods for a known path', () => {
    expect(matchRoute('GET', '/apps/a1/events')).toEqual({ kind: 'method_not_allowed', allow: ['POST'] });
    expect(matchRoute('DELETE', '/apps/a1/channels/x')).toEqual({ kind: 'method_not_allowed', allow: ['GET'] });
  });

  it.each([
    '/apps/a1',
    '/apps/a1/',
    '/apps/a1/events/',
    '/apps/a1/nope',
    '/apps//events/x',
    '/app/a1/events',
    '/apps/a1/channels/x/users/y',
  ])('404 for %s', (path) => {
    expect(matchRoute('POST', path).kind === 'match').toBe(false);
    expect(['not_found', 'method_not_allowed']).toContain(matchRoute('GET', path).kind);
  });

  it('rejects malformed percent-encoding and empty segments', () => {
    expect(matchRoute('GET', '/apps/a1/channels/%E0%A4%A')).toMatchObject({ kind: 'bad_path' });
    expect(matchRoute('GET', '/apps/a1/channels//users').kind).toBe('not_found');
  });
});
