// Secrets the data-plane pod mounts and the file paths the node config points at. Secrets are
// mounted (never copied into the ConfigMap or env of the CR: STANDARDS.md I4), only the keys in
// use, read-only; the node re-reads secretFile on reload, so rotation needs no restart.
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { AITransportCluster, ClusterApp } from '../api/v1alpha1/cluster.ts';
import { APP_SECRET_VOLUME_PREFIX, adminTokenSecretName, PATH, REDIS_TLS_VOLUME, VOLUME } from './names.ts';

type Cluster = Readonly<AITransportCluster>;

export interface SecretMount {
  readonly volume: string;
  readonly secretName: string;
  readonly mountPath: string;
  /** Keys projected into the volume (sorted). */
  readonly keys: readonly string[];
}

/** Owner read only: the pods run with fsGroup, so group read is enough. */
const SECRET_MODE = 0o440;

export function appSecretMounts(c: Cluster): SecretMount[] {
  const keysBySecret = new Map<string, Set<string>>();
  for (const app of c.spec.apps) {
    const keys = keysBySecret.get(app.secretRef.name) ?? new Set<string>();
    keys.add(app.secretRef.key);
    keysBySecret.set(app.secretRef.name, keys);
  }
  return [...keysBySecret.keys()].sort().map((secretName, i) => ({
    volume: `${APP_SECRET_VOLUME_PREFIX}${i}`,
    secretName,
    mountPath: `${PATH.appSecretsDir}/${secretName}`,
    keys: [...(keysBySecret.get(secretName) ?? [])].sort(),
  }));
}

export function appSecretFile(app: Readonly<ClusterApp>): string {
  return `${PATH.appSecretsDir}/${app.secretRef.name}/${app.secretRef.key}`;
}

export function adminTokenMount(c: Cluster): SecretMount {
  const ref = c.spec.adminTokenSecretRef;
  return {
    volume: VOLUME.adminToken,
    secretName: ref?.name ?? adminTokenSecretName(c),
    mountPath: PATH.adminTokenDir,
    keys: [ref?.key ?? 'token'],
  };
}

export function adminTokenFile(c: Cluster): string {
  const m = adminTokenMount(c);
  return `${m.mountPath}/${m.keys[0]}`;
}

/** The CA bundle of an external Redis with TLS, when one is referenced. */
export function redisCaMount(c: Cluster): SecretMount | undefined {
  const ref = c.spec.redis?.mode === 'External' ? c.spec.redis.external?.tls.caSecretRef : undefined;
  if (!ref) return undefined;
  return { volume: REDIS_TLS_VOLUME, secretName: ref.name, mountPath: PATH.redisTlsDir, keys: [ref.key] };
}

export function secretMounts(c: Cluster): SecretMount[] {
  const ca = redisCaMount(c);
  return [adminTokenMount(c), ...appSecretMounts(c), ...(ca ? [ca] : [])];
}

export function secretVolume(m: SecretMount): V1Volume {
  return {
    name: m.volume,
    secret: { secretName: m.secretName, defaultMode: SECRET_MODE, items: m.keys.map((key) => ({ key, path: key })) },
  };
}

export function secretVolumeMount(m: SecretMount): V1VolumeMount {
  return { name: m.volume, mountPath: m.mountPath, readOnly: true };
}
