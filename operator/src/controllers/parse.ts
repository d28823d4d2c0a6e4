// Objects from the informer caches → the typed, defaulted CRs the render expects. The API server
// already applied the CRD defaults; parsing again fills any the schema added since the object
// was stored and turns an object that no longer fits the schema into field errors (reported as
// InvalidSpec) instead of a crash. The status is left out: it is ours and not validated here.
import type { z } from 'zod';
import { type FieldError, fieldError } from '../api/field-error.ts';
import { type ChannelPolicy, ChannelPolicySchema } from '../api/v1alpha1/channelpolicy.ts';
import { type AITransportCluster, AITransportClusterSchema } from '../api/v1alpha1/cluster.ts';
import type { KubeObject } from '../render/meta.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

function issuesToErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.map((i) => fieldError(i.path.map(String).join('.') || '(root)', 'Invalid', i.message));
}

function parseWith<T>(schema: z.ZodType<T>, raw: KubeObject): Parsed<T> {
  const { status: _status, ...rest } = raw as KubeObject & { status?: unknown };
  const r = schema.safeParse(rest);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: issuesToErrors(r.error.issues) };
}

export function parseCluster(raw: KubeObject): Parsed<AITransportCluster> {
  return parseWith(AITransportClusterSchema, raw);
}

export function parsePolicy(raw: KubeObject): Parsed<ChannelPolicy> {
  return parseWith(ChannelPolicySchema, raw);
}

/** The spec.clusterRef.name of a raw ChannelPolicy, even when the rest does not parse. */
export function clusterRefOf(raw: KubeObject): string | undefined {
  const name = (raw as { spec?: { clusterRef?: { name?: unknown } } }).spec?.clusterRef?.name;
  return typeof name === 'string' ? name : undefined;
}
