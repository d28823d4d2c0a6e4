// Pods as the rollout sees them, and the status.dataPlane summary of the admin API answers.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ANNOTATION, LABEL } from '../api/labels.ts';
import type { AdminStatus } from '../dataplane/admin-client.ts';
import { rfc3339 } from '../kube/clock.ts';
import type { PodHealth } from '../rollout/health.ts';
import { DATAPLANE_REFRESH_MS, podView, summarizeDataPlane } from './dataplane.ts';

const T = Date.UTC(2026, 5, 1, 12, 0, 0);

function pod(name: string, patch: Partial<V1Pod> = {}): V1Pod {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      creationTimestamp: new Date(T - 60_000),
      labels: { [LABEL.revisionHash]: 'demo-abc' },
      annotations: { [ANNOTATION.drainedAt]: '2026-06-01T11:59:30Z' },
      ...patch.metadata,
    },
    status: {
      podIP: '127.9.0.3',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(T - 30_000) }],
      containerStatuses: [
        {
          name: 'dataplane',
          ready: true,
          restartCount: 2,
          image: 'x',
          imageID: '',
          state: { running: { startedAt: new Date(T - 40_000) } },
        },
      ],
      ...patch.status,
    },
  };
}

function ok(p: Partial<AdminStatus> & { reset?: number; degraded?: number; reachable?: boolean }): PodHealth {
  return {
    kind: 'ok',
    status: {
      connections: p.connections ?? 0,
      history: {
        store: 'redis',
        reachable: p.reachable ?? true,
        resetRequiredChannels: p.reset ?? 0,
        degradedChannels: p.degraded ?? 0,
      },
    } as AdminStatus,
  };
}

describe('podView', () => {
  it('reads ordinal, revision, readiness, restarts, the drained-at marker and the IP', () => {
    expect(podView(pod('demo-12'), 'demo')).toEqual({
      name: 'demo-12',
      ordinal: 12,
      uid: 'uid-demo-12',
      revision: 'demo-abc',
      ready: true,
      readySinceMs: T - 30_000,
      runningSinceMs: T - 40_000,
      restartCount: 2,
      terminating: false,
      createdMs: T - 60_000,
      drainedAtMs: Date.parse('2026-06-01T11:59:30Z'),
      ip: '127.9.0.3',
    });
  });

  it('ignores pods of another StatefulSet and reads a terminating one as such', () => {
    expect(podView(pod('demo-redis-0'), 'demo')).toBeUndefined();
    expect(podView(pod('other-0'), 'demo')).toBeUndefined();
    const gone = podView(pod('demo-0', { metadata: { name: 'demo-0', deletionTimestamp: new Date(T) } }), 'demo');
    expect(gone?.terminating).toBe(true);
  });
});

describe('summarizeDataPlane', () => {
  it('sums connections, takes the store-wide counts once, and names the pods that did not answer', () => {
    const health = new Map<string, PodHealth>([
      ['demo-0', ok({ connections: 3, reset: 2 })],
      ['demo-1', ok({ connections: 4, reset: 2, degraded: 1 })],
      ['demo-2', { kind: 'error', message: 'ECONNREFUSED' }],
    ]);
    expect(summarizeDataPlane(health, undefined, T, rfc3339)).toEqual({
      connections: 7,
      resetRequiredChannels: 2,
      degradedChannels: 1,
      reachablePods: 2,
      message: 'demo-2: ECONNREFUSED',
      lastCheckTime: rfc3339(T),
    });
  });

  it('keeps the previous block (and its time) while nothing changed, for a quiet status', () => {
    const health = new Map<string, PodHealth>([['demo-0', ok({ connections: 3 })]]);
    const first = summarizeDataPlane(health, undefined, T, rfc3339);
    expect(summarizeDataPlane(health, first, T + 60_000, rfc3339)).toBe(first);
    const later = summarizeDataPlane(health, first, T + DATAPLANE_REFRESH_MS + 1, rfc3339);
    expect(later?.lastCheckTime).toBe(rfc3339(T + DATAPLANE_REFRESH_MS + 1));
    const changed = summarizeDataPlane(new Map([['demo-0', ok({ connections: 4 })]]), first, T + 1_000, rfc3339);
    expect(changed).toMatchObject({ connections: 4, lastCheckTime: rfc3339(T + 1_000) });
  });

  it('reports what it could not reach when no pod answers, and nothing when none was asked', () => {
    expect(summarizeDataPlane(new Map([['demo-0', { kind: 'error', message: 'x' }]]), undefined, T, rfc3339)).toEqual({
      reachablePods: 0,
      message: 'demo-0: x',
      lastCheckTime: rfc3339(T),
    });
    expect(summarizeDataPlane(new Map(), undefined, T, rfc3339)).toBeUndefined();
  });
});
