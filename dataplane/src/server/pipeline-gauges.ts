// The gauges of the durable pipeline, refreshed by one timer: retained history, degraded and
// reset_required channels (from the history store's per-app stats), the ordering-gate queue
// depth per app, and the AI active-stream tracker. The last store answer also feeds the
// `history` block of /admin/status. A failed stats call keeps the previous values and marks the
// store unreachable; it never throws out of the timer.
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/registry.ts';
import { withTimeout } from '../stores/timeout.ts';
import type { HistoryHealth, PipelineStatus } from './admin-types.ts';
import type { StreamServices } from './engine-api.ts';

const STATS_EVERY_MS = 5000;

export interface RollupView {
  readonly activeStreams: number;
  readonly heldBytes: number;
  readonly pendingWindows: number;
}
const FAST_EVERY_MS = 1000;

export class PipelineGauges {
  readonly #s: StreamServices;
  readonly #m: Metrics;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #rollup: () => RollupView;
  #timer: NodeJS.Timeout | undefined;
  #lastStatsMs = 0;
  #reachable = true;
  #degraded = 0;
  #resetRequired = 0;
  readonly #apps = new Set<string>();
  readonly #lastDegraded = new Map<string, number>();
  readonly #queueApps = new Set<string>();
  #refreshing = false;

  constructor(streams: StreamServices, rollup: () => RollupView, metrics: Metrics, logger: Logger, timeoutMs: number) {
    this.#s = streams;
    this.#rollup = rollup;
    this.#m = metrics;
    this.#log = logger.child({ component: 'pipeline-gauges' });
    this.#timeoutMs = timeoutMs;
  }

  start(): void {
    if (this.#timer) return;
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), FAST_EVERY_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  health(): HistoryHealth {
    return {
      store: this.#s.stores.kind,
      reachable: this.#reachable,
      degradedChannels: this.#degraded,
      resetRequiredChannels: this.#resetRequired,
    };
  }

  pipeline(): PipelineStatus {
    const r = this.#rollup();
    return {
      queueDepth: this.#s.publisher.pending,
      rollupActiveStreams: r.activeStreams,
      rollupHeldBytes: r.heldBytes,
      rollupPendingWindows: r.pendingWindows,
    };
  }

  async refresh(): Promise<void> {
    if (this.#refreshing) return;
    this.#refreshing = true;
    try {
      this.#s.publisher.ai.sweep();
      const queues = this.#s.publisher.pendingByApp();
      for (const app of this.#queueApps) if (!queues.has(app)) this.#m.historyQueueDepth.set({ app_id: app }, 0);
      for (const [app, n] of queues) {
        this.#queueApps.add(app);
        this.#m.historyQueueDepth.set({ app_id: app }, n);
      }
      this.#overlayHints();
      const now = Date.now();
      // While the store is unreachable, retry (and report the hints) every tick.
      if (!this.#reachable || now - this.#lastStatsMs >= STATS_EVERY_MS) {
        this.#lastStatsMs = now;
        await this.#stats();
      }
    } finally {
      this.#refreshing = false;
    }
  }

  /**
   * The channels whose writes failed on this node because the store was unreachable count as
   * degraded, whatever the store last said (it could not record them itself).
   */
  #overlayHints(): void {
    const hints = this.#s.publisher.degradedHintsByApp();
    let degraded = 0;
    for (const app of new Set([...this.#lastDegraded.keys(), ...hints.keys()])) {
      this.#apps.add(app);
      const v = Math.max(this.#lastDegraded.get(app) ?? 0, hints.get(app) ?? 0);
      this.#m.historyDegradedChannels.set({ app_id: app }, v);
      degraded += v;
    }
    this.#degraded = degraded;
  }

  async #stats(): Promise<void> {
    try {
      const stats = await withTimeout(this.#s.stores.history.stats(), this.#timeoutMs, 'history stats');
      this.#reachable = true;
      let degraded = 0;
      let reset = 0;
      for (const [app, st] of Object.entries(stats.apps)) {
        this.#apps.add(app);
        const l = { app_id: app };
        this.#m.historyRetainedMessages.set(l, st.retainedMessages);
        this.#m.historyRetainedBytes.set(l, st.retainedBytes);
        this.#m.historyDegradedChannels.set(l, st.degradedChannels);
        this.#lastDegraded.set(app, st.degradedChannels);
        this.#m.historyResetRequiredChannels.set(l, st.resetRequiredChannels);
        degraded += st.degradedChannels;
        reset += st.resetRequiredChannels;
      }
      for (const app of this.#apps) {
        if (stats.apps[app]) continue;
        const l = { app_id: app };
        this.#m.historyRetainedMessages.set(l, 0);
        this.#m.historyRetainedBytes.set(l, 0);
        this.#m.historyDegradedChannels.set(l, 0);
        this.#m.historyResetRequiredChannels.set(l, 0);
      }
      this.#degraded = degraded;
      this.#resetRequired = reset;
      this.#overlayHints();
    } catch (err) {
      if (this.#reachable) this.#log.warn({ err }, 'history stats unavailable');
      this.#reachable = false;
    }
  }
}
