import { describe, expect, it } from 'vitest';
import { type EventObject, EventRecorder, type EventSink, type ObjectRef } from './events.ts';
import { FakeClock } from './fake-clock.ts';

class FakeSink implements EventSink {
  created: EventObject[] = [];
  patches: Array<{ name: string; count: number }> = [];
  failCreate = false;
  async create(e: EventObject) {
    if (this.failCreate) throw new Error('forbidden');
    this.created.push(e);
  }
  async patchSeries(_ns: string, name: string, series: { count: number }) {
    this.patches.push({ name, count: series.count });
  }
}

const ref: ObjectRef = {
  apiVersion: 'aitransport.io/v1alpha1',
  kind: 'AITransportCluster',
  name: 'demo',
  namespace: 'apps',
  uid: 'u1',
};

function setup() {
  const clock = new FakeClock();
  const sink = new FakeSink();
  const errors: unknown[] = [];
  const rec = new EventRecorder({
    sink,
    clock,
    controller: 'aitransport.io/operator',
    instance: 'op-1',
    minPatchIntervalMs: 30_000,
    aggregateWindowMs: 600_000,
    onError: (e) => errors.push(e),
  });
  return { clock, sink, rec, errors };
}

describe('EventRecorder', () => {
  it('creates an events.k8s.io/v1 Event with the regarding object and reporter', async () => {
    const { sink, rec } = setup();
    rec.warning(ref, 'InvalidSpec', 'Validate', 'spec.replicas: too many');
    await rec.flush();
    expect(sink.created).toHaveLength(1);
    expect(sink.created[0]).toMatchObject({
      type: 'Warning',
      reason: 'InvalidSpec',
      action: 'Validate',
      note: 'spec.replicas: too many',
      regarding: ref,
      reportingController: 'aitransport.io/operator',
      reportingInstance: 'op-1',
      metadata: { namespace: 'apps' },
    });
    expect(sink.created[0]?.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('aggregates repeats into one series, patched at most once per interval', async () => {
    const { clock, sink, rec } = setup();
    for (let i = 0; i < 5; i++) rec.warning(ref, 'ApplyFailed', 'Apply', 'StatefulSet demo: 500');
    await clock.advance(1);
    expect(sink.created).toHaveLength(1);
    expect(sink.patches).toEqual([]);
    await clock.advance(30_000);
    expect(sink.patches).toEqual([{ name: sink.created[0]?.metadata.name, count: 5 }]);
    rec.warning(ref, 'ApplyFailed', 'Apply', 'StatefulSet demo: 500');
    await rec.flush();
    expect(sink.patches.map((p) => p.count)).toEqual([5, 6]);
    // a different note is a different event
    rec.warning(ref, 'ApplyFailed', 'Apply', 'ConfigMap demo-config: 500');
    await rec.flush();
    expect(sink.created).toHaveLength(2);
  });

  it('starts a new Event after the aggregation window', async () => {
    const { clock, sink, rec } = setup();
    rec.normal(ref, 'Applied', 'Apply', 'created StatefulSet demo');
    await clock.advance(700_000);
    rec.normal(ref, 'Applied', 'Apply', 'created StatefulSet demo');
    await rec.flush();
    expect(sink.created).toHaveLength(2);
    expect(sink.patches).toEqual([]);
  });

  it('never throws when the API refuses the Event, and reports the error', async () => {
    const { sink, rec, errors } = setup();
    sink.failCreate = true;
    expect(() => rec.normal(ref, 'Applied', 'Apply', 'x')).not.toThrow();
    rec.normal(ref, 'Applied', 'Apply', 'x');
    await rec.flush();
    expect(errors).toHaveLength(1);
    expect(sink.patches).toEqual([]);
  });

  it('truncates long notes to the 1 kB API limit', async () => {
    const { sink, rec } = setup();
    rec.normal(ref, 'Applied', 'Apply', 'x'.repeat(5000));
    await rec.flush();
    expect(sink.created[0]?.note.length).toBe(1024);
  });
});
