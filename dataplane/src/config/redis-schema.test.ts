import { describe, expect, it } from 'vitest';
import { formatZodIssues } from './load.ts';
import { RedisConfigSchema, redisConfigFromEnv } from './redis-schema.ts';

function issues(raw: unknown): string[] {
  const r = RedisConfigSchema.safeParse(raw);
  return r.success ? [] : formatZodIssues(r.error);
}

describe('RedisConfigSchema', () => {
  it('defaults every option', () => {
    expect(RedisConfigSchema.parse({})).toEqual({
      host: '127.0.0.1',
      port: 6379,
      db: 0,
      clusterNodes: [],
      tls: { enabled: false },
      keyPrefix: 'ait:',
      commandTimeoutMs: 1000,
      connectTimeoutMs: 5000,
      maxPendingCommands: 10_000,
      reconnect: { baseDelayMs: 100, maxDelayMs: 5000 },
      historyBuckets: 16,
      activeStreamBuckets: 16,
      streamIdleTtlSeconds: 604_800,
    });
  });

  it('rejects unknown options and a plain-text password, naming the path', () => {
    expect(issues({ password: 'hunter2' })).toEqual([expect.stringMatching(/^\(root\): .*password/)]);
    expect(issues({ tls: { enabled: true, ca: 'x' } })).toEqual([expect.stringMatching(/^tls: .*ca/)]);
  });

  it('validates values and combinations', () => {
    expect(issues({ port: 0 })[0]).toMatch(/^port:/);
    expect(issues({ keyPrefix: 'a{b}' })[0]).toMatch(/^keyPrefix: .*no braces/);
    expect(issues({ clusterNodes: ['host'] })[0]).toMatch(/^clusterNodes\.0: expected host:port/);
    expect(issues({ clusterNodes: ['h:70000'] })[0]).toMatch(/^clusterNodes\.0: port/);
    expect(issues({ clusterNodes: ['h:7000'], db: 2 })).toEqual([
      'db: db must be 0 with clusterNodes (Cluster has one database)',
    ]);
    expect(issues({ passwordEnv: 'A', passwordFile: '/f' })).toEqual([
      'passwordFile: passwordEnv and passwordFile are exclusive',
    ]);
    expect(issues({ tls: { caFile: '/ca.pem' } })).toEqual(['tls.caFile: tls.caFile needs tls.enabled: true']);
    expect(issues({ reconnect: { baseDelayMs: 10_000, maxDelayMs: 100 } })[0]).toMatch(/^reconnect\.baseDelayMs:/);
    expect(issues({ commandTimeoutMs: 5 })[0]).toMatch(/^commandTimeoutMs:/);
    expect(RedisConfigSchema.parse({ clusterNodes: ['[::1]:7000', 'redis-0.redis:6379'] }).clusterNodes).toHaveLength(
      2,
    );
  });

  it('describes every option with its default', () => {
    const shape = RedisConfigSchema.shape as Record<string, { description?: string }>;
    for (const [key, schema] of Object.entries(shape)) expect(schema.description, key).toBeTruthy();
  });
});

describe('redisConfigFromEnv', () => {
  it('is undefined without a host or cluster nodes', () => {
    expect(redisConfigFromEnv({})).toBeUndefined();
    expect(redisConfigFromEnv({ AIT_REDIS_PORT: '6380', AIT_REDIS_HOST: ' ' })).toBeUndefined();
  });

  it('maps what the operator renders for a managed Redis', () => {
    const raw = redisConfigFromEnv({
      AIT_REDIS_HOST: 'demo-redis.ns.svc',
      AIT_REDIS_PORT: '6379',
      AIT_REDIS_DB: '0',
      AIT_REDIS_KEY_PREFIX: 'ait:',
      AIT_REDIS_PASSWORD: 's3cret',
    });
    expect(raw).toEqual({
      host: 'demo-redis.ns.svc',
      port: 6379,
      db: 0,
      keyPrefix: 'ait:',
      passwordEnv: 'AIT_REDIS_PASSWORD',
    });
    expect(JSON.stringify(raw)).not.toContain('s3cret');
    expect(RedisConfigSchema.parse(raw).host).toBe('demo-redis.ns.svc');
  });

  it('maps an external cluster with TLS and ACL user', () => {
    const raw = redisConfigFromEnv({
      AIT_REDIS_CLUSTER_NODES: 'r1:7000, r2:7000,',
      AIT_REDIS_KEY_PREFIX: '',
      AIT_REDIS_TLS: 'true',
      AIT_REDIS_TLS_CA_FILE: '/etc/ait/redis-ca/ca.crt',
      AIT_REDIS_TLS_SERVER_NAME: 'redis.example.com',
      AIT_REDIS_USERNAME: 'ait',
      AIT_REDIS_PASSWORD: 'x',
    });
    expect(raw).toEqual({
      clusterNodes: ['r1:7000', 'r2:7000'],
      keyPrefix: '',
      username: 'ait',
      passwordEnv: 'AIT_REDIS_PASSWORD',
      tls: { enabled: true, caFile: '/etc/ait/redis-ca/ca.crt', serverName: 'redis.example.com' },
    });
    expect(RedisConfigSchema.parse(raw).tls.enabled).toBe(true);
  });

  it('passes unparsable values through so the schema names the option', () => {
    const raw = redisConfigFromEnv({ AIT_REDIS_HOST: 'h', AIT_REDIS_PORT: 'abc', AIT_REDIS_TLS: 'yes' });
    expect(issues(raw)).toEqual([expect.stringMatching(/^port:/), expect.stringMatching(/^tls\.enabled:/)]);
  });
});
