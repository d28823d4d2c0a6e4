// The LeaseClient of leader election over the KubeClient: one try per call (the elector has
// its own retry rhythm) with the deadline the elector gives; PUT with the resourceVersion read,
// so two replicas racing for the lease cannot both win.
import type { KubeObject } from '../render/meta.ts';
import type { KubeClient } from './client.ts';
import type { LeaseClient, LeaseRecord } from './leader.ts';
import { apiVersionOf, RESOURCE } from './resources.ts';

type Lease = KubeObject & { spec?: LeaseRecord };

export function leaseClient(client: KubeClient, namespace: string, name: string): LeaseClient {
  const lease = (spec: LeaseRecord, resourceVersion?: string): Lease => ({
    apiVersion: apiVersionOf(RESOURCE.lease),
    kind: RESOURCE.lease.kind,
    metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
    spec,
  });
  return {
    async get(timeoutMs) {
      const l = await client.get<Lease>(RESOURCE.lease, namespace, name, { timeoutMs, attempts: 1 });
      return l ? { record: l.spec ?? {}, resourceVersion: l.metadata?.resourceVersion ?? '' } : undefined;
    },
    async create(record, timeoutMs) {
      const l = await client.create(lease(record), { timeoutMs, attempts: 1 });
      return l.metadata?.resourceVersion ?? '';
    },
    async update(record, resourceVersion, timeoutMs) {
      const l = await client.replace(lease(record, resourceVersion), { timeoutMs, attempts: 1 });
      return l.metadata?.resourceVersion ?? '';
    },
  };
}
