// The orphan janitor (PROTOCOL.md 7.5): a streaming AI message whose producer died never gets
// its terminal status, so subscribers would wait forever. Every node scans the active-stream
// registry for entries idle past the orphan TTL; each entry is claimed first (set-if-absent with
// a TTL: one claimant cluster-wide, STANDARDS C6), the latest version is re-read (a producer
// that moved on is not cancelled: the entry is refreshed), and only then is a normal
// `message.update` committed with `status=cancelled`, `error-code=orphan_timeout`. Bounded work
// per pass; every failure is counted and logged, never thrown out of the timer (F5).
import type { Logger } from 'pino';
import type { VersionStore } from '../history/version-store.ts';
import type { Extras } from '../messages/model.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { ChannelPublisher } from '../pipeline/publisher.ts';
import { withTimeout } from '../stores/timeout.ts';
import {
  type ActiveStreamEntry,
  type ActiveStreamRegistry,
  type ClaimStore,
  orphanClaimName,
} from '../stores/types.ts';
import { isStreaming } from './validate.ts';

export const ORPHAN_CLAIM_TTL_MS = 120_000;
/** Entries one pass examines (PROTOCOL.md 7.5: one page of 4096). */
export const JANITOR_PAGE = 4096;

export interface JanitorDeps {
  readonly nodeId: string;
  readonly now: () => number;
  readonly registry: ActiveStreamRegistry;
  readonly claims: ClaimStore;
  readonly versions: VersionStore;
  readonly publisher: ChannelPublisher;
  readonly orphanTtlMs: number;
  readonly intervalMs: number;
  readonly storeTimeoutMs: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export interface JanitorReport {
  examined: number;
  claimed: number;
  cancelled: number;
  refreshed: number;
  removed: number;
  failed: number;
}

/** The extras of the cancelling update: the stream's own, with the orphan status (7.5). */
export function orphanExtras(current: Extras | undefined): Extras {
  const base = (current ?? {}) as Record<string, unknown>;
  const ai = (typeof base['ai'] === 'object' && base['ai'] !== null ? base['ai'] : {}) as Record<string, unknown>;
  const transport = (typeof ai['transport'] === 'object' && ai['transport'] !== null ? ai['transport'] : {}) as Record<
    string,
    unknown
  >;
  return {
    ...base,
    ai: {
      ...ai,
      transport: {
        ...transport,
        status: 'cancelled',
        'error-code': 'orphan_timeout',
        'error-message': 'stream cancelled after orphan timeout',
      },
    },
  };
}

export class OrphanJanitor {
  readonly #d: JanitorDeps;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<JanitorReport> | undefined;

  constructor(deps: JanitorDeps) {
    this.#d = deps;
    this.#log = deps.logger.child({ component: 'orphan-janitor' });
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.runOnce(), this.#d.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One pass; a pass still running is returned instead of starting another. */
  runOnce(): Promise<JanitorReport> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #call<T>(what: string, p: Promise<T>): Promise<T> {
    return withTimeout(p, this.#d.storeTimeoutMs, what);
  }

  async #pass(): Promise<JanitorReport> {
    const report: JanitorReport = { examined: 0, claimed: 0, cancelled: 0, refreshed: 0, removed: 0, failed: 0 };
    const d = this.#d;
    let idle: ActiveStreamEntry[];
    try {
      idle = await this.#call('active-stream scan', d.registry.listIdle(d.now() - d.orphanTtlMs, JANITOR_PAGE));
    } catch (err) {
      this.#log.warn({ err }, 'active-stream scan failed');
      d.metrics.aiJanitorFailuresTotal.inc({ step: 'scan' });
      report.failed++;
      return report;
    }
    for (const entry of idle) {
      report.examined++;
      try {
        await this.#handle(entry, report);
      } catch (err) {
        report.failed++;
        d.metrics.aiJanitorFailuresTotal.inc({ step: 'cancel' });
        this.#log.warn({ err, appId: entry.appId }, 'orphan janitor could not handle a stream');
      }
    }
    if (report.cancelled > 0 || report.failed > 0) this.#log.info(report, 'orphan janitor pass');
    return report;
  }

  async #handle(entry: ActiveStreamEntry, report: JanitorReport): Promise<void> {
    const d = this.#d;
    const { appId, channel, messageSerial } = entry;
    const owner = `${d.nodeId}:${d.now()}`;
    const claim = await this.#call(
      'orphan claim',
      d.claims.tryClaim(appId, orphanClaimName(channel, messageSerial), owner, ORPHAN_CLAIM_TTL_MS),
    );
    if (!claim.claimed) return;
    report.claimed++;
    // Re-read before acting: the producer may have moved on since the scan.
    const latest = await this.#call('latest read', d.versions.latest(appId, channel, messageSerial));
    if (!latest || !isStreaming(latest.latest.extras)) {
      await this.#call('active-stream remove', d.registry.remove(appId, channel, messageSerial));
      report.removed++;
      return;
    }
    const v = latest.latest;
    if (v.version_serial !== entry.versionSerial || v.delivery_serial !== entry.deliverySerial) {
      await this.#call(
        'active-stream refresh',
        d.registry.upsert(
          {
            appId,
            channel,
            messageSerial,
            versionSerial: v.version_serial,
            historySerial: v.history_serial,
            deliverySerial: v.delivery_serial,
          },
          Math.ceil((2 * d.orphanTtlMs) / 1000) * 1000 + 60_000,
        ),
      );
      report.refreshed++;
      return;
    }
    await d.publisher.mutate({
      appId,
      channel,
      messageSerial,
      mutation: {
        action: 'update',
        extras: orphanExtras(v.extras),
        description: 'AI stream orphan timeout',
        metadata: { system: 'ai_transport_orphan_janitor', reason: 'orphan_timeout' },
      },
      actor: { privileged: true },
    });
    report.cancelled++;
    d.metrics.aiOrphansCancelledTotal.inc({ app_id: appId });
    this.#log.info({ appId, messageSerial }, 'orphaned stream cancelled');
  }
}
