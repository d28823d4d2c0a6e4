// Runs the controllers: informers (on every replica, so a new leader starts with warm caches),
// the mapping of watch events to work-queue keys, the monitoring discovery, and — only while
// this replica leads — the work queue, N workers and the periodic resync.
//
//   event on AITransportCluster  → that cluster + its ChannelPolicies (their status depends on it)
//   event on ChannelPolicy       → that policy + its cluster (policies render into its ConfigMap)
//   event on a child             → its owning cluster (+ the cluster's policies for the ConfigMap)
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { LABEL, LABEL_VALUE } from '../api/labels.ts';
import { CHANNEL_POLICY_KIND } from '../api/v1alpha1/channelpolicy.ts';
import { CLUSTER_KIND } from '../api/v1alpha1/cluster.ts';
import type { AdminApi } from '../dataplane/admin-client.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Clock } from '../kube/clock.ts';
import { discoverMonitoring, type MonitoringFacts } from '../kube/discovery.ts';
import { errorMessage } from '../kube/errors.ts';
import { clientSource, Informer } from '../kube/informer.ts';
import { RESOURCE, type ResourceType } from '../kube/resources.ts';
import type { OperatorMetrics } from '../process/metrics.ts';
import type { ObservedFacts, OperatorIdentity } from '../render/facts.ts';
import type { KubeObject } from '../render/meta.ts';
import { reconcileCluster } from './cluster-reconcile.ts';
import type { Caches, OperationMetrics, ReconcileDeps, Recorder } from './context.ts';
import { keyOf, ownerCluster, parseKey, podCluster } from './keys.ts';
import { OperationLocks } from './locks.ts';
import { clusterRefOf } from './parse.ts';
import { reconcilePolicy } from './policy-reconcile.ts';
import { WorkQueue } from './workqueue.ts';

export interface ManagerOptions {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: OperatorMetrics;
  readonly recorder: Recorder;
  readonly operator: OperatorIdentity;
  /** Empty: every namespace. */
  readonly watchNamespaces: readonly string[];
  readonly concurrency: number;
  readonly resyncMs: number;
  readonly random?: () => number;
  /** How long shutdown waits for reconciles in flight. */
  readonly drainTimeoutMs?: number;
  /** The data planes' admin API (drains, health, resets). */
  readonly admin?: AdminApi;
}

/** Children watched on every replica, filtered by the managed-by label. */
const CHILD_WATCHES: readonly ResourceType[] = [
  RESOURCE.configMap,
  RESOURCE.secret,
  RESOURCE.serviceAccount,
  RESOURCE.service,
  RESOURCE.networkPolicy,
  RESOURCE.statefulSet,
  RESOURCE.podDisruptionBudget,
  // the data-plane (and managed Redis) pods: readiness and revisions drive the rollout
  RESOURCE.pod,
];
const MONITORING: ReadonlyArray<readonly [keyof MonitoringFacts, ResourceType]> = [
  ['serviceMonitors', RESOURCE.serviceMonitor],
  ['prometheusRules', RESOURCE.prometheusRule],
];
const MANAGED_BY = `${LABEL.managedBy}=${LABEL_VALUE.managedBy}`;

export class Manager implements Caches {
  readonly #o: ManagerOptions;
  /** Informers by resource plural; one per watched namespace ('' = all). */
  readonly #informers = new Map<string, Informer<KubeObject>[]>();
  /** Informers whose first list gates readiness. */
  readonly #core: Informer<KubeObject>[] = [];
  #monitoring: MonitoringFacts = { serviceMonitors: false, prometheusRules: false };
  #discovered = false;
  #queue: WorkQueue | undefined;
  #stopDiscovery = new AbortController();
  #discoveryLoop: Promise<void> | undefined;
  readonly #locks = new OperationLocks();

  constructor(o: ManagerOptions) {
    this.#o = o;
  }

  // ---------------------------------------------------------------- caches

  #scopes(): string[] {
    return this.#o.watchNamespaces.length ? [...this.#o.watchNamespaces] : [''];
  }

  covers(t: ResourceType, namespace: string): boolean {
    const list = this.#informers.get(t.plural);
    return !!list && (this.#o.watchNamespaces.length === 0 || this.#o.watchNamespaces.includes(namespace));
  }

  get<T extends KubeObject>(t: ResourceType, namespace: string | undefined, name: string): T | undefined {
    for (const inf of this.#informers.get(t.plural) ?? []) {
      const o = inf.get(namespace, name);
      if (o) return o as T;
    }
    return undefined;
  }

  list<T extends KubeObject>(t: ResourceType, namespace?: string): T[] {
    return (this.#informers.get(t.plural) ?? []).flatMap((inf) => inf.list(namespace)) as T[];
  }

  facts(): ObservedFacts {
    return { partition: 0, monitoring: this.#monitoring, operator: this.#o.operator };
  }

  // ---------------------------------------------------------------- informers

  #startInformer(t: ResourceType, labelSelector: string | undefined, core: boolean): void {
    const list: Informer<KubeObject>[] = [];
    for (const ns of this.#scopes()) {
      const scope = { ...(ns ? { namespace: ns } : {}), ...(labelSelector ? { labelSelector } : {}) };
      const inf = new Informer<KubeObject>(
        `${t.plural}${ns ? ` in ${ns}` : ''}`,
        clientSource(this.#o.client, t, scope),
        {
          clock: this.#o.clock,
          ...(this.#o.random ? { random: this.#o.random } : {}),
          onRestart: (reason, err, delayMs, consecutive) => {
            this.#o.metrics.watchRestarts.inc({ resource: t.plural, reason });
            if (reason === 'gone') {
              this.#o.logger.debug({ resource: t.plural }, 'watch expired (410): relisting');
              return;
            }
            // An API-server restart fails every watch at once: one warning each, then quiet
            // until the outage lasts (10 failures in a row: minutes, with the backoff cap).
            const level = consecutive >= 10 ? 'error' : consecutive === 1 ? 'warn' : 'debug';
            this.#o.logger[level](
              { resource: t.plural, error: errorMessage(err), retryInMs: delayMs, consecutive },
              'watch failed; retrying',
            );
          },
          onHandlerError: (err) => this.#o.logger.error({ error: errorMessage(err) }, 'informer handler failed'),
        },
      );
      inf.onEvent((type, obj, old) => this.#onEvent(t, type, obj, old));
      list.push(inf);
      if (core) this.#core.push(inf);
      inf.start();
    }
    this.#informers.set(t.plural, list);
  }

  async #stopInformer(t: ResourceType): Promise<void> {
    const list = this.#informers.get(t.plural) ?? [];
    this.#informers.delete(t.plural);
    await Promise.all(list.map((i) => i.stop()));
  }

  /** Starts every informer and the discovery loop (all replicas). */
  start(): void {
    this.#startInformer(RESOURCE.cluster, undefined, true);
    this.#startInformer(RESOURCE.channelPolicy, undefined, true);
    for (const t of CHILD_WATCHES) this.#startInformer(t, MANAGED_BY, true);
    this.#stopDiscovery = new AbortController();
    this.#discoveryLoop = this.#discover(this.#stopDiscovery.signal);
  }

  /** The CR and child caches hold their first list (and discovery ran once). */
  synced(): boolean {
    return this.#discovered && this.#core.every((i) => i.hasSynced());
  }

  async whenSynced(signal?: AbortSignal): Promise<void> {
    while (!this.synced() && !signal?.aborted) await this.#o.clock.sleep(100, signal);
  }

  async #refreshDiscovery(): Promise<void> {
    let found: MonitoringFacts;
    try {
      found = await discoverMonitoring(this.#o.client);
    } catch (err) {
      this.#o.logger.warn(
        { error: errorMessage(err) },
        'discovery of the monitoring APIs failed; keeping the last answer',
      );
      this.#discovered = true;
      return;
    }
    this.#discovered = true;
    let changed = false;
    for (const [fact, t] of MONITORING) {
      if (found[fact] === this.#monitoring[fact]) continue;
      changed = true;
      if (found[fact]) this.#startInformer(t, MANAGED_BY, false);
      else await this.#stopInformer(t);
    }
    if (changed) {
      this.#o.logger.info({ monitoring: found }, 'monitoring APIs changed');
      this.#monitoring = found;
      this.#enqueueAll();
    }
  }

  async #discover(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.#refreshDiscovery();
      await this.#o.clock.sleep(this.#o.resyncMs, signal);
    }
  }

  async stop(): Promise<void> {
    this.#stopDiscovery.abort();
    await this.#discoveryLoop;
    await Promise.all([...this.#informers.values()].flat().map((i) => i.stop()));
    this.#informers.clear();
  }

  // ---------------------------------------------------------------- events → keys

  #add(key: string): void {
    this.#queue?.add(key);
  }

  #addPoliciesOf(namespace: string, cluster: string): void {
    for (const p of this.list(RESOURCE.channelPolicy, namespace)) {
      if (clusterRefOf(p) === cluster) this.#add(keyOf(CHANNEL_POLICY_KIND, namespace, p.metadata?.name ?? ''));
    }
  }

  #onEvent(t: ResourceType, _type: string, obj: KubeObject, old: KubeObject | undefined): void {
    if (!this.#queue) return;
    const ns = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    if (t === RESOURCE.cluster) {
      this.#add(keyOf(CLUSTER_KIND, ns, name));
      this.#addPoliciesOf(ns, name);
      return;
    }
    if (t === RESOURCE.channelPolicy) {
      this.#add(keyOf(CHANNEL_POLICY_KIND, ns, name));
      for (const ref of new Set([clusterRefOf(obj), old ? clusterRefOf(old) : undefined])) {
        if (ref) this.#add(keyOf(CLUSTER_KIND, ns, ref));
      }
      return;
    }
    const owner = t === RESOURCE.pod ? podCluster(obj) : ownerCluster(obj);
    if (!owner) return;
    this.#add(keyOf(CLUSTER_KIND, owner.namespace, owner.name));
    if (t === RESOURCE.configMap) this.#addPoliciesOf(owner.namespace, owner.name);
  }

  #enqueueAll(): void {
    if (!this.#queue) return;
    for (const c of this.list(RESOURCE.cluster)) {
      this.#add(keyOf(CLUSTER_KIND, c.metadata?.namespace ?? '', c.metadata?.name ?? ''));
    }
    for (const p of this.list(RESOURCE.channelPolicy)) {
      this.#add(keyOf(CHANNEL_POLICY_KIND, p.metadata?.namespace ?? '', p.metadata?.name ?? ''));
    }
    // Children of deleted clusters in other namespaces (no ownerReference): their owner key
    // runs the clean-up path.
    for (const t of [RESOURCE.serviceMonitor, RESOURCE.prometheusRule]) {
      for (const o of this.list(t)) {
        const owner = ownerCluster(o);
        if (owner && !(o.metadata?.ownerReferences ?? []).length)
          this.#add(keyOf(CLUSTER_KIND, owner.namespace, owner.name));
      }
    }
  }

  // ---------------------------------------------------------------- workers (leader only)

  readonly #operationMetrics: OperationMetrics = {
    rollout: (ns, cluster, o) => {
      const labels = { cluster_namespace: ns, cluster };
      this.#o.metrics.rolloutStalled.set(labels, o.stalled ? 1 : 0);
      this.#o.metrics.rolloutStep.set(labels, o.step);
    },
    rolloutAction: (ns, cluster, action) =>
      this.#o.metrics.rolloutActions.inc({ cluster_namespace: ns, cluster, action }),
    resetChannels: (ns, cluster, result, count) =>
      this.#o.metrics.resetChannels.inc({ cluster_namespace: ns, cluster, result }, count),
    resetStalled: (ns, cluster, policy, stalled) =>
      this.#o.metrics.resetStalled.set({ cluster_namespace: ns, cluster, policy }, stalled ? 1 : 0),
    forgetCluster: (ns, cluster) => {
      const m = this.#o.metrics;
      for (const g of [m.rolloutStalled, m.rolloutStep]) g.remove({ cluster_namespace: ns, cluster });
    },
  };

  #deps(): ReconcileDeps {
    return {
      client: this.#o.client,
      caches: this,
      recorder: this.#o.recorder,
      clock: this.#o.clock,
      facts: () => this.facts(),
      resyncMs: this.#o.resyncMs,
      onChild: (kind, action) => this.#o.metrics.childApplies.inc({ kind, action }),
      ...(this.#o.admin ? { admin: this.#o.admin } : {}),
      operations: this.#locks,
      metrics: this.#operationMetrics,
    };
  }

  async #process(q: WorkQueue, key: string): Promise<void> {
    const { kind, namespace, name } = parseKey(key);
    const reconcileId = randomUUID().slice(0, 8);
    const log = this.#o.logger.child({ kind, namespace, name, reconcileId });
    const m = this.#o.metrics;
    const end = m.reconcileDuration.startTimer({ kind });
    try {
      const req = { namespace, name, log };
      const r =
        kind === CLUSTER_KIND ? await reconcileCluster(this.#deps(), req) : await reconcilePolicy(this.#deps(), req);
      q.forget(key);
      if (r) {
        q.addAfter(key, r.requeueAfterMs);
        m.reconcileTotal.inc({ kind, result: 'requeue_after' });
      } else {
        m.reconcileTotal.inc({ kind, result: 'success' });
      }
    } catch (err) {
      const failures = q.failures(key);
      const delay = q.addRateLimited(key);
      const cluster =
        kind === CLUSTER_KIND ? name : (clusterRefOf(this.get(RESOURCE.channelPolicy, namespace, name) ?? {}) ?? '');
      m.reconcileErrors.inc({ kind, cluster_namespace: namespace, cluster });
      m.reconcileTotal.inc({ kind, result: 'error' });
      log[failures >= 3 ? 'error' : 'warn'](
        { error: errorMessage(err), retryInMs: delay, failures: failures + 1 },
        'reconcile failed',
      );
    } finally {
      end();
      q.done(key);
    }
  }

  async #worker(q: WorkQueue): Promise<void> {
    for (;;) {
      const key = await q.get();
      if (key === undefined) return;
      await this.#process(q, key);
    }
  }

  /**
   * The leader's work: queue every object, run the workers and resync every resyncMs, until
   * `signal` aborts; then stop handing out keys and wait (bounded) for reconciles in flight.
   */
  async run(signal: AbortSignal): Promise<void> {
    await this.whenSynced(signal);
    if (signal.aborted) return;
    const q = new WorkQueue({ clock: this.#o.clock, onDepth: (d) => this.#o.metrics.workqueueDepth.set(d) });
    this.#queue = q;
    this.#enqueueAll();
    const workers = Array.from({ length: this.#o.concurrency }, () => this.#worker(q));
    this.#o.logger.info(
      { concurrency: this.#o.concurrency, resyncSeconds: this.#o.resyncMs / 1000 },
      'workers started',
    );
    while (!signal.aborted) {
      await this.#o.clock.sleep(this.#o.resyncMs, signal);
      if (!signal.aborted) this.#enqueueAll();
    }
    this.#queue = undefined;
    q.shutDown();
    const drained = await Promise.race([
      Promise.all(workers).then(() => true),
      this.#o.clock.sleep(this.#o.drainTimeoutMs ?? 15_000).then(() => false),
    ]);
    this.#o.logger.info({ drained }, 'workers stopped');
  }
}
