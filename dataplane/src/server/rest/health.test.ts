import { describe, expect, it } from 'vitest';
import { type HealthState, healthResponse, isHealthPath } from './health.ts';

const state = (draining: boolean): HealthState => ({
  draining,
  appState: (id) => (id === 'a1' ? 'enabled' : id === 'off' ? 'disabled' : undefined),
});

describe('health routes', () => {
  it('recognises only the health paths', () => {
    expect(['/live', '/up', '/up/a1'].every(isHealthPath)).toBe(true);
    expect(['/lives', '/upx', '/apps/a1'].some(isHealthPath)).toBe(false);
  });

  it.each([
    ['/live', false, 200, 'OK'],
    ['/live', true, 200, 'OK'],
    ['/up', false, 200, 'OK'],
    ['/up', true, 503, 'DRAINING'],
    ['/up/a1', false, 200, 'OK'],
    ['/up/a1', true, 503, 'DRAINING'],
    ['/up/nope', false, 404, 'NOT_FOUND'],
    ['/up/off', false, 503, 'ERROR'],
  ])('%s (draining %s) → %i %s', (path, draining, status, word) => {
    const r = healthResponse('GET', path, state(draining));
    expect(r).toMatchObject({ status, body: word, headers: { 'X-Health-Check': word } });
  });

  it('answers 405 to other methods', () => {
    expect(healthResponse('POST', '/up', state(false)).status).toBe(405);
  });
});
