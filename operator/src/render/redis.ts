// Managed Redis (spec.redis.mode: Managed): a one-pod StatefulSet with AOF + RDB persistence on
// a PersistentVolumeClaim and a headless Service. The password lives in the Secret
// `<name>-redis-auth` (key `password`), which the controller creates once with a random value.
// Also: the Redis connection settings handed to the data-plane pods (either mode).
import type { V1EnvVar, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import type { ManagedRedis } from '../api/v1alpha1/redis.ts';
import { applyMeta, childMeta, selectorLabels, withInputHash } from './meta.ts';
import { redisCaMount } from './mounts.ts';
import { CONTAINER, PATH, PORT, PORT_NAME, redisAuthSecretName, redisName, serviceHost, VOLUME } from './names.ts';
import { hardenedContainerSecurityContext, resourceRequirements } from './pod.ts';

type Cluster = Readonly<AITransportCluster>;

export const REDIS_PASSWORD_KEY = 'password';
const REDIS_UID = 999; // the `redis` user of the official image

function managedOf(c: Cluster): ManagedRedis | undefined {
  return c.spec.redis?.mode === 'Managed' ? c.spec.redis.managed : undefined;
}

/** Where the data plane finds Redis, for status.redis.endpoint; undefined without Redis. */
export function redisEndpoint(c: Cluster): string | undefined {
  const r = c.spec.redis;
  if (!r) return undefined;
  if (r.mode === 'Managed') return `${serviceHost(c, redisName(c))}:${PORT.redis}`;
  const e = r.external;
  if (!e) return undefined;
  return e.cluster ? e.cluster.nodes.join(',') : `${e.host}:${e.port}`;
}

/**
 * Redis settings for the data-plane container, as `AIT_REDIS_*` environment variables. The node
 * config schema has no Redis block yet; once it has one these move into config.json (with a
 * passwordFile), and this function is the only place to change.
 */
export function redisEnv(c: Cluster): V1EnvVar[] {
  const r = c.spec.redis;
  if (!r) return [];
  if (r.mode === 'Managed') {
    return [
      { name: 'AIT_REDIS_HOST', value: serviceHost(c, redisName(c)) },
      { name: 'AIT_REDIS_PORT', value: String(PORT.redis) },
      { name: 'AIT_REDIS_DB', value: '0' },
      { name: 'AIT_REDIS_KEY_PREFIX', value: 'ait:' },
      {
        name: 'AIT_REDIS_PASSWORD',
        valueFrom: { secretKeyRef: { name: redisAuthSecretName(c), key: REDIS_PASSWORD_KEY } },
      },
    ];
  }
  const e = r.external;
  if (!e) return [];
  const env: V1EnvVar[] = e.cluster
    ? [{ name: 'AIT_REDIS_CLUSTER_NODES', value: e.cluster.nodes.join(',') }]
    : [
        { name: 'AIT_REDIS_HOST', value: e.host ?? '' },
        { name: 'AIT_REDIS_PORT', value: String(e.port) },
        { name: 'AIT_REDIS_DB', value: String(e.db) },
      ];
  env.push({ name: 'AIT_REDIS_KEY_PREFIX', value: e.keyPrefix });
  if (e.tls.enabled) {
    env.push({ name: 'AIT_REDIS_TLS', value: 'true' });
    const ca = redisCaMount(c);
    if (ca) env.push({ name: 'AIT_REDIS_TLS_CA_FILE', value: `${ca.mountPath}/${ca.keys[0]}` });
    if (e.tls.serverName) env.push({ name: 'AIT_REDIS_TLS_SERVER_NAME', value: e.tls.serverName });
  }
  const cred = e.credentialsSecretRef;
  if (cred) {
    if (cred.usernameKey) {
      env.push({ name: 'AIT_REDIS_USERNAME', valueFrom: { secretKeyRef: { name: cred.name, key: cred.usernameKey } } });
    }
    env.push({ name: 'AIT_REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: cred.name, key: cred.passwordKey } } });
  }
  return env;
}

function redisArgs(m: ManagedRedis): string[] {
  const args = ['--port', String(PORT.redis), '--requirepass', '$(REDIS_PASSWORD)', '--dir', PATH.redisData];
  if (m.persistence) {
    args.push('--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '900 1 300 100 60 10000');
  } else {
    args.push('--appendonly', 'no', '--save', '');
  }
  return args;
}

export function renderRedisService(c: Cluster): V1Service | undefined {
  if (!managedOf(c)) return undefined;
  return applyMeta(
    {
      apiVersion: 'v1',
      kind: 'Service',
      spec: {
        clusterIP: 'None',
        selector: selectorLabels(c, 'redis'),
        ports: [{ name: PORT_NAME.redis, port: PORT.redis, targetPort: PORT_NAME.redis, protocol: 'TCP' }],
      },
    },
    ...childMeta(c, redisName(c), 'redis'),
    withInputHash(),
  );
}

export function renderRedisStatefulSet(c: Cluster): V1StatefulSet | undefined {
  const m = managedOf(c);
  if (!m) return undefined;
  const labels = selectorLabels(c, 'redis');
  const ping = ['sh', '-c', 'redis-cli -p "$REDIS_PORT" ping | grep -q PONG'];
  return applyMeta(
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      spec: {
        replicas: m.replicas,
        serviceName: redisName(c),
        selector: { matchLabels: labels },
        podManagementPolicy: 'OrderedReady',
        updateStrategy: { type: 'RollingUpdate' },
        ...(m.persistence
          ? {
              persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
              volumeClaimTemplates: [
                {
                  metadata: { name: VOLUME.redisData, labels },
                  spec: {
                    accessModes: ['ReadWriteOnce'],
                    resources: { requests: { storage: String(m.storage.size) } },
                    ...(m.storage.storageClassName ? { storageClassName: m.storage.storageClassName } : {}),
                  },
                },
              ],
            }
          : {}),
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 60,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: REDIS_UID,
              runAsGroup: REDIS_UID,
              fsGroup: REDIS_UID,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: CONTAINER.redis,
                image: `${m.image.repository}:${m.version}`,
                imagePullPolicy: m.image.pullPolicy,
                command: ['redis-server'],
                args: redisArgs(m),
                env: [
                  { name: 'REDIS_PORT', value: String(PORT.redis) },
                  {
                    name: 'REDIS_PASSWORD',
                    valueFrom: { secretKeyRef: { name: redisAuthSecretName(c), key: REDIS_PASSWORD_KEY } },
                  },
                  {
                    name: 'REDISCLI_AUTH',
                    valueFrom: { secretKeyRef: { name: redisAuthSecretName(c), key: REDIS_PASSWORD_KEY } },
                  },
                ],
                ports: [{ name: PORT_NAME.redis, containerPort: PORT.redis, protocol: 'TCP' }],
                resources: resourceRequirements(m.resources),
                readinessProbe: { exec: { command: ping }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
                livenessProbe: {
                  tcpSocket: { port: PORT_NAME.redis },
                  initialDelaySeconds: 10,
                  periodSeconds: 10,
                  timeoutSeconds: 3,
                  failureThreshold: 6,
                },
                securityContext: hardenedContainerSecurityContext(),
                volumeMounts: [{ name: VOLUME.redisData, mountPath: PATH.redisData }],
              },
            ],
            ...(m.persistence ? {} : { volumes: [{ name: VOLUME.redisData, emptyDir: {} }] }),
          },
        },
      },
    },
    ...childMeta(c, redisName(c), 'redis'),
    withInputHash(),
  );
}
