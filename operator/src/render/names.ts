// Every name of a child object, and the fixed names inside the pod (ports, volumes, paths).
// No other file builds a child name (STYLE.md 4).

interface Named {
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

/** The data-plane StatefulSet (pods `<name>-0` …). */
export const dataplaneName = (c: Named): string => c.metadata.name;
/** The client Service: WebSocket + signed REST on port `http`. */
export const clientServiceName = (c: Named): string => c.metadata.name;
/** The StatefulSet's governing (headless) Service. */
export const headlessServiceName = (c: Named): string => `${c.metadata.name}-headless`;
/** The metrics Service (port 9601), scraped by the ServiceMonitor. */
export const metricsServiceName = (c: Named): string => `${c.metadata.name}-metrics`;
export const configMapName = (c: Named): string => `${c.metadata.name}-config`;
export const serviceAccountName = (c: Named): string => c.metadata.name;
export const pdbName = (c: Named): string => c.metadata.name;
export const networkPolicyName = (c: Named): string => c.metadata.name;
/** Managed Redis: StatefulSet and its Service share this name. */
export const redisName = (c: Named): string => `${c.metadata.name}-redis`;
export const redisNetworkPolicyName = (c: Named): string => `${c.metadata.name}-redis`;
/** Secret with the managed Redis password (key `password`), created by the controller. */
export const redisAuthSecretName = (c: Named): string => `${c.metadata.name}-redis-auth`;
/** Secret with the admin API token (key `token`), created by the controller unless spec.adminTokenSecretRef is set. */
export const adminTokenSecretName = (c: Named): string => `${c.metadata.name}-admin-token`;
/** ServiceMonitor: `<name>`, or `<namespace>-<name>` when it lives in another (shared) namespace. */
export const serviceMonitorName = (c: Named, inOtherNamespace: boolean): string =>
  inOtherNamespace ? `${c.metadata.namespace}-${c.metadata.name}` : c.metadata.name;
export const rulesName = (c: Named): string => c.metadata.name;
export const podName = (c: Named, ordinal: number): string => `${c.metadata.name}-${ordinal}`;
/** Prometheus rule group of one area: `aitransport.<ns>.<cluster>.<area>`. */
export const ruleGroupName = (c: Named, area: string): string =>
  `aitransport.${c.metadata.namespace}.${c.metadata.name}.${area}`;
/** In-cluster DNS name of a Service. */
export const serviceHost = (c: Named, service: string): string => `${service}.${c.metadata.namespace}.svc`;

export const PORT = { http: 6001, ops: 9601, redis: 6379 } as const;
export const PORT_NAME = { http: 'http', ops: 'ops', metrics: 'metrics', redis: 'redis' } as const;

export const CONTAINER = { dataplane: 'dataplane', redis: 'redis' } as const;

/** Keys of the `<name>-config` ConfigMap. */
export const CONFIG_KEY = { node: 'config.json', policies: 'channel-policies.json' } as const;

export const VOLUME = { config: 'config', tmp: 'tmp', adminToken: 'admin-token', redisData: 'data' } as const;
/** App secrets are mounted one volume per Secret: `app-secret-0`, `app-secret-1`, … */
export const APP_SECRET_VOLUME_PREFIX = 'app-secret-';

export const PATH = {
  configDir: '/etc/aitransport',
  adminTokenDir: '/var/run/aitransport/admin',
  appSecretsDir: '/var/run/aitransport/apps',
  redisTlsDir: '/var/run/aitransport/redis-tls',
  tmp: '/tmp',
  redisData: '/data',
} as const;

export const REDIS_TLS_VOLUME = 'redis-tls';
