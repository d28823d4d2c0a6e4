// Pod-building helpers shared by the data-plane and the Redis StatefulSets.
import type { V1ResourceRequirements, V1SecurityContext } from '@kubernetes/client-node';
import type { ResourceRequirements } from '../api/v1alpha1/core.ts';

function quantities(q: Readonly<Record<string, string | number>> | undefined): Record<string, string> | undefined {
  if (!q) return undefined;
  return Object.fromEntries(
    Object.keys(q)
      .sort()
      .map((k) => [k, String(q[k])]),
  );
}

/** CR resources (quantities may be integers) → core/v1 ResourceRequirements (strings). */
export function resourceRequirements(r: Readonly<ResourceRequirements>): V1ResourceRequirements {
  const out: V1ResourceRequirements = {};
  const requests = quantities(r.requests);
  const limits = quantities(r.limits);
  if (requests) out.requests = requests;
  if (limits) out.limits = limits;
  return out;
}

/** The container hardening every pod gets, whatever the CR says (STANDARDS.md I5). */
export function hardenedContainerSecurityContext(extra: Readonly<V1SecurityContext> = {}): V1SecurityContext {
  return {
    ...extra,
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ['ALL'] },
  };
}
