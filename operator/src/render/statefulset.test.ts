import { describe, expect, it } from 'vitest';
import { ANNOTATION } from '../api/labels.ts';
import { FACTS, loadCluster, specOf } from './fixtures.ts';
import { imageRef, renderStatefulSet, validatePodOverrides } from './statefulset.ts';

const minimal = loadCluster('cluster-minimal.yaml');

describe('statefulset', () => {
  const sts = renderStatefulSet(minimal, FACTS);
  const pod = sts.spec?.template.spec;
  const container = pod?.containers[0];

  it('exposes 6001 and 9601 and probes the ops port', () => {
    expect(container?.ports?.map((p) => p.containerPort)).toEqual([6001, 9601]);
    expect(container?.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'ops' });
    expect(container?.livenessProbe?.httpGet).toMatchObject({ path: '/livez', port: 'ops' });
  });

  it('hardens the pod and gives it time to drain', () => {
    expect(container?.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod?.securityContext?.runAsNonRoot).toBe(true);
    // 10 s preStop + 120 s connection drain + 30 s shutdown grace
    expect(pod?.terminationGracePeriodSeconds).toBe(160);
    expect(container?.lifecycle?.preStop?.sleep?.seconds).toBe(10);
  });

  it('steps the rollout with the planner partition, clamped to replicas', () => {
    expect(sts.spec?.podManagementPolicy).toBe('Parallel');
    expect(renderStatefulSet(minimal, { ...FACTS, partition: 5 }).spec?.updateStrategy?.rollingUpdate?.partition).toBe(
      1,
    );
  });

  it('rolls the pods (config hash) when config.json changes; policies are not an input at all', () => {
    const prod = loadCluster('cluster-production.yaml');
    const a = renderStatefulSet(prod, FACTS);
    expect(a.spec?.template.metadata?.annotations?.[ANNOTATION.configHash]).toMatch(/^[0-9a-f]{64}$/);
    const debug = loadCluster('cluster-production.yaml', (raw) => {
      (specOf(raw).config as { logging: { level: string } }).logging.level = 'debug';
    });
    expect(renderStatefulSet(debug, FACTS).spec?.template.metadata?.annotations?.[ANNOTATION.configHash]).not.toBe(
      a.spec?.template.metadata?.annotations?.[ANNOTATION.configHash],
    );
  });

  it('pins the image by digest when given', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const c = loadCluster('cluster-minimal.yaml', (raw) => {
      specOf(raw).image = { digest };
    });
    expect(imageRef(c)).toBe(`ghcr.io/aitransport/dataplane@${digest}`);
  });

  it('copies the restartedAt annotation of the CR into the pod template', () => {
    const c = loadCluster('cluster-minimal.yaml', (raw) => {
      (raw.metadata as Record<string, unknown>).annotations = { [ANNOTATION.restartedAt]: '2026-01-01T00:00:00Z' };
    });
    expect(renderStatefulSet(c, FACTS).spec?.template.metadata?.annotations?.[ANNOTATION.restartedAt]).toBe(
      '2026-01-01T00:00:00Z',
    );
  });

  it('rejects pod overrides that collide with the operator', () => {
    const c = loadCluster('cluster-minimal.yaml', (raw) => {
      specOf(raw).pod = {
        extraEnv: [{ name: 'AIT_CONFIG', value: '/x' }],
        extraVolumes: [{ name: 'config', emptyDir: {} }],
        extraVolumeMounts: [{ name: 'config', mountPath: '/etc/aitransport/extra' }],
      };
    });
    expect(validatePodOverrides(c).map((e) => e.field)).toEqual([
      'spec.pod.extraEnv[0].name',
      'spec.pod.extraVolumes[0].name',
      'spec.pod.extraVolumeMounts[0].mountPath',
    ]);
  });
});
