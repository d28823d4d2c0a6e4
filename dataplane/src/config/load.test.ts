import { describe, expect, it } from 'vitest';
import { ConfigError, configPathFrom, loadConfigFile, parseConfigText, resolveConfig } from './load.ts';

const app = { id: 'app-id', key: 'app-key', secret: 'app-secret' };

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveConfig', () => {
  it('fills every default and freezes the result', () => {
    const cfg = resolveConfig({ apps: [app] }, { env: {} });
    expect(cfg.server.port).toBe(6001);
    expect(cfg.ops.port).toBe(9601);
    expect(cfg.websocket.maxPayloadKb).toBe(64);
    expect(cfg.metrics.prefix).toBe('ait');
    expect(cfg.apps[0]?.limits.maxEventBatchSize).toBe(10);
    expect(cfg.apps[0]?.secret).toBe('app-secret');
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.apps[0]?.limits)).toBe(true);
  });

  it('names the path of every invalid field', () => {
    const issues = issuesOf(() =>
      resolveConfig({ server: { port: 70000 }, websocket: { maxPayloadKb: 0 }, apps: [app] }, { env: {} }),
    );
    expect(issues.some((i) => i.startsWith('server.port:'))).toBe(true);
    expect(issues.some((i) => i.startsWith('websocket.maxPayloadKb:'))).toBe(true);
  });

  it('rejects unknown options instead of ignoring them', () => {
    const issues = issuesOf(() => resolveConfig({ server: { prot: 1 }, apps: [app] }, { env: {} }));
    expect(issues.join('\n')).toMatch(/server.*prot/);
  });

  it('requires at least one app and rejects duplicate ids and keys', () => {
    expect(issuesOf(() => resolveConfig({ apps: [] }, { env: {} })).join()).toMatch(/at least one app/);
    const dup = issuesOf(() =>
      resolveConfig({ apps: [app, { ...app, key: 'other' }, { ...app, id: 'x' }] }, { env: {} }),
    );
    expect(dup).toContain('apps.1.id: duplicate app id (also apps[0])');
    expect(dup).toContain('apps.2.key: duplicate app key (also apps[0])');
  });

  it('needs exactly one secret source and names both when two are given', () => {
    expect(issuesOf(() => resolveConfig({ apps: [{ id: 'a', key: 'k' }] }, { env: {} })).join()).toMatch(
      /one of secret, secretEnv or secretFile is required/,
    );
    const both = issuesOf(() => resolveConfig({ apps: [{ ...app, secretEnv: 'S' }] }, { env: {} }));
    expect(both.join()).toMatch(/secret and secretEnv are exclusive/);
  });

  it('reads secrets from env and files, and reports missing ones', () => {
    const fromEnv = resolveConfig(
      { apps: [{ id: 'a', key: 'k', secretEnv: 'APP_SECRET' }] },
      { env: { APP_SECRET: 's1' } },
    );
    expect(fromEnv.apps[0]?.secret).toBe('s1');
    const fromFile = resolveConfig(
      { apps: [{ id: 'a', key: 'k', secretFile: '/run/secret' }] },
      { env: {}, readFile: (p) => (p === '/run/secret' ? 's2\n' : '') },
    );
    expect(fromFile.apps[0]?.secret).toBe('s2');
    expect(issuesOf(() => resolveConfig({ apps: [{ id: 'a', key: 'k', secretEnv: 'NOPE' }] }, { env: {} }))).toEqual([
      'apps.0.secretEnv: environment variable NOPE is not set',
    ]);
    const missingFile = issuesOf(() =>
      resolveConfig(
        { apps: [{ id: 'a', key: 'k', secretFile: '/nope' }] },
        {
          env: {},
          readFile: () => {
            throw Object.assign(new Error('x'), { code: 'ENOENT' });
          },
        },
      ),
    );
    expect(missingFile).toEqual(['apps.0.secretFile: cannot read /nope (ENOENT)']);
  });

  it('applies AIT_* environment overrides and validates them like file values', () => {
    const cfg = resolveConfig({ apps: [app] }, { env: { AIT_SERVER_PORT: '7001', AIT_NODE_ID: 'pod-0' } });
    expect(cfg.server.port).toBe(7001);
    expect(cfg.nodeId).toBe('pod-0');
    expect(issuesOf(() => resolveConfig({ apps: [app] }, { env: { AIT_SERVER_PORT: 'abc' } })).join()).toMatch(
      /^server\.port:/,
    );
  });

  it('resolves the admin token from one source only, with a minimum length', () => {
    const cfg = resolveConfig({ ops: { adminTokenEnv: 'TOK' }, apps: [app] }, { env: { TOK: '0123456789abcdef' } });
    expect(cfg.ops.resolvedAdminToken).toBe('0123456789abcdef');
    expect(
      issuesOf(() => resolveConfig({ ops: { adminTokenEnv: 'TOK' }, apps: [app] }, { env: { TOK: 'short' } })),
    ).toEqual(['ops: the admin token must be at least 16 characters']);
    expect(
      issuesOf(() =>
        resolveConfig(
          { ops: { adminToken: '0123456789abcdef', adminTokenEnv: 'X' }, apps: [app] },
          { env: { X: 'y'.repeat(16) } },
        ),
      ).join(),
    ).toMatch(/adminToken and adminTokenEnv are exclusive/);
  });

  it('derives a node id from the host name when none is set', () => {
    const cfg = resolveConfig({ apps: [app] }, { env: { HOSTNAME: 'aitc-dataplane-2' } });
    expect(cfg.nodeId).toBe('aitc-dataplane-2');
  });
});

describe('config files', () => {
  it('parses YAML and JSON and reports syntax errors with the source', () => {
    expect(parseConfigText('{"apps": []}', 'x.json')).toEqual({ apps: [] });
    expect(parseConfigText('apps:\n  - id: a\n', 'x.yaml')).toEqual({ apps: [{ id: 'a' }] });
    expect(() => parseConfigText('apps: [\n', 'bad.yaml')).toThrow(/bad\.yaml/);
  });

  it('reports an unreadable file as a ConfigError', () => {
    expect(() =>
      loadConfigFile('/missing.yaml', {
        readFile: () => {
          throw Object.assign(new Error('x'), { code: 'ENOENT' });
        },
      }),
    ).toThrow(ConfigError);
  });

  it('takes the path from --config, --config=, or AIT_CONFIG', () => {
    expect(configPathFrom(['--config', 'a.yaml'], {})).toBe('a.yaml');
    expect(configPathFrom(['--config=b.yaml'], {})).toBe('b.yaml');
    expect(configPathFrom([], { AIT_CONFIG: 'c.yaml' })).toBe('c.yaml');
    expect(configPathFrom([], {})).toBeUndefined();
  });

  it('accepts the dev config that make run uses', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(new URL('../../../examples/config/dev.yaml', import.meta.url), 'utf8');
    const cfg = resolveConfig(parseConfigText(text, 'dev.yaml'), { env: {} });
    expect(cfg.server.host).toBe('127.0.0.1');
    expect(cfg.apps[0]?.key).toBe('app-key');
  });
});
