// Semantic validation: the rules CEL cannot express (or that need the parsed, defaulted spec),
// as a list of small validators each returning FieldError[] (STYLE.md 13). The operator runs
// them before rendering; any error sets Stalled=True reason=InvalidSpec and nothing is applied.
// Rules about the rendered result (config.json validity, pod volume collisions) live in
// operator/src/render (validateDesired), since they need the render.
import { type FieldError, fieldError } from '../field-error.ts';
import type { ChannelPolicy } from './channelpolicy.ts';
import type { AITransportCluster } from './cluster.ts';

type ClusterValidator = (c: Readonly<AITransportCluster>) => FieldError[];
type PolicyValidator = (p: Readonly<ChannelPolicy>) => FieldError[];

/** Replicas above one share state through Redis; the embedded store is per pod. */
export function validateReplicas(c: Readonly<AITransportCluster>): FieldError[] {
  if (c.spec.replicas > 1 && c.spec.redis === undefined) {
    return [fieldError('spec.replicas', 'Invalid', 'replicas above 1 need spec.redis (the embedded store is per pod)')];
  }
  return [];
}

export function validateRedis(c: Readonly<AITransportCluster>): FieldError[] {
  const r = c.spec.redis;
  if (!r) return [];
  const out: FieldError[] = [];
  if (r.mode === 'Managed' && !r.managed) out.push(fieldError('spec.redis.managed', 'Required', 'mode is Managed'));
  if (r.mode === 'External' && !r.external) out.push(fieldError('spec.redis.external', 'Required', 'mode is External'));
  const e = r.external;
  if (r.mode === 'External' && e) {
    if (e.cluster && e.db !== 0) {
      out.push(fieldError('spec.redis.external.db', 'Invalid', 'Redis Cluster only has database 0'));
    }
    if (!e.tls.enabled && (e.tls.caSecretRef || e.tls.serverName)) {
      out.push(
        fieldError('spec.redis.external.tls.enabled', 'Invalid', 'caSecretRef/serverName are set but TLS is off'),
      );
    }
  }
  return out;
}

export function validateApps(c: Readonly<AITransportCluster>): FieldError[] {
  const out: FieldError[] = [];
  const keys = new Map<string, number>();
  c.spec.apps.forEach((a, i) => {
    const prev = keys.get(a.key);
    if (prev !== undefined) {
      out.push(fieldError(`spec.apps[${i}].key`, 'Duplicate', `app key ${a.key} is also used by spec.apps[${prev}]`));
    }
    keys.set(a.key, i);
  });
  return out;
}

/** Minimum grace: the preStop sleep, the connection drain and the node's own shutdown budget. */
export function minimumTerminationGraceSeconds(c: Readonly<AITransportCluster>): number {
  const d = c.spec.upgrade.drain;
  return d.endpointPropagationSeconds + d.connectionDrainTimeoutSeconds + c.spec.config.shutdown.gracePeriodSeconds;
}

export function validateTermination(c: Readonly<AITransportCluster>): FieldError[] {
  const given = c.spec.pod.terminationGracePeriodSeconds;
  const min = minimumTerminationGraceSeconds(c);
  if (given !== undefined && given < min) {
    return [
      fieldError(
        'spec.pod.terminationGracePeriodSeconds',
        'Invalid',
        `${given}s is less than preStop + connection drain + shutdown grace = ${min}s; raise it or omit it`,
      ),
    ];
  }
  return [];
}

const CRON_FIELDS: ReadonlyArray<readonly [string, number, number]> = [
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['day of month', 1, 31],
  ['month', 1, 12],
  ['day of week', 0, 7],
];

/** Checks a five-field cron expression (numbers, `*`, ranges, steps, lists); returns a problem or undefined. */
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return `"${expr}" has ${fields.length} fields, want 5 (minute hour day month weekday)`;
  for (const [i, field] of fields.entries()) {
    const [name, lo, hi] = CRON_FIELDS[i] as readonly [string, number, number];
    for (const part of (field as string).split(',')) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return `"${part}" is not a valid ${name} (use *, n, a-b, */n, a-b/n or lists)`;
      const nums = [m[2], m[3]].filter((x): x is string => x !== undefined).map(Number);
      if (nums.some((n) => n < lo || n > hi)) return `${name} "${part}" is outside ${lo}-${hi}`;
      if (nums.length === 2 && (nums[0] as number) > (nums[1] as number)) return `${name} range "${part}" is reversed`;
      if (m[4] !== undefined && Number(m[4]) === 0) return `${name} step "${part}" is zero`;
    }
  }
  return undefined;
}

export function validateUpgrade(c: Readonly<AITransportCluster>): FieldError[] {
  const u = c.spec.upgrade;
  const out: FieldError[] = [];
  (u.maintenanceWindows ?? []).forEach((w, i) => {
    const problem = cronProblem(w);
    if (problem) out.push(fieldError(`spec.upgrade.maintenanceWindows[${i}]`, 'Invalid', problem));
  });
  const g = u.healthGate;
  if (g.timeoutSeconds < g.minReadySeconds + g.stableSeconds) {
    out.push(
      fieldError(
        'spec.upgrade.healthGate.timeoutSeconds',
        'Invalid',
        `must be at least minReadySeconds + stableSeconds (${g.minReadySeconds + g.stableSeconds}s)`,
      ),
    );
  }
  return out;
}

/** Parses a Prometheus duration (`1h30m`, `30s`, `500ms`) into milliseconds. */
export function durationMs(d: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of d.matchAll(/([0-9]+)(ms|s|m|h)/g)) total += Number(m[1]) * (units[m[2] as string] as number);
  return total;
}

export function validateMonitoring(c: Readonly<AITransportCluster>): FieldError[] {
  const sm = c.spec.monitoring.serviceMonitor;
  const out: FieldError[] = [];
  if (durationMs(sm.scrapeTimeout) > durationMs(sm.interval)) {
    out.push(fieldError('spec.monitoring.serviceMonitor.scrapeTimeout', 'Invalid', 'must not exceed the interval'));
  }
  if (sm.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(sm.namespace)) {
    out.push(fieldError('spec.monitoring.serviceMonitor.namespace', 'Invalid', 'not a namespace name'));
  }
  return out;
}

/** Options the operator owns: an override may not move listeners, add apps or put secrets in the config. */
const FORBIDDEN_OVERRIDES: ReadonlyArray<readonly string[]> = [
  ['apps'],
  ['ops'],
  ['nodeId'],
  ['server', 'host'],
  ['server', 'port'],
];

export function validateConfigOverrides(c: Readonly<AITransportCluster>): FieldError[] {
  const o = c.spec.configOverrides;
  if (!o) return [];
  const out: FieldError[] = [];
  for (const path of FORBIDDEN_OVERRIDES) {
    let cursor: unknown = o;
    for (const key of path)
      cursor = cursor && typeof cursor === 'object' ? (cursor as Record<string, unknown>)[key] : undefined;
    if (cursor !== undefined) {
      out.push(
        fieldError(
          `spec.configOverrides.${path.join('.')}`,
          'Forbidden',
          'owned by the operator (use spec.apps, spec.adminTokenSecretRef, spec.service)',
        ),
      );
    }
  }
  return out;
}

/** Every cluster validator, in the order their errors are reported. */
export const CLUSTER_VALIDATORS: readonly ClusterValidator[] = [
  validateReplicas,
  validateRedis,
  validateApps,
  validateTermination,
  validateUpgrade,
  validateMonitoring,
  validateConfigOverrides,
];

export function validateCluster(c: Readonly<AITransportCluster>): FieldError[] {
  return CLUSTER_VALIDATORS.flatMap((v) => v(c));
}

// ---------------------------------------------------------------- ChannelPolicy

export function validateSelectors(p: Readonly<ChannelPolicy>): FieldError[] {
  const out: FieldError[] = [];
  (p.spec.channels.patterns ?? []).forEach((pat, i) => {
    if (!/[*?]/.test(pat)) {
      out.push(
        fieldError(`spec.channels.patterns[${i}]`, 'Invalid', `"${pat}" has no * or ?: list it under names instead`),
      );
    }
  });
  (p.spec.channels.prefixes ?? []).forEach((pre, i) => {
    if (/[*?]/.test(pre)) {
      out.push(fieldError(`spec.channels.prefixes[${i}]`, 'Invalid', `"${pre}" holds a wildcard: use patterns`));
    }
  });
  return out;
}

export function validateReset(p: Readonly<ChannelPolicy>): FieldError[] {
  const r = p.spec.reset;
  if (r.policy === 'Automatic' && !p.spec.history.enabled) {
    return [fieldError('spec.reset.policy', 'Invalid', 'Automatic resets need history.enabled')];
  }
  return [];
}

export const POLICY_VALIDATORS: readonly PolicyValidator[] = [validateSelectors, validateReset];

export function validateChannelPolicy(p: Readonly<ChannelPolicy>): FieldError[] {
  return POLICY_VALIDATORS.flatMap((v) => v(p));
}

/** Cross-object rules: the policy's cluster and app exist (run by the policy controller). */
export function validatePolicyAgainstCluster(
  p: Readonly<ChannelPolicy>,
  c: Readonly<AITransportCluster> | undefined,
): FieldError[] {
  if (!c || c.metadata.name !== p.spec.clusterRef.name || c.metadata.namespace !== p.metadata.namespace) {
    return [fieldError('spec.clusterRef.name', 'Invalid', `no AITransportCluster ${p.spec.clusterRef.name} here`)];
  }
  if (!c.spec.apps.some((a) => a.id === p.spec.appId)) {
    return [fieldError('spec.appId', 'Invalid', `cluster ${c.metadata.name} has no app ${p.spec.appId}`)];
  }
  return [];
}

/** Two policies of one app may not both name the same exact channel (the data plane would pick one). */
export function validatePolicyOverlap(policies: readonly Readonly<ChannelPolicy>[]): FieldError[] {
  const out: FieldError[] = [];
  const owner = new Map<string, string>();
  for (const p of [...policies].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    for (const name of p.spec.channels.names ?? []) {
      const key = `${p.spec.appId}\u0000${name}`;
      const prev = owner.get(key);
      if (prev !== undefined && prev !== p.metadata.name) {
        out.push(
          fieldError(
            `spec.channels.names`,
            'Duplicate',
            `${p.metadata.name}: channel ${name} is also named by ${prev}`,
          ),
        );
      } else owner.set(key, p.metadata.name);
    }
  }
  return out;
}
