// The parts of core/v1 a cluster's `spec.pod` may set, as typed zod schemas (a CRD may not use
// `x-kubernetes-preserve-unknown-fields` for them: only `configOverrides` is untyped). Each is a
// subset of the Kubernetes type with the same field names, so values copy straight into the pod.
import { z } from 'zod';
import { withCel } from './cel.ts';
import { listAtomic, listMap, ObjectName, StringMap } from './meta.ts';

const QUANTITY =
  /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

/** resource.Quantity: an integer or a string such as `500m` or `1Gi`. */
export const QuantitySchema = z
  .union([z.int(), z.string().regex(QUANTITY)])
  .meta({ 'x-kubernetes-int-or-string': true, pattern: QUANTITY.source });

/** intstr.IntOrString: an integer or a percentage such as `25%`. */
export const IntOrPercentSchema = z
  .union([z.int().min(0), z.string().regex(/^[0-9]+%$/)])
  .meta({ 'x-kubernetes-int-or-string': true });

const Name = z.string().min(1).max(253);

export const ResourceRequirementsSchema = z.strictObject({
  requests: z.record(z.string(), QuantitySchema).optional().describe('Minimum resources (cpu, memory, …).'),
  limits: z.record(z.string(), QuantitySchema).optional().describe('Maximum resources (cpu, memory, …).'),
});
export type ResourceRequirements = z.output<typeof ResourceRequirementsSchema>;

export const TolerationSchema = z.strictObject({
  key: z.string().max(317).optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().max(63).optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.int().optional(),
});

export const LabelSelectorRequirementSchema = z.strictObject({
  key: z.string().min(1).max(317),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: listAtomic(z.string(), 64).optional(),
});

export const LabelSelectorSchema = z.strictObject({
  matchLabels: StringMap.optional(),
  matchExpressions: listAtomic(LabelSelectorRequirementSchema, 16).optional(),
});
export type LabelSelector = z.output<typeof LabelSelectorSchema>;

const NodeSelectorRequirementSchema = z.strictObject({
  key: z.string().min(1).max(317),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']),
  values: listAtomic(z.string(), 64).optional(),
});

const NodeSelectorTermSchema = z.strictObject({
  matchExpressions: listAtomic(NodeSelectorRequirementSchema, 16).optional(),
  matchFields: listAtomic(NodeSelectorRequirementSchema, 16).optional(),
});

const PodAffinityTermSchema = z.strictObject({
  labelSelector: LabelSelectorSchema.optional(),
  namespaceSelector: LabelSelectorSchema.optional(),
  namespaces: listAtomic(z.string(), 64).optional(),
  topologyKey: z.string().min(1).max(317),
  matchLabelKeys: listAtomic(z.string(), 16).optional(),
  mismatchLabelKeys: listAtomic(z.string(), 16).optional(),
});

const WeightedPodAffinityTermSchema = z.strictObject({
  weight: z.int().min(1).max(100),
  podAffinityTerm: PodAffinityTermSchema,
});

const PodAffinitySchema = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: listAtomic(PodAffinityTermSchema, 16).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: listAtomic(WeightedPodAffinityTermSchema, 16).optional(),
});

export const AffinitySchema = z.strictObject({
  nodeAffinity: z
    .strictObject({
      requiredDuringSchedulingIgnoredDuringExecution: z
        .strictObject({ nodeSelectorTerms: listAtomic(NodeSelectorTermSchema, 16) })
        .optional(),
      preferredDuringSchedulingIgnoredDuringExecution: listAtomic(
        z.strictObject({ weight: z.int().min(1).max(100), preference: NodeSelectorTermSchema }),
        16,
      ).optional(),
    })
    .optional(),
  podAffinity: PodAffinitySchema.optional(),
  podAntiAffinity: PodAffinitySchema.optional(),
});

export const TopologySpreadConstraintSchema = z.strictObject({
  maxSkew: z.int().min(1),
  topologyKey: z.string().min(1).max(317),
  whenUnsatisfiable: z.enum(['DoNotSchedule', 'ScheduleAnyway']),
  labelSelector: LabelSelectorSchema.optional().describe('Defaults to the data-plane pod selector.'),
  minDomains: z.int().min(1).optional(),
  nodeAffinityPolicy: z.enum(['Honor', 'Ignore']).optional(),
  nodeTaintsPolicy: z.enum(['Honor', 'Ignore']).optional(),
  matchLabelKeys: listAtomic(z.string(), 16).optional(),
});

const KeyToPathSchema = z.strictObject({
  key: z.string().min(1),
  path: z.string().min(1),
  mode: z.int().min(0).max(0o777).optional(),
});

const SecretKeySelectorSchema = z.strictObject({
  name: ObjectName,
  key: z.string().min(1),
  optional: z.boolean().optional(),
});

export const EnvVarSchema = z.strictObject({
  name: z.string().min(1).max(253),
  value: z.string().optional(),
  valueFrom: z
    .strictObject({
      secretKeyRef: SecretKeySelectorSchema.optional(),
      configMapKeyRef: SecretKeySelectorSchema.optional(),
      fieldRef: z.strictObject({ fieldPath: z.string().min(1), apiVersion: z.string().optional() }).optional(),
      resourceFieldRef: z
        .strictObject({
          resource: z.string().min(1),
          containerName: z.string().optional(),
          divisor: QuantitySchema.optional(),
        })
        .optional(),
    })
    .optional(),
});

export const EnvFromSourceSchema = z.strictObject({
  prefix: z.string().optional(),
  secretRef: z.strictObject({ name: ObjectName, optional: z.boolean().optional() }).optional(),
  configMapRef: z.strictObject({ name: ObjectName, optional: z.boolean().optional() }).optional(),
});

const VOLUME_SOURCES = ['secret', 'configMap', 'emptyDir', 'persistentVolumeClaim', 'csi', 'projected'] as const;

/** core/v1 Volume with the sources a data-plane pod may reasonably need. */
export const VolumeSchema = withCel(
  z.strictObject({
    name: z
      .string()
      .max(63)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
    secret: z
      .strictObject({
        secretName: ObjectName,
        items: listAtomic(KeyToPathSchema, 64).optional(),
        defaultMode: z.int().min(0).max(0o777).optional(),
        optional: z.boolean().optional(),
      })
      .optional(),
    configMap: z
      .strictObject({
        name: ObjectName,
        items: listAtomic(KeyToPathSchema, 64).optional(),
        defaultMode: z.int().min(0).max(0o777).optional(),
        optional: z.boolean().optional(),
      })
      .optional(),
    emptyDir: z
      .strictObject({ medium: z.enum(['', 'Memory']).optional(), sizeLimit: QuantitySchema.optional() })
      .optional(),
    persistentVolumeClaim: z.strictObject({ claimName: ObjectName, readOnly: z.boolean().optional() }).optional(),
    csi: z
      .strictObject({
        driver: z.string().min(1),
        readOnly: z.boolean().optional(),
        fsType: z.string().optional(),
        volumeAttributes: StringMap.optional(),
        nodePublishSecretRef: z.strictObject({ name: ObjectName }).optional(),
      })
      .optional(),
    projected: z
      .strictObject({
        defaultMode: z.int().min(0).max(0o777).optional(),
        sources: listAtomic(
          z.strictObject({
            secret: z
              .strictObject({
                name: ObjectName,
                items: listAtomic(KeyToPathSchema, 64).optional(),
                optional: z.boolean().optional(),
              })
              .optional(),
            configMap: z
              .strictObject({
                name: ObjectName,
                items: listAtomic(KeyToPathSchema, 64).optional(),
                optional: z.boolean().optional(),
              })
              .optional(),
            serviceAccountToken: z
              .strictObject({
                audience: z.string().optional(),
                expirationSeconds: z.int().min(600).optional(),
                path: z.string().min(1),
              })
              .optional(),
          }),
          16,
        ),
      })
      .optional(),
  }),
  [
    {
      rule: `[${VOLUME_SOURCES.map((s) => `has(self.${s})`).join(', ')}].exists_one(x, x)`,
      message: `a volume needs exactly one source: ${VOLUME_SOURCES.join(', ')}`,
      check: (v) => VOLUME_SOURCES.filter((s) => v[s] !== undefined).length === 1,
    },
  ],
).describe(`A core/v1 Volume with one of the sources ${VOLUME_SOURCES.join(', ')}.`);

export const VolumeMountSchema = z.strictObject({
  name: z.string().min(1).max(63),
  mountPath: z.string().min(1).max(1024),
  subPath: z.string().optional(),
  readOnly: z.boolean().optional(),
});

const SeccompProfileSchema = z.strictObject({
  type: z.enum(['RuntimeDefault', 'Localhost', 'Unconfined']),
  localhostProfile: z.string().optional(),
});

/**
 * The pod securityContext fields a user may set. runAsNonRoot is always true (the operator sets
 * it; STANDARDS.md I5), so it is not offered here.
 */
export const PodSecurityContextSchema = z.strictObject({
  runAsUser: z.int().min(1).default(65532).describe('UID of the processes; never 0.'),
  runAsGroup: z.int().min(1).default(65532),
  fsGroup: z.int().min(1).default(65532),
  fsGroupChangePolicy: z.enum(['OnRootMismatch', 'Always']).optional(),
  supplementalGroups: listAtomic(z.int().min(0), 32).optional(),
  seccompProfile: SeccompProfileSchema.prefault({ type: 'RuntimeDefault' }),
});

/**
 * The container securityContext fields a user may set. No privilege escalation, a read-only
 * root filesystem and dropping ALL capabilities are fixed by the operator (STANDARDS.md I5).
 */
export const ContainerSecurityContextSchema = z.strictObject({
  runAsUser: z.int().min(1).optional(),
  runAsGroup: z.int().min(1).optional(),
  seccompProfile: SeccompProfileSchema.optional(),
});

/** Timing knobs of a probe; the handler (path, port) belongs to the operator. */
export const ProbeTimingSchema = z.strictObject({
  initialDelaySeconds: z.int().min(0).optional(),
  periodSeconds: z.int().min(1).optional(),
  timeoutSeconds: z.int().min(1).optional(),
  successThreshold: z.int().min(1).optional(),
  failureThreshold: z.int().min(1).optional(),
});
export type ProbeTiming = z.output<typeof ProbeTimingSchema>;

export const EnvListSchema = listMap(EnvVarSchema, ['name'], 128);
export const VolumeListSchema = listMap(VolumeSchema, ['name'], 64);
export const VolumeMountListSchema = listMap(VolumeMountSchema, ['mountPath'], 64);
export const ImagePullSecretsSchema = listMap(z.strictObject({ name: Name }), ['name'], 16);
