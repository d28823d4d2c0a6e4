// Which ChannelPolicies of a cluster go into its ConfigMap. A policy that fails its own rules,
// names an app the cluster does not have, or names an exact channel an earlier policy (by name)
// already names is left out and reported on that policy; the others are rendered. One bad
// policy never blocks the rest, nor the cluster.
import type { FieldError } from '../api/field-error.ts';
import { fieldError } from '../api/field-error.ts';
import type { ChannelPolicy } from '../api/v1alpha1/channelpolicy.ts';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import { validateChannelPolicy, validatePolicyAgainstCluster } from '../api/v1alpha1/validate.ts';
import type { KubeObject } from '../render/meta.ts';
import { clusterRefOf, parsePolicy } from './parse.ts';

export interface PolicySelection {
  /** Rendered into the cluster's ConfigMap, sorted by name. */
  readonly accepted: ChannelPolicy[];
  /** Left out, by policy name, with the reasons. */
  readonly rejected: ReadonlyMap<string, FieldError[]>;
}

/** The live (not deleting) policies of `namespace` that name `clusterName`. */
export function policiesNaming(all: readonly KubeObject[], namespace: string, clusterName: string): KubeObject[] {
  return all.filter(
    (p) =>
      p.metadata?.namespace === namespace &&
      clusterRefOf(p) === clusterName &&
      p.metadata?.deletionTimestamp === undefined,
  );
}

export function selectPolicies(
  cluster: Readonly<AITransportCluster> | undefined,
  raws: readonly KubeObject[],
): PolicySelection {
  const rejected = new Map<string, FieldError[]>();
  const valid: ChannelPolicy[] = [];
  for (const raw of raws) {
    const parsed = parsePolicy(raw);
    if (!parsed.ok) {
      rejected.set(raw.metadata?.name ?? '', parsed.errors);
      continue;
    }
    const errors = [...validateChannelPolicy(parsed.value), ...validatePolicyAgainstCluster(parsed.value, cluster)];
    if (errors.length) rejected.set(parsed.value.metadata.name, errors);
    else valid.push(parsed.value);
  }
  valid.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  const owner = new Map<string, string>();
  const accepted: ChannelPolicy[] = [];
  for (const p of valid) {
    const clashes = (p.spec.channels.names ?? []).filter((n) => {
      const prev = owner.get(`${p.spec.appId}\u0000${n}`);
      return prev !== undefined && prev !== p.metadata.name;
    });
    if (clashes.length) {
      rejected.set(p.metadata.name, [
        fieldError(
          'spec.channels.names',
          'Duplicate',
          `${clashes.join(', ')} already named by ChannelPolicy ${owner.get(`${p.spec.appId}\u0000${clashes[0]}`)}`,
        ),
      ]);
      continue;
    }
    for (const n of p.spec.channels.names ?? []) owner.set(`${p.spec.appId}\u0000${n}`, p.metadata.name);
    accepted.push(p);
  }
  return { accepted, rejected };
}
