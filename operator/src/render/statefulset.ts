// The data-plane StatefulSet `<name>`: pods `<name>-<ordinal>` with the node process, the config
// and Secrets mounted read-only, probes on the ops port, a hardened security context and a
// grace period long enough to drain. The rollout planner owns `partition` (ObservedFacts): a new
// template is applied with partition = replicas, and stepping it down rolls one pod at a time.
import type {
  V1Affinity,
  V1Container,
  V1EnvVar,
  V1PodSecurityContext,
  V1PodTemplateSpec,
  V1Probe,
  V1StatefulSet,
  V1TopologySpreadConstraint,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { type FieldError, fieldError } from '../api/field-error.ts';
import { ANNOTATION, LABEL, POD_CONDITION } from '../api/labels.ts';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import type { ProbeTiming } from '../api/v1alpha1/core.ts';
import { minimumTerminationGraceSeconds } from '../api/v1alpha1/validate.ts';
import { configHash } from './configmap.ts';
import type { ObservedFacts } from './facts.ts';
import { sha256Hex, stableJson } from './hash.ts';
import { applyMeta, childMeta, commonLabels, selectorLabels, withInputHash } from './meta.ts';
import { secretMounts, secretVolume, secretVolumeMount } from './mounts.ts';
import {
  APP_SECRET_VOLUME_PREFIX,
  CONFIG_KEY,
  CONTAINER,
  configMapName,
  dataplaneName,
  headlessServiceName,
  PATH,
  PORT,
  PORT_NAME,
  REDIS_TLS_VOLUME,
  serviceAccountName,
  VOLUME,
} from './names.ts';
import { hardenedContainerSecurityContext, resourceRequirements } from './pod.ts';
import { redisEnv } from './redis.ts';

type Cluster = Readonly<AITransportCluster>;

const TMP_SIZE = '64Mi';

/** The data-plane image: digest, else tag, else spec.version as the tag. */
export function imageRef(c: Cluster): string {
  const i = c.spec.image;
  if (i.digest) return `${i.repository}@${i.digest}`;
  return `${i.repository}:${i.tag ?? c.spec.version}`;
}

/** preStop sleep + connection drain + shutdown grace, unless the CR sets a (validated, larger) value. */
export function terminationGraceSeconds(c: Cluster): number {
  return c.spec.pod.terminationGracePeriodSeconds ?? minimumTerminationGraceSeconds(c);
}

/** Environment the operator sets; extraEnv may not use these names. */
export function operatorEnv(c: Cluster): V1EnvVar[] {
  return [
    { name: 'AIT_CONFIG', value: `${PATH.configDir}/${CONFIG_KEY.node}` },
    { name: 'AIT_NODE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ...redisEnv(c),
  ];
}

function probe(path: string, defaults: ProbeTiming, user: ProbeTiming | undefined): V1Probe {
  return { httpGet: { path, port: PORT_NAME.ops, scheme: 'HTTP' }, ...defaults, ...user };
}

function volumes(c: Cluster): V1Volume[] {
  return [
    { name: VOLUME.config, configMap: { name: configMapName(c), defaultMode: 0o444 } },
    { name: VOLUME.tmp, emptyDir: { sizeLimit: TMP_SIZE } },
    ...secretMounts(c).map(secretVolume),
    ...((c.spec.pod.extraVolumes ?? []) as V1Volume[]),
  ];
}

function volumeMounts(c: Cluster): V1VolumeMount[] {
  return [
    { name: VOLUME.config, mountPath: PATH.configDir, readOnly: true },
    { name: VOLUME.tmp, mountPath: PATH.tmp },
    ...secretMounts(c).map(secretVolumeMount),
    ...(c.spec.pod.extraVolumeMounts ?? []),
  ];
}

function container(c: Cluster): V1Container {
  const pod = c.spec.pod;
  return {
    name: CONTAINER.dataplane,
    image: imageRef(c),
    imagePullPolicy: c.spec.image.pullPolicy,
    env: [...operatorEnv(c), ...((pod.extraEnv ?? []) as V1EnvVar[])],
    ...(pod.extraEnvFrom ? { envFrom: pod.extraEnvFrom } : {}),
    ports: [
      { name: PORT_NAME.http, containerPort: PORT.http, protocol: 'TCP' },
      { name: PORT_NAME.ops, containerPort: PORT.ops, protocol: 'TCP' },
    ],
    startupProbe: probe('/livez', { periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 30 }, pod.probes.startup),
    livenessProbe: probe('/livez', { periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 }, pod.probes.liveness),
    readinessProbe: probe(
      '/readyz',
      { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2, successThreshold: 1 },
      pod.probes.readiness,
    ),
    lifecycle: { preStop: { sleep: { seconds: c.spec.upgrade.drain.endpointPropagationSeconds } } },
    resources: resourceRequirements(pod.resources),
    securityContext: hardenedContainerSecurityContext(pod.containerSecurityContext),
    volumeMounts: volumeMounts(c),
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

function podSecurityContext(c: Cluster): V1PodSecurityContext {
  const s = c.spec.pod.securityContext;
  return { ...s, runAsNonRoot: true };
}

/** Spread constraints with the data-plane selector filled in where the CR left it out. */
function spreadConstraints(c: Cluster): V1TopologySpreadConstraint[] | undefined {
  const list = c.spec.pod.topologySpreadConstraints;
  if (!list) return undefined;
  return list.map((t) => ({ ...t, labelSelector: t.labelSelector ?? { matchLabels: selectorLabels(c, 'dataplane') } }));
}

/** The CR's affinity, or (without affinity and spread constraints) a soft preference for distinct nodes. */
function affinity(c: Cluster): V1Affinity | undefined {
  if (c.spec.pod.affinity) return c.spec.pod.affinity;
  if (c.spec.pod.topologySpreadConstraints?.length) return undefined;
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: LABEL.hostname,
            labelSelector: { matchLabels: selectorLabels(c, 'dataplane') },
          },
        },
      ],
    },
  };
}

/**
 * Pod-template annotations. Only config.json (restart-requiring settings) is hashed in; channel
 * policies are hot-reloaded and Secrets are re-read on reload, so neither is part of it.
 */
export function podTemplateAnnotations(c: Cluster): Record<string, string> {
  const restartedAt = c.metadata.annotations?.[ANNOTATION.restartedAt];
  return {
    ...c.spec.pod.podAnnotations,
    [ANNOTATION.configHash]: configHash(c),
    [ANNOTATION.defaultContainer]: CONTAINER.dataplane,
    ...(restartedAt ? { [ANNOTATION.restartedAt]: restartedAt } : {}),
  };
}

/** The pod template of the data plane (its hash on the StatefulSet tells the rollout planner it changed). */
export function renderPodTemplate(c: Cluster): V1PodTemplateSpec {
  const pod = c.spec.pod;
  const spread = spreadConstraints(c);
  const aff = affinity(c);
  return {
    metadata: {
      labels: { ...pod.podLabels, ...commonLabels(c, 'dataplane') },
      annotations: podTemplateAnnotations(c),
    },
    spec: {
      serviceAccountName: serviceAccountName(c),
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: terminationGraceSeconds(c),
      securityContext: podSecurityContext(c),
      ...(c.spec.imagePullSecrets ? { imagePullSecrets: c.spec.imagePullSecrets } : {}),
      ...(pod.nodeSelector ? { nodeSelector: pod.nodeSelector } : {}),
      ...(pod.tolerations ? { tolerations: pod.tolerations } : {}),
      ...(aff ? { affinity: aff } : {}),
      ...(spread ? { topologySpreadConstraints: spread } : {}),
      ...(pod.priorityClassName ? { priorityClassName: pod.priorityClassName } : {}),
      ...(c.spec.upgrade.drain.method === 'ReadinessGate'
        ? { readinessGates: [{ conditionType: POD_CONDITION.serving }] }
        : {}),
      containers: [container(c)],
      volumes: volumes(c),
    },
  };
}

/** sha256 of the rendered pod template (annotation ANNOTATION.templateHash on the StatefulSet). */
export function podTemplateHash(c: Cluster): string {
  return sha256Hex(stableJson(renderPodTemplate(c)));
}

export function renderStatefulSet(c: Cluster, facts: ObservedFacts): V1StatefulSet {
  // A scale-down keeps the live count until the pods it removes are drained (facts.replicas).
  const replicas = Math.max(facts.replicas ?? c.spec.replicas, c.spec.replicas);
  const partition = Math.min(Math.max(facts.partition ?? 0, 0), replicas);
  return applyMeta(
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { annotations: { [ANNOTATION.templateHash]: podTemplateHash(c) } },
      spec: {
        replicas,
        serviceName: headlessServiceName(c),
        selector: { matchLabels: selectorLabels(c, 'dataplane') },
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition } },
        minReadySeconds: c.spec.upgrade.healthGate.minReadySeconds,
        revisionHistoryLimit: 10,
        template: renderPodTemplate(c),
      },
    },
    ...childMeta(c, dataplaneName(c), 'dataplane'),
    withInputHash(),
  );
}

// ---------------------------------------------------------------- validation of pod overrides

const OPERATOR_PATHS = [PATH.configDir, '/var/run/aitransport', PATH.tmp];

/** extraEnv, extraVolumes, extraVolumeMounts and podLabels may not collide with what the operator sets. */
export function validatePodOverrides(c: Cluster): FieldError[] {
  const pod = c.spec.pod;
  const out: FieldError[] = [];
  const selector = selectorLabels(c, 'dataplane');
  for (const key of Object.keys(pod.podLabels ?? {})) {
    if (key in selector)
      out.push(fieldError(`spec.pod.podLabels.${key}`, 'Forbidden', 'a selector label of the operator'));
  }
  const envNames = new Set(operatorEnv(c).map((e) => e.name));
  (pod.extraEnv ?? []).forEach((e, i) => {
    if (envNames.has(e.name))
      out.push(fieldError(`spec.pod.extraEnv[${i}].name`, 'Forbidden', `${e.name} is set by the operator`));
  });
  const ours = new Set<string>([VOLUME.config, VOLUME.tmp, VOLUME.adminToken, REDIS_TLS_VOLUME]);
  const extra = new Set<string>();
  (pod.extraVolumes ?? []).forEach((v, i) => {
    if (ours.has(v.name) || v.name.startsWith(APP_SECRET_VOLUME_PREFIX)) {
      out.push(fieldError(`spec.pod.extraVolumes[${i}].name`, 'Forbidden', `${v.name} is a volume of the operator`));
    }
    extra.add(v.name);
  });
  (pod.extraVolumeMounts ?? []).forEach((m, i) => {
    if (!extra.has(m.name)) {
      out.push(fieldError(`spec.pod.extraVolumeMounts[${i}].name`, 'Invalid', `no extraVolumes entry named ${m.name}`));
    }
    const clash = OPERATOR_PATHS.find(
      (p) => m.mountPath === p || m.mountPath.startsWith(`${p}/`) || p.startsWith(`${m.mountPath}/`),
    );
    if (clash) {
      out.push(
        fieldError(
          `spec.pod.extraVolumeMounts[${i}].mountPath`,
          'Forbidden',
          `overlaps ${clash}, mounted by the operator`,
        ),
      );
    }
  });
  return out;
}
