// Kubernetes Events (events.k8s.io/v1) for what the operator does. Repeats of the same event
// (same object, type, reason and note) within the aggregation window become one Event whose
// `series` counts them, patched at most once per patch interval, so a reconcile that keeps
// failing produces one Event with a growing count, not one per attempt. Recording never throws
// and never blocks a reconcile: Events are best effort, like client-go's recorder.
import { type Clock, microTime } from './clock.ts';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

export interface EventObject {
  apiVersion: 'events.k8s.io/v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  regarding: ObjectRef;
  note: string;
  type: 'Normal' | 'Warning';
  series?: { count: number; lastObservedTime: string };
}

/** Where Events go (the KubeClient in production). */
export interface EventSink {
  create(e: EventObject): Promise<void>;
  patchSeries(namespace: string, name: string, series: { count: number; lastObservedTime: string }): Promise<void>;
}

export interface EventRecorderOptions {
  readonly sink: EventSink;
  readonly clock: Clock;
  /** reportingController, e.g. `aitransport.io/operator`. */
  readonly controller: string;
  /** reportingInstance: this replica's identity. */
  readonly instance: string;
  /** Repeats closer than this are counted into one Event. */
  readonly aggregateWindowMs?: number;
  /** Least time between two series patches of one Event. */
  readonly minPatchIntervalMs?: number;
  /** Most distinct events tracked for aggregation (oldest dropped first). */
  readonly maxTracked?: number;
  readonly onError?: (err: unknown, e: EventObject) => void;
}

interface Tracked {
  event: EventObject;
  count: number;
  lastSeen: number;
  lastWritten: number;
  written: number;
  created: Promise<boolean>;
  flushTimer?: () => void;
}

const NOTE_MAX = 1024;

export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #tracked = new Map<string, Tracked>();
  readonly #inflight = new Set<Promise<unknown>>();
  #seq = 0;

  constructor(o: EventRecorderOptions) {
    this.#o = o;
  }

  get #window(): number {
    return this.#o.aggregateWindowMs ?? 10 * 60_000;
  }
  get #patchInterval(): number {
    return this.#o.minPatchIntervalMs ?? 30_000;
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
    return p;
  }

  normal(regarding: ObjectRef, reason: string, action: string, note: string): void {
    this.record(regarding, 'Normal', reason, action, note);
  }

  warning(regarding: ObjectRef, reason: string, action: string, note: string): void {
    this.record(regarding, 'Warning', reason, action, note);
  }

  record(regarding: ObjectRef, type: 'Normal' | 'Warning', reason: string, action: string, note: string): void {
    const now = this.#o.clock.now();
    const text = note.length > NOTE_MAX ? `${note.slice(0, NOTE_MAX - 1)}…` : note;
    const key = [
      regarding.namespace,
      regarding.kind,
      regarding.name,
      regarding.uid ?? '',
      type,
      reason,
      action,
      text,
    ].join('\u0000');
    const known = this.#tracked.get(key);
    if (known && now - known.lastSeen < this.#window) {
      known.count++;
      known.lastSeen = now;
      this.#tracked.delete(key); // re-insert: the map's order is the LRU order
      this.#tracked.set(key, known);
      this.#schedulePatch(known);
      return;
    }
    if (known) {
      known.flushTimer?.();
      this.#tracked.delete(key);
    }
    const event: EventObject = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: {
        name: `${regarding.name}.${now.toString(16)}${(this.#seq++ % 4096).toString(16).padStart(3, '0')}`,
        namespace: regarding.namespace,
      },
      eventTime: microTime(now),
      reportingController: this.#o.controller,
      reportingInstance: this.#o.instance.slice(0, 128),
      action,
      reason,
      regarding,
      note: text,
      type,
    };
    const created = this.#track(
      this.#o.sink.create(event).then(
        () => true,
        (err: unknown) => {
          this.#o.onError?.(err, event);
          return false;
        },
      ),
    );
    this.#tracked.set(key, { event, count: 1, lastSeen: now, lastWritten: now, written: 1, created });
    const max = this.#o.maxTracked ?? 1024;
    while (this.#tracked.size > max) {
      const [oldestKey, oldest] = this.#tracked.entries().next().value as [string, Tracked];
      oldest.flushTimer?.();
      this.#tracked.delete(oldestKey);
    }
  }

  #schedulePatch(t: Tracked): void {
    if (t.flushTimer) return;
    const wait = Math.max(0, t.lastWritten + this.#patchInterval - this.#o.clock.now());
    t.flushTimer = this.#o.clock.setTimer(() => {
      t.flushTimer = undefined;
      void this.#patch(t);
    }, wait);
  }

  #patch(t: Tracked): Promise<void> {
    if (t.count === t.written) return Promise.resolve();
    const count = t.count;
    const series = { count, lastObservedTime: microTime(t.lastSeen) };
    t.written = count;
    t.lastWritten = this.#o.clock.now();
    return this.#track(
      t.created.then(async (ok) => {
        if (!ok) return;
        try {
          await this.#o.sink.patchSeries(t.event.metadata.namespace, t.event.metadata.name, series);
        } catch (err) {
          this.#o.onError?.(err, t.event);
        }
      }),
    );
  }

  /** Writes pending series counts and waits for every write in flight (on shutdown). */
  async flush(): Promise<void> {
    for (const t of this.#tracked.values()) {
      t.flushTimer?.();
      t.flushTimer = undefined;
      void this.#patch(t);
    }
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }
}
