import { describe, expect, it } from 'vitest';
import { loadCluster, specOf } from './fixtures.ts';
import { redisEndpoint, redisEnv, renderRedisService, renderRedisStatefulSet } from './redis.ts';

describe('managed redis', () => {
  const prod = loadCluster('cluster-production.yaml');
  const sts = renderRedisStatefulSet(prod);

  it('persists with AOF on a claim that survives deletion', () => {
    expect(sts?.spec?.template.spec?.containers[0]?.args).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(sts?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage).toBe('10Gi');
    expect(sts?.spec?.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
  });

  it('takes its password from a Secret and gives the data plane the address', () => {
    const env = sts?.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'REDIS_PASSWORD')?.valueFrom?.secretKeyRef?.name).toBe('chat-redis-auth');
    expect(redisEndpoint(prod)).toBe('chat-redis.apps.svc:6379');
    expect(renderRedisService(prod)?.spec?.clusterIP).toBe('None');
  });

  it('renders nothing without Redis, and only env for an external one', () => {
    const minimal = loadCluster('cluster-minimal.yaml');
    expect(renderRedisStatefulSet(minimal)).toBeUndefined();
    expect(redisEnv(minimal)).toEqual([]);
    const ext = loadCluster('cluster-minimal.yaml', (raw) => {
      specOf(raw).redis = {
        mode: 'External',
        external: { cluster: { nodes: ['r1:6379', 'r2:6379'] }, credentialsSecretRef: { name: 'redis-creds' } },
      };
    });
    expect(renderRedisStatefulSet(ext)).toBeUndefined();
    expect(redisEnv(ext).map((e) => e.name)).toEqual([
      'AIT_REDIS_CLUSTER_NODES',
      'AIT_REDIS_KEY_PREFIX',
      'AIT_REDIS_PASSWORD',
    ]);
  });
});
