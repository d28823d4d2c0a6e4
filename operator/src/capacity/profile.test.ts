import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { plan } from './model.ts';
import { BUDGET_DEFAULTS, parseProfile, validateProfile } from './profile.ts';

const PROFILES = new URL('../../../test/load/profiles/', import.meta.url);
const load = (name: string) => {
  const r = parseProfile(readFileSync(new URL(name, PROFILES), 'utf8'), name);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.profile;
};

const MINIMAL = {
  name: 'm',
  durationSeconds: 60,
  connections: 10,
  activeStreams: 2,
  tokensPerSecond: 10,
  subscribersPerSession: { min: 1, max: 2 },
};

function errorsOf(value: unknown): readonly string[] {
  const r = validateProfile(value);
  return r.ok ? [] : r.errors;
}

describe('profiles', () => {
  it('fills the documented defaults', () => {
    const r = validateProfile(MINIMAL);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.profile).toMatchObject({
      rollupWindowMs: 40,
      headroom: 0.2,
      response: { meanTokens: 500, meanTokenBytes: 4, controlWrites: 5 },
      budgets: {},
      fleet: { transport: 'all-channels' },
    });
    expect(r.profile.retentionMultiplier).toBeUndefined();
  });

  it('names every invalid field, with its path', () => {
    expect(errorsOf({ ...MINIMAL, connections: undefined })).toEqual([
      'connections: Invalid input: expected number, received undefined',
    ]);
    expect(errorsOf({ ...MINIMAL, rollupWindowMs: 30, tokensPerSecond: -1 })).toEqual([
      'tokensPerSecond: Too small: expected number to be >0',
      'rollupWindowMs: Invalid option: expected one of 0|20|40|100|500',
    ]);
    expect(errorsOf({ ...MINIMAL, budgets: { connectionsPerCore: 5 } })).toEqual([
      'budgets: Unrecognized key: "connectionsPerCore"',
    ]);
    expect(errorsOf({ ...MINIMAL, name: 'Big Name' })[0]).toMatch(/^name: must be lowercase/);
    expect(errorsOf({ ...MINIMAL, headroom: 0.95 })[0]).toMatch(/^headroom: Too big/);
    expect(errorsOf({ ...MINIMAL, fleet: { nodes: 0 } })[0]).toMatch(/^fleet\.nodes: Too small/);
  });

  it('rejects a profile that contradicts itself', () => {
    expect(errorsOf({ ...MINIMAL, subscribersPerSession: { min: 3, max: 2 } })).toContain(
      'subscribersPerSession.max: must be at least subscribersPerSession.min (3)',
    );
    expect(errorsOf({ ...MINIMAL, connections: 3, subscribersPerSession: { min: 2, max: 2 } })).toEqual([
      'connections: 3 is fewer than activeStreams × subscribersPerSession.min = 4: every active stream has at ' +
        'least that many subscriber connections',
    ]);
  });

  it('parses JSON and YAML, and says what is wrong with text that is neither or not an object', () => {
    expect(parseProfile(JSON.stringify(MINIMAL), 'p.json').ok).toBe(true);
    expect(parseProfile('name: m\ndurationSeconds: 60\nconnections: 10\nactiveStreams: 2\n', 'p.yaml')).toEqual({
      ok: false,
      errors: [
        'p.yaml: tokensPerSecond: Invalid input: expected number, received undefined',
        'p.yaml: subscribersPerSession: Invalid input: expected object, received undefined',
      ],
    });
    const broken = parseProfile('{"name": "m",', 'b.json');
    expect(broken.ok).toBe(false);
    expect(!broken.ok && broken.errors[0]).toMatch(/^b\.json: not JSON or YAML: /);
    expect(parseProfile('[1, 2]', 'a.json')).toEqual({ ok: false, errors: ['a.json: a profile is an object'] });
    expect(parseProfile('', 'e.json')).toEqual({ ok: false, errors: ['e.json: a profile is an object'] });
  });

  it('every default budget says where it comes from', () => {
    for (const [name, b] of Object.entries(BUDGET_DEFAULTS)) {
      expect(b.value, name).toBeGreaterThan(0);
      expect(b.source.length, name).toBeGreaterThan(10);
    }
  });
});

describe('the committed profiles (test/load/profiles)', () => {
  it('all parse', () => {
    const files = readdirSync(PROFILES).filter((f) => f.endsWith('.json'));
    expect(files).toEqual(
      expect.arrayContaining(['headline-1m.json', 'soak-24h.json', 'local-smoke.json', 'local-medium.json']),
    );
    for (const f of files) expect(load(f).name, f).toBe(f.replace(/\.json$/, ''));
  });

  it('headline is the OPERATIONS.md target and soak is 20 % of it for 24 hours', () => {
    const h = load('headline-1m.json');
    expect(h).toMatchObject({
      connections: 1_000_000,
      activeStreams: 50_000,
      tokensPerSecond: 100,
      subscribersPerSession: { min: 1, max: 5 },
      durationSeconds: 1800,
    });
    const s = load('soak-24h.json');
    expect(s.connections).toBe(h.connections * 0.2);
    expect(s.activeStreams).toBe(h.activeStreams * 0.2);
    expect(s.tokensPerSecond).toBe(h.tokensPerSecond);
    expect(s.subscribersPerSession).toEqual(h.subscribersPerSession);
    expect(s.durationSeconds).toBe(24 * 3600);
  });

  it('the local profiles fit one node with the default budgets', () => {
    for (const f of ['local-smoke.json', 'local-medium.json']) {
      const p = plan(load(f));
      expect(p.nodes, f).toBe(1);
      expect(p.feasible, `${f}: ${p.problems.join('; ')}`).toBe(true);
    }
  });
});
