// Reconcile of one AITransportCluster, level-triggered (the event that queued it is never
// looked at). The wrapper handles the object being gone, deleting, disabled or paused; then a
// flat list of steps runs (STYLE.md 7), each returning nothing (go on), a requeue, or stop:
//   validate → ensureSecrets → checkSecretRefs → planRollout → rolloutAction → applyChildren
//   → pruneChildren → writeStatus
// planRollout reads the pods and their admin API and decides the StatefulSet partition and
// replicas (re-rendered) and at most one disruptive action, which rolloutAction runs
// (cluster-rollout.ts, rollout/planner.ts).
import { isDeepStrictEqual } from 'node:util';
import type { V1Pod, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { type FieldError, formatFieldErrors } from '../api/field-error.ts';
import { ANNOTATION } from '../api/labels.ts';
import type { ChannelPolicy } from '../api/v1alpha1/channelpolicy.ts';
import type { AITransportCluster, ClusterStatus } from '../api/v1alpha1/cluster.ts';
import { rfc3339 } from '../kube/clock.ts';
import { errorMessage, isNotFound, isTransient } from '../kube/errors.ts';
import { apiVersionOf, RESOURCE, type ResourceType, resourceOf } from '../kube/resources.ts';
import type { ObservedFacts } from '../render/facts.ts';
import { renderAll, validateDesired } from '../render/index.ts';
import { type KubeObject, selectorString } from '../render/meta.ts';
import { dataplaneName, redisName } from '../render/names.ts';
import { redisEndpoint } from '../render/redis.ts';
import type { PodHealth, PodView } from '../rollout/health.ts';
import type { RolloutPlan } from '../rollout/planner.ts';
import { childId, planApply, planPrune } from './children.ts';
import { executeAction, liveRolloutObjects, plan as planRolloutPass, policiesResetting } from './cluster-rollout.ts';
import {
  type ClusterObservation,
  computeClusterStatus,
  computePausedStatus,
  type MonitoringState,
  type Outcome,
} from './cluster-status.ts';
import {
  defaultRandomToken,
  type ReconcileDeps,
  type ReconcileRequest,
  type ReconcileResult,
  refOf,
} from './context.ts';
import { adminToken, type DataPlaneStatus, dataPlanePods, probePods, summarizeDataPlane } from './dataplane.ts';
import { isOwnedBy } from './keys.ts';
import { clusterLockKey } from './locks.ts';
import { parseCluster } from './parse.ts';
import { policiesNaming, selectPolicies } from './policy-select.ts';
import { productionReadiness } from './production-ready.ts';
import { missingSecrets, operatorSecrets, referencedSecrets } from './secrets.ts';

type RawCluster = KubeObject & {
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    annotations?: Record<string, string>;
  };
  spec?: { paused?: boolean };
  status?: ClusterStatus;
};

/** Kinds the render produces: the only ones pruned. Secrets are created once and left to GC. */
export const CHILD_RESOURCES: readonly ResourceType[] = [
  RESOURCE.configMap,
  RESOURCE.serviceAccount,
  RESOURCE.service,
  RESOURCE.networkPolicy,
  RESOURCE.statefulSet,
  RESOURCE.podDisruptionBudget,
  RESOURCE.serviceMonitor,
  RESOURCE.prometheusRule,
];

/** Every cached child of every cluster, each stamped with its kind (the cache is keyed by resource). */
function cachedChildren(deps: ReconcileDeps): KubeObject[] {
  return CHILD_RESOURCES.flatMap((t) =>
    deps.caches.list(t).map((o) => ({ ...o, apiVersion: apiVersionOf(t), kind: t.kind })),
  );
}

interface Ctx {
  readonly deps: ReconcileDeps;
  readonly req: ReconcileRequest;
  readonly raw: RawCluster;
  readonly generation: number;
  cluster?: AITransportCluster;
  facts?: ObservedFacts;
  policies: ChannelPolicy[];
  desired: KubeObject[];
  policyCount: number;
  production?: ReturnType<typeof productionReadiness>;
  outcome: Outcome;
  missingSecrets: string[];
  /** Live children after the applies (answers of the API server), by childId. */
  live: Map<string, KubeObject>;
  requeueAfterMs?: number;
  /** This pass's rollout plan (undefined when the spec is invalid: status.rollout is kept). */
  plan?: RolloutPlan;
  dataPlane?: DataPlaneStatus;
  /** Pods whose data plane reports its history store unreachable (Degraded). */
  storeUnreachable: string[];
  pods?: { raw: Map<string, V1Pod>; views: PodView[] };
  token?: string;
  /** Releases the cluster's operation lock taken for a disruptive action. */
  release: () => void;
}

type StepResult = { stop: true } | { requeueAfterMs: number } | undefined;
type Step = (ctx: Ctx) => Promise<StepResult>;

const now = (ctx: Ctx) => rfc3339(ctx.deps.clock.now());

/** The cached live copy of a child; read from the API when its namespace is not watched. */
async function liveOf(ctx: Ctx, obj: KubeObject): Promise<KubeObject | undefined> {
  const t = resourceOf(obj);
  const ns = obj.metadata?.namespace ?? '';
  const name = obj.metadata?.name ?? '';
  if (ctx.deps.caches.covers(t, ns)) return ctx.deps.caches.get(t, ns, name);
  return ctx.deps.client.get(t, ns, name);
}

// ---------------------------------------------------------------- steps

const validate: Step = async (ctx) => {
  const parsed = parseCluster(ctx.raw);
  let errors: FieldError[];
  if (parsed.ok) {
    ctx.cluster = parsed.value;
    errors = validateDesired(parsed.value);
  } else {
    errors = parsed.errors;
  }
  if (errors.length === 0 && ctx.cluster) {
    const c = ctx.cluster;
    const policies = selectPolicies(
      c,
      policiesNaming(
        ctx.deps.caches.list(RESOURCE.channelPolicy, c.metadata.namespace),
        c.metadata.namespace ?? '',
        c.metadata.name,
      ),
    ).accepted;
    ctx.policyCount = policies.length;
    ctx.policies = policies;
    ctx.facts = ctx.deps.facts();
    try {
      ctx.desired = renderAll(c, policies, ctx.facts);
    } catch (err) {
      errors = [{ field: 'spec', type: 'Invalid', message: `render failed: ${errorMessage(err)}` }];
    }
    ctx.production = productionReadiness({ cluster: c, policies, facts: ctx.facts });
  }
  if (errors.length === 0) return undefined;
  ctx.outcome = { kind: 'invalid', errors };
  const message = formatFieldErrors(errors);
  ctx.req.log.info({ errors }, 'invalid spec: nothing applied');
  ctx.deps.recorder.warning(refOf(ctx.raw), 'InvalidSpec', 'Validate', message);
  await writeStatus(ctx);
  return { stop: true };
};

const ensureSecrets: Step = async (ctx) => {
  const c = ctx.cluster as AITransportCluster;
  for (const secret of operatorSecrets(c, ctx.deps.randomToken ?? defaultRandomToken)) {
    const name = secret.metadata?.name ?? '';
    const ns = c.metadata.namespace ?? '';
    if (ctx.deps.caches.get(RESOURCE.secret, ns, name)) continue;
    try {
      await ctx.deps.client.create(secret);
      ctx.deps.onChild?.('Secret', 'created');
      ctx.deps.recorder.normal(refOf(ctx.raw), 'SecretCreated', 'Create', `created Secret ${name}`);
      ctx.req.log.info({ secret: name }, 'created Secret');
    } catch (err) {
      // The cache may lag behind, or the user created it: either way it exists.
      if ((err as { status?: number }).status === 409) continue;
      throw new Error(`while creating Secret ${ns}/${name}`, { cause: err });
    }
  }
  return undefined;
};

const checkSecretRefs: Step = async (ctx) => {
  const c = ctx.cluster as AITransportCluster;
  const refs = referencedSecrets(c);
  const live = new Map<string, V1Secret | undefined>();
  for (const name of new Set(refs.map((r) => r.name))) {
    live.set(name, await ctx.deps.client.get<V1Secret>(RESOURCE.secret, c.metadata.namespace, name));
  }
  ctx.missingSecrets = missingSecrets(refs, live);
  if (ctx.missingSecrets.length) {
    // Nobody watches the user's Secrets: look again soon.
    ctx.requeueAfterMs = Math.min(ctx.deps.resyncMs, 30_000);
    ctx.deps.recorder.warning(refOf(ctx.raw), 'SecretsMissing', 'Validate', ctx.missingSecrets.join('; '));
  }
  return undefined;
};

/** Requeue at least this often while the cluster has pods, so status.dataPlane stays current. */
const DATAPLANE_POLL_MS = 60_000;

const minRequeue = (ctx: Ctx, ms: number | undefined) => {
  if (ms === undefined) return;
  ctx.requeueAfterMs = ctx.requeueAfterMs === undefined ? ms : Math.min(ctx.requeueAfterMs, ms);
};

const planRollout: Step = async (ctx) => {
  const c = ctx.cluster as AITransportCluster;
  const deps = ctx.deps;
  const now = deps.clock.now();
  const { sts, pdb } = liveRolloutObjects(deps, c);
  ctx.pods = dataPlanePods(deps, c);
  let health = new Map<string, PodHealth>();
  if (deps.admin && ctx.pods.views.length) {
    ctx.token = await adminToken(deps, c).catch((err: unknown) => {
      ctx.req.log.debug({ error: errorMessage(err) }, 'could not read the admin token');
      return undefined;
    });
    health = await probePods(deps.admin, ctx.pods.views, ctx.token);
  }
  ctx.dataPlane = summarizeDataPlane(health, ctx.raw.status?.dataPlane, now, rfc3339);
  ctx.storeUnreachable = [...health.entries()]
    .filter(([, h]) => h.kind === 'ok' && !h.status.history.reachable)
    .map(([pod]) => pod);
  const key = clusterLockKey(c.metadata.namespace ?? '', c.metadata.name);
  const { plan, release } = planRolloutPass(deps, {
    now,
    cluster: c,
    previous: ctx.raw.status?.rollout,
    liveSts: sts,
    pdb,
    pods: ctx.pods.views,
    health,
    resetRunning: deps.operations?.holder(key) === 'reset' || policiesResetting(deps, c),
  });
  ctx.plan = plan;
  ctx.release = release;
  ctx.desired = renderAll(c, ctx.policies, {
    ...(ctx.facts as ObservedFacts),
    partition: plan.partition,
    replicas: plan.replicas,
  });
  minRequeue(ctx, plan.requeueAfterMs);
  if (ctx.pods.views.length) minRequeue(ctx, DATAPLANE_POLL_MS);
  const step = plan.status.state === 'Idle' ? 0 : (plan.status.podsUpdated ?? 0) + 1;
  deps.metrics?.rollout(c.metadata.namespace ?? '', c.metadata.name, { stalled: plan.stalled !== undefined, step });
  return undefined;
};

const rolloutAction: Step = async (ctx) => {
  const plan = ctx.plan as RolloutPlan;
  const c = ctx.cluster as AITransportCluster;
  const pods = ctx.pods ?? { raw: new Map(), views: [] };
  const outcome = await executeAction(ctx.deps, ctx.req, c, plan, pods.raw, pods.views, ctx.token);
  if (!outcome.ok) {
    ctx.deps.recorder.warning(refOf(ctx.raw), 'RolloutActionFailed', 'Rollout', outcome.message);
    const { action: _failed, ...rest } = plan;
    ctx.plan = {
      ...rest,
      status: { ...plan.status, message: `${plan.status.message ?? ''} (${outcome.message})`.trim() },
      events: [],
    };
    minRequeue(ctx, 2_000);
    return undefined;
  }
  for (const e of plan.events) {
    if (e.type === 'Warning') ctx.deps.recorder.warning(refOf(ctx.raw), e.reason, 'Rollout', e.note);
    else ctx.deps.recorder.normal(refOf(ctx.raw), e.reason, 'Rollout', e.note);
  }
  if (plan.events.length) {
    ctx.req.log.info({ events: plan.events.map((e) => e.reason), rollout: plan.status }, 'rollout');
  }
  return undefined;
};

const applyChildren: Step = async (ctx) => {
  const done: string[] = [];
  for (const obj of ctx.desired) {
    const id = childId(obj);
    const live = await liveOf(ctx, obj);
    const plan = planApply(obj, live);
    if (plan.action === 'unchanged') {
      ctx.req.log.debug({ child: id, reason: plan.reason }, 'child unchanged: apply skipped');
      if (live) ctx.live.set(id, live);
      ctx.deps.onChild?.(obj.kind ?? '', 'unchanged');
      continue;
    }
    let result: KubeObject;
    try {
      result = await ctx.deps.client.apply(obj);
    } catch (err) {
      const message = `while applying ${id}: ${errorMessage(err)}`;
      const permanent = !isTransient(err);
      ctx.outcome = { kind: 'applyFailed', message, permanent };
      ctx.deps.recorder.warning(refOf(ctx.raw), permanent ? 'ApplyRejected' : 'ApplyFailed', 'Apply', message);
      await writeStatus(ctx).catch((e: unknown) =>
        ctx.req.log.debug({ error: errorMessage(e) }, 'the status write failed too'),
      );
      // Rejected (4xx) or not, the key goes back with the queue's backoff (1 s doubling to 5 min):
      // a rejection can clear without a spec change (RBAC fixed, an admission webhook back, or the
      // 403s of an API server whose authorizer cache is still filling after a restart).
      throw new Error(`while applying ${id}`, { cause: err });
    }
    ctx.live.set(id, result);
    const noop = live !== undefined && live.metadata?.resourceVersion === result.metadata?.resourceVersion;
    const action = plan.action === 'create' ? 'created' : noop ? 'unchanged' : 'updated';
    ctx.deps.onChild?.(obj.kind ?? '', action);
    ctx.req.log[action === 'unchanged' ? 'debug' : 'info']({ child: id, reason: plan.reason }, `child ${action}`);
    if (action !== 'unchanged') done.push(`${action} ${id}`);
  }
  if (done.length) ctx.deps.recorder.normal(refOf(ctx.raw), 'Applied', 'Apply', done.join('; '));
  return undefined;
};

const pruneChildren: Step = async (ctx) => {
  const c = ctx.cluster as AITransportCluster;
  const owner = { uid: c.metadata.uid, name: c.metadata.name, namespace: c.metadata.namespace ?? '' };
  const gone: string[] = [];
  const live = cachedChildren(ctx.deps);
  for (const obj of planPrune(live, ctx.desired, owner)) {
    const id = childId(obj);
    await ctx.deps.client
      .delete(resourceOf(obj), obj.metadata?.namespace, obj.metadata?.name ?? '', { uid: obj.metadata?.uid })
      .catch((err: unknown) => {
        throw new Error(`while deleting ${id}`, { cause: err });
      });
    ctx.deps.onChild?.(obj.kind ?? '', 'deleted');
    ctx.req.log.info({ child: id }, 'deleted a child that is no longer rendered');
    gone.push(id);
  }
  if (gone.length)
    ctx.deps.recorder.normal(refOf(ctx.raw), 'Deleted', 'Delete', `no longer rendered: ${gone.join('; ')}`);
  return undefined;
};

function monitoringState(c: AITransportCluster | undefined, facts: ObservedFacts | undefined): MonitoringState {
  const m = c?.spec.monitoring;
  if (!c || !m || !facts) return { kind: 'Disabled', message: 'the spec is invalid' };
  if (!c.spec.config.metrics.enabled) return { kind: 'Disabled', message: 'spec.config.metrics.enabled is false' };
  const wanted = [
    m.serviceMonitor.enabled ? ['ServiceMonitor', facts.monitoring.serviceMonitors] : undefined,
    m.prometheusRule.enabled ? ['PrometheusRule', facts.monitoring.prometheusRules] : undefined,
  ].filter((x): x is [string, boolean] => x !== undefined);
  if (wanted.length === 0) return { kind: 'Disabled', message: 'ServiceMonitor and PrometheusRule are disabled' };
  const missing = wanted.filter(([, present]) => !present).map(([k]) => k);
  if (missing.length) {
    return {
      kind: 'CRDsMissing',
      message: `the ${missing.join(' and ')} CRD (monitoring.coreos.com/v1) is not installed: not rendered; install the Prometheus Operator CRDs`,
    };
  }
  return { kind: 'CRDsPresent', message: `${wanted.map(([k]) => k).join(' and ')} applied` };
}

function observation(ctx: Ctx): ClusterObservation {
  const c = ctx.cluster;
  const ns = ctx.raw.metadata.namespace;
  const stsOf = (name: string) =>
    (ctx.live.get(`StatefulSet ${ns}/${name}`) ?? ctx.deps.caches.get(RESOURCE.statefulSet, ns, name)) as
      | V1StatefulSet
      | undefined;
  const ownSts = (name: string) => {
    const s = stsOf(name);
    return s && isOwnedBy(s, { uid: ctx.raw.metadata.uid, name: ctx.raw.metadata.name, namespace: ns }) ? s : undefined;
  };
  const redisMode = c?.spec.redis?.mode;
  const endpoint = c ? redisEndpoint(c) : undefined;
  return {
    generation: ctx.generation,
    now: now(ctx),
    previous: ctx.raw.status,
    ...(c ? { spec: { version: c.spec.version, replicas: c.spec.replicas }, selector: selectorString(c) } : {}),
    outcome: ctx.outcome,
    statefulSet: ownSts(dataplaneName(ctx.raw)),
    ...(redisMode && c
      ? {
          redis: {
            managed: redisMode === 'Managed',
            ...(redisMode === 'Managed' ? { statefulSet: ownSts(redisName(c)) } : {}),
            ...(endpoint ? { endpoint } : {}),
          },
        }
      : {}),
    monitoring: monitoringState(c, ctx.facts),
    missingSecrets: ctx.missingSecrets,
    production: ctx.outcome.kind === 'invalid' ? undefined : ctx.production,
    ...(ctx.plan ? { rollout: ctx.plan } : {}),
    ...(ctx.dataPlane ? { dataPlane: ctx.dataPlane } : {}),
    storeUnreachable: ctx.storeUnreachable,
  };
}

async function putStatus(ctx: Ctx, status: ClusterStatus): Promise<void> {
  if (isDeepStrictEqual(JSON.parse(JSON.stringify(status)), JSON.parse(JSON.stringify(ctx.raw.status ?? {})))) {
    ctx.req.log.debug('status unchanged');
    return;
  }
  try {
    await ctx.deps.client.applyStatus(RESOURCE.cluster, ctx.raw.metadata.namespace, ctx.raw.metadata.name, status);
    ctx.req.log.debug({ phase: status.phase }, 'status written');
  } catch (err) {
    if (isNotFound(err)) return; // deleted meanwhile
    throw new Error(
      `while writing the status of AITransportCluster ${ctx.raw.metadata.namespace}/${ctx.raw.metadata.name}`,
      {
        cause: err,
      },
    );
  }
}

async function writeStatus(ctx: Ctx): Promise<StepResult> {
  await putStatus(ctx, computeClusterStatus(observation(ctx)));
  return ctx.requeueAfterMs ? { requeueAfterMs: ctx.requeueAfterMs } : undefined;
}

/** The steps of a full reconcile, in order. */
const STEPS: readonly Step[] = [
  validate,
  ensureSecrets,
  checkSecretRefs,
  planRollout,
  rolloutAction,
  applyChildren,
  pruneChildren,
  writeStatus,
];

// ---------------------------------------------------------------- wrapper

/**
 * The cluster is gone: its children go with it (ownerReferences → garbage collection), except
 * those in other namespaces, which cannot carry an ownerReference: delete them here.
 */
async function cleanUpAfter(deps: ReconcileDeps, req: ReconcileRequest): Promise<void> {
  deps.metrics?.forgetCluster(req.namespace, req.name);
  const orphans = cachedChildren(deps).filter(
    (o) =>
      (o.metadata?.ownerReferences ?? []).length === 0 &&
      isOwnedBy(o, { name: req.name, namespace: req.namespace }) &&
      o.metadata?.namespace !== req.namespace,
  );
  for (const o of orphans) {
    await deps.client.delete(resourceOf(o), o.metadata?.namespace, o.metadata?.name ?? '', { uid: o.metadata?.uid });
    deps.onChild?.(o.kind ?? '', 'deleted');
    req.log.info({ child: childId(o) }, 'deleted a child of a deleted cluster');
  }
}

export async function reconcileCluster(deps: ReconcileDeps, req: ReconcileRequest): Promise<ReconcileResult> {
  const raw = deps.caches.get<RawCluster>(RESOURCE.cluster, req.namespace, req.name);
  if (!raw) {
    await cleanUpAfter(deps, req);
    return undefined;
  }
  // No finalizers: the operator holds no state outside the cluster's children.
  if (raw.metadata.deletionTimestamp) return undefined;
  const annotations = raw.metadata.annotations ?? {};
  if (annotations[ANNOTATION.reconcile] === 'disabled') {
    req.log.debug('reconcile disabled by annotation: leaving the cluster alone');
    return undefined;
  }
  const generation = raw.metadata.generation ?? 0;
  const byAnnotation = annotations[ANNOTATION.pauseReconciliation] === 'true';
  if (raw.spec?.paused === true || byAnnotation) {
    const reason = raw.spec?.paused === true ? 'SpecPaused' : 'AnnotationPaused';
    const message =
      reason === 'SpecPaused'
        ? 'spec.paused is true: children are left as they are'
        : `annotation ${ANNOTATION.pauseReconciliation}=true: children are left as they are`;
    const ctx = newCtx(deps, req, raw, generation);
    deps.recorder.normal(refOf(raw), 'ReconciliationPaused', 'Pause', message);
    await putStatus(ctx, computePausedStatus({ generation, now: now(ctx), previous: raw.status, reason, message }));
    return undefined;
  }
  const ctx = newCtx(deps, req, raw, generation);
  try {
    for (const step of STEPS) {
      const r = await step(ctx);
      if (r && 'stop' in r) return undefined;
      if (r) return r;
    }
  } finally {
    ctx.release();
  }
  return ctx.requeueAfterMs ? { requeueAfterMs: ctx.requeueAfterMs } : undefined;
}

function newCtx(deps: ReconcileDeps, req: ReconcileRequest, raw: RawCluster, generation: number): Ctx {
  return {
    deps,
    req,
    raw,
    generation,
    desired: [],
    policies: [],
    policyCount: 0,
    outcome: { kind: 'applied' },
    missingSecrets: [],
    live: new Map(),
    storeUnreachable: [],
    release: () => {},
  };
}
