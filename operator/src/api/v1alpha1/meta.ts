// Shared pieces of the v1alpha1 API: group/version, object metadata, metav1.Condition and
// object references. Every list that Kubernetes merges by key says so here (list-map).
import { z } from 'zod';

export const GROUP = 'aitransport.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Marks a list of objects as a map keyed by `keys` for server-side apply. */
export function listMap<T extends z.ZodType>(items: T, keys: readonly string[], maxItems: number) {
  return z
    .array(items)
    .max(maxItems)
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [...keys] });
}

/** A list of unique scalars (server-side apply merges items). */
export function listSet<T extends z.ZodType>(items: T, maxItems: number) {
  return z.array(items).max(maxItems).meta({ 'x-kubernetes-list-type': 'set' });
}

/** A list replaced as a whole by server-side apply. */
export function listAtomic<T extends z.ZodType>(items: T, maxItems: number) {
  return z.array(items).max(maxItems).meta({ 'x-kubernetes-list-type': 'atomic' });
}

export const StringMap = z.record(z.string(), z.string());

/** DNS-1123 subdomain: the name of most namespaced objects (Secrets, ConfigMaps…). */
export const ObjectName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);

/** The metadata fields the operator reads; the API server owns the rest. */
export const ObjectMetaSchema = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: StringMap.optional(),
  annotations: StringMap.optional(),
});

const Time = z.iso.datetime({ offset: true });

export const ConditionStatusSchema = z.enum(['True', 'False', 'Unknown']);

/** metav1.Condition. */
export const ConditionSchema = z.strictObject({
  type: z
    .string()
    .max(316)
    .regex(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
    )
    .describe('Type of condition in CamelCase.'),
  status: ConditionStatusSchema.describe('Status of the condition: True, False or Unknown.'),
  observedGeneration: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('The .metadata.generation the condition was set for.'),
  lastTransitionTime: Time.describe('Last time the condition changed from one status to another.'),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
    .describe('Programmatic identifier (CamelCase) of the reason for the last transition.'),
  message: z.string().max(32_768).describe('Human-readable message with details about the transition.'),
});
export type Condition = z.output<typeof ConditionSchema>;

export const ConditionsSchema = listMap(ConditionSchema, ['type'], 32).describe(
  'Latest observations of the object, one per type (metav1.Condition).',
);

export const TimeSchema = Time;

export const LocalObjectReferenceSchema = z.strictObject({
  name: ObjectName.describe('Name of the object in the same namespace.'),
});

/** A key of a Secret in the namespace of the CR. */
export function secretKeyRef(defaultKey: string, what: string) {
  return z
    .strictObject({
      name: ObjectName.describe('Secret name (same namespace).'),
      key: z
        .string()
        .min(1)
        .max(253)
        .regex(/^[-._a-zA-Z0-9]+$/)
        .default(defaultKey)
        .describe(`Key in the Secret holding ${what}. Default \`${defaultKey}\`.`),
    })
    .describe(`Reference to ${what} in a Secret (never in the CR itself: STANDARDS.md I4).`);
}
