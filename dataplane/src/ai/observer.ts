// AI Transport observability (PROTOCOL.md 7.4, 10): run lifecycle counters, cancel signals,
// streamed bytes, and the in-process tracker behind `ai_active_streams` and
// `ai_stream_duration_seconds`. It watches committed messages of AI channels; it decides nothing.
// The tracker is bounded: entries expire after the orphan TTL (a stream nobody ended), and the
// map holds at most `maxTracked` streams.
import type { Metrics } from '../metrics/registry.ts';
import type { ChannelMessage } from '../pipeline/message.ts';
import { isStreaming, transportStatus } from './validate.ts';

const RUN_END_REASONS = new Set(['complete', 'cancelled', 'error', 'suspended']);

function transport(extras: unknown): Record<string, unknown> | undefined {
  if (typeof extras !== 'object' || extras === null) return undefined;
  const ai = (extras as Record<string, unknown>)['ai'];
  if (typeof ai !== 'object' || ai === null) return undefined;
  const t = (ai as Record<string, unknown>)['transport'];
  return typeof t === 'object' && t !== null ? (t as Record<string, unknown>) : undefined;
}

interface Tracked {
  readonly appId: string;
  readonly startedMs: number;
  lastSeenMs: number;
}

export class AiObserver {
  readonly #metrics: Metrics;
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #maxTracked: number;
  /** Key: app \0 channel \0 message_serial, in insertion (≈ age) order. */
  readonly #streams = new Map<string, Tracked>();
  readonly #gauged = new Set<string>();

  constructor(opts: { metrics: Metrics; now: () => number; orphanTtlMs: number; maxTracked?: number }) {
    this.#metrics = opts.metrics;
    this.#now = opts.now;
    this.#ttlMs = opts.orphanTtlMs;
    this.#maxTracked = opts.maxTracked ?? 100_000;
  }

  validated(appId: string, event: string): void {
    this.#metrics.aiMessagesValidatedTotal.inc({ app_id: appId, event });
  }

  rejected(appId: string, aiCode: number): void {
    this.#metrics.aiMessagesRejectedTotal.inc({ app_id: appId, code: String(aiCode) });
  }

  /** A committed message of an AI channel. */
  committed(m: ChannelMessage): void {
    const labels = { app_id: m.appId };
    const event = m.kind === 'event' ? m.event : m.record.action === 'create' ? (m.record.name ?? '') : '';
    const extras = m.kind === 'event' ? m.extras : m.record.extras;
    const t = transport(extras);
    if (event === 'ai-run-start') this.#metrics.aiRunsStartedTotal.inc(labels);
    if (event === 'ai-turn-start') this.#metrics.aiTurnsStartedTotal.inc(labels);
    if (event === 'ai-cancel') this.#metrics.aiCancelSignalsTotal.inc(labels);
    if (event === 'ai-run-end' || event === 'ai-turn-end') {
      const raw = t?.[event === 'ai-run-end' ? 'run-reason' : 'turn-reason'] ?? t?.['run-reason'];
      const reason = typeof raw === 'string' && RUN_END_REASONS.has(raw) ? raw : 'unknown';
      const counter = event === 'ai-run-end' ? this.#metrics.aiRunsEndedTotal : this.#metrics.aiTurnsEndedTotal;
      counter.inc({ ...labels, reason });
    }
    if (m.kind !== 'version') return;
    const r = m.record;
    if (r.action === 'append' && r.fragment)
      this.#metrics.aiStreamBytesTotal.inc(labels, Buffer.byteLength(r.fragment));
    const key = `${m.appId}\u0000${m.channel}\u0000${r.message_serial}`;
    const now = this.#now();
    const tracked = this.#streams.get(key);
    if (isStreaming(r.extras)) {
      if (tracked) tracked.lastSeenMs = now;
      else {
        this.#streams.set(key, { appId: m.appId, startedMs: now, lastSeenMs: now });
        while (this.#streams.size > this.#maxTracked) this.#streams.delete(this.#streams.keys().next().value as string);
      }
    } else if (tracked && transportStatus(r.extras) !== undefined) {
      this.#streams.delete(key);
      this.#metrics.aiStreamDurationSeconds.observe(labels, (now - tracked.startedMs) / 1000);
    }
  }

  /** Expires streams idle past the orphan TTL and sets the gauge (call about once a second). */
  sweep(): void {
    const cutoff = this.#now() - this.#ttlMs;
    const counts = new Map<string, number>();
    for (const [key, s] of this.#streams) {
      if (s.lastSeenMs <= cutoff) {
        this.#streams.delete(key);
        continue;
      }
      counts.set(s.appId, (counts.get(s.appId) ?? 0) + 1);
    }
    for (const app of this.#gauged) if (!counts.has(app)) this.#metrics.aiActiveStreams.set({ app_id: app }, 0);
    for (const [app, n] of counts) {
      this.#gauged.add(app);
      this.#metrics.aiActiveStreams.set({ app_id: app }, n);
    }
  }

  get tracked(): number {
    return this.#streams.size;
  }
}
