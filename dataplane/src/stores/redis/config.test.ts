import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../config/load.ts';
import { RedisConfigSchema } from '../../config/redis-schema.ts';
import { resolveRedisConfig } from './config.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('resolveRedisConfig', () => {
  it('builds standalone options with the password from the environment', () => {
    const cfg = RedisConfigSchema.parse({ host: 'r', port: 6380, passwordEnv: 'PW', streamIdleTtlSeconds: 3600 });
    const r = resolveRedisConfig(cfg, { env: { PW: 'secret' } });
    expect(r.connection).toMatchObject({ host: 'r', port: 6380, password: 'secret', clusterNodes: [] });
    expect(r.streamIdleTtlMs).toBe(3_600_000);
    expect(r.keys.prefix).toBe('ait:');
  });

  it('builds cluster options with TLS from files', () => {
    const cfg = RedisConfigSchema.parse({
      clusterNodes: ['a:7000', '[::1]:7001'],
      passwordFile: '/pw',
      tls: { enabled: true, caFile: '/ca', serverName: 'redis.example' },
      historyBuckets: 32,
    });
    const files: Record<string, string> = { '/pw': 'pw\n', '/ca': PEM };
    const r = resolveRedisConfig(cfg, { readFile: (p) => files[p] as string });
    expect(r.connection.clusterNodes).toEqual([
      { host: 'a', port: 7000 },
      { host: '::1', port: 7001 },
    ]);
    expect(r.connection.password).toBe('pw');
    expect(r.connection.tls).toEqual({ ca: PEM, serverName: 'redis.example' });
    expect(r.keys.historyBuckets).toBe(32);
  });

  it('reports every problem at once without the secret', () => {
    const cfg = RedisConfigSchema.parse({ passwordEnv: 'MISSING', tls: { enabled: true, caFile: '/nope' } });
    let err: unknown;
    try {
      resolveRedisConfig(cfg, {
        env: {},
        readFile: () => {
          throw Object.assign(new Error('no'), { code: 'ENOENT' });
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      'redis.passwordEnv: environment variable MISSING is not set',
      'redis.tls.caFile: cannot read /nope (ENOENT)',
    ]);
  });

  it('rejects an empty password file and a CA file that is no PEM', () => {
    const cfg = RedisConfigSchema.parse({ passwordFile: '/pw', tls: { enabled: true, caFile: '/ca' } });
    const files: Record<string, string> = { '/pw': '  \n', '/ca': 'hello' };
    expect(() => resolveRedisConfig(cfg, { readFile: (p) => files[p] as string })).toThrow(
      /redis.passwordFile: \/pw is empty[\s\S]*redis.tls.caFile: \/ca holds no PEM/,
    );
  });
});
