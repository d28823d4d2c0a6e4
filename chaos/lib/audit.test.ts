import { describe, expect, it } from 'vitest';
import {
  auditLossySubscriber,
  auditStream,
  auditSubscriber,
  firstSerialAnomaly,
  type StreamFacts,
  type SubscriberFacts,
} from './audit.ts';

const stream: StreamFacts = { acknowledged: 'a b c ', stored: 'a b c ', lastSerial: 5, firstSerial: 1 };
const sub = (over: Partial<SubscriberFacts> = {}): SubscriberFacts => ({
  name: 's',
  serials: [1, 2, 3, 4, 5],
  text: 'a b c ',
  window: 0,
  recoveries: [],
  ...over,
});

describe('chaos audits', () => {
  it('pass a clean run', () => {
    expect(auditStream(stream)).toEqual([]);
    expect(auditSubscriber(sub(), stream)).toEqual([]);
  });

  it('catch a transcript mismatch, with where it differs', () => {
    const [f] = auditSubscriber(sub({ text: 'a c ' }), stream);
    expect(f).toMatch(/transcript mismatch.*first difference at 2/);
    expect(auditStream({ ...stream, stored: 'a b ' })[0]).toMatch(/GET latest differs/);
  });

  it('catch serials going back, a gap at window 0, and a short stream', () => {
    expect(auditSubscriber(sub({ serials: [1, 2, 2, 3, 4, 5] }), stream)[0]).toMatch(/not strictly increasing/);
    expect(auditSubscriber(sub({ serials: [1, 2, 4, 5] }), stream)[0]).toMatch(/gap 2 → 4/);
    expect(auditSubscriber(sub({ serials: [1, 2, 3] }), stream)[0]).toMatch(/ended at serial 3/);
  });

  it('allow skipped serials with a rollup window, never going back', () => {
    expect(auditSubscriber(sub({ window: 40, serials: [1, 3, 5] }), stream)).toEqual([]);
    expect(auditSubscriber(sub({ window: 40, serials: [1, 5, 3, 5] }), stream)).not.toEqual([]);
  });

  it('fail a failed recovery unless the scenario expects that code', () => {
    const rec = sub({ recoveries: [{ result: 'failed', code: 'stream_reset', atSerial: 3 }] });
    expect(auditSubscriber(rec, stream)[0]).toMatch(/recovery at serial 3 failed \(stream_reset\)/);
    expect(auditSubscriber(rec, stream, { allowedRecoveryFailures: ['stream_reset'] })).toEqual([]);
  });

  it('after a lossy fault: a prefix of what was acknowledged is fine, anything else is not', () => {
    expect(auditLossySubscriber(sub({ text: 'a b ', serials: [1, 2, 3] }), 'a b c ')).toEqual([]);
    expect(auditLossySubscriber(sub({ text: 'a x ' }), 'a b c ')[0]).toMatch(/never acknowledged/);
    expect(auditLossySubscriber(sub({ serials: [1, 3, 2] }), 'a b c ')[0]).toMatch(/not strictly increasing/);
    const failed = sub({ recoveries: [{ result: 'failed', code: 'stream_reset', atSerial: 3 }] });
    expect(auditLossySubscriber(failed, 'a b c ', { allowedRecoveryFailures: ['stream_reset'] })).toEqual([]);
    expect(auditLossySubscriber(failed, 'a b c ')).toHaveLength(1);
  });

  it('finds the first serial anomaly', () => {
    expect(firstSerialAnomaly([1, 2, 3], 0)).toBeUndefined();
    expect(firstSerialAnomaly([1, 2, 4], 0)).toBe(2);
    expect(firstSerialAnomaly([1, 2, 4], 40)).toBeUndefined();
    expect(firstSerialAnomaly([1, 3, 3], 40)).toBe(2);
  });
});
