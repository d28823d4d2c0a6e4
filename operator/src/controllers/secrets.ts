// Secrets the operator creates itself, once, with random content (so they are not part of the
// pure render): the admin API token `<name>-admin-token` (unless spec.adminTokenSecretRef names
// the user's own) and the managed Redis password `<name>-redis-auth`. They are created, never
// updated: to rotate, delete the Secret; the next reconcile creates a new one. Also: the
// Secrets the CR references, which must exist before the pods can start.
import type { V1Secret } from '@kubernetes/client-node';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import { applyMeta, childMeta } from '../render/meta.ts';
import { adminTokenSecretName, redisAuthSecretName } from '../render/names.ts';
import { REDIS_PASSWORD_KEY } from '../render/redis.ts';

type Cluster = Readonly<AITransportCluster>;

export const ADMIN_TOKEN_KEY = 'token';

export function operatorSecrets(c: Cluster, randomToken: () => string): V1Secret[] {
  const out: V1Secret[] = [];
  if (!c.spec.adminTokenSecretRef) {
    out.push(
      applyMeta(
        { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', stringData: { [ADMIN_TOKEN_KEY]: randomToken() } },
        ...childMeta(c, adminTokenSecretName(c), 'config'),
      ),
    );
  }
  if (c.spec.redis?.mode === 'Managed') {
    out.push(
      applyMeta(
        { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', stringData: { [REDIS_PASSWORD_KEY]: randomToken() } },
        ...childMeta(c, redisAuthSecretName(c), 'redis'),
      ),
    );
  }
  return out;
}

export interface SecretRef {
  readonly name: string;
  readonly keys: readonly string[];
  /** Which field references it (for the condition message). */
  readonly field: string;
}

/** The user's Secrets the pods mount or read, with the keys they need. */
export function referencedSecrets(c: Cluster): SecretRef[] {
  const refs: SecretRef[] = c.spec.apps.map((a, i) => ({
    name: a.secretRef.name,
    keys: [a.secretRef.key],
    field: `spec.apps[${i}].secretRef`,
  }));
  const admin = c.spec.adminTokenSecretRef;
  if (admin) refs.push({ name: admin.name, keys: [admin.key], field: 'spec.adminTokenSecretRef' });
  const ext = c.spec.redis?.mode === 'External' ? c.spec.redis.external : undefined;
  const cred = ext?.credentialsSecretRef;
  if (cred) {
    refs.push({
      name: cred.name,
      keys: [cred.passwordKey, ...(cred.usernameKey ? [cred.usernameKey] : [])],
      field: 'spec.redis.external.credentialsSecretRef',
    });
  }
  const ca = ext?.tls.caSecretRef;
  if (ca) refs.push({ name: ca.name, keys: [ca.key], field: 'spec.redis.external.tls.caSecretRef' });
  return refs;
}

/** What is missing, given the live Secrets by name: one line per problem. */
export function missingSecrets(
  refs: readonly SecretRef[],
  live: ReadonlyMap<string, { data?: Record<string, string> } | undefined>,
): string[] {
  const out: string[] = [];
  for (const ref of refs) {
    const s = live.get(ref.name);
    if (!s) {
      out.push(`Secret ${ref.name} (${ref.field}) not found`);
      continue;
    }
    const absent = ref.keys.filter((k) => s.data?.[k] === undefined);
    if (absent.length) out.push(`Secret ${ref.name} (${ref.field}) has no key ${absent.join(', ')}`);
  }
  return [...new Set(out)];
}
