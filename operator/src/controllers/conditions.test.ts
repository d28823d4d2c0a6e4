import { describe, expect, it } from 'vitest';
import { setConditions } from './conditions.ts';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:05:00Z';

describe('setConditions', () => {
  it('keeps lastTransitionTime while the status stays, moves it when the status flips', () => {
    const first = setConditions(
      undefined,
      [{ type: 'Ready', status: 'False', reason: 'PodsNotReady', message: '0/1' }],
      1,
      T0,
    );
    const same = setConditions(
      first,
      [{ type: 'Ready', status: 'False', reason: 'RollingUpdate', message: 'x' }],
      2,
      T1,
    );
    expect(same[0]).toMatchObject({ lastTransitionTime: T0, reason: 'RollingUpdate', observedGeneration: 2 });
    const flipped = setConditions(
      same,
      [{ type: 'Ready', status: 'True', reason: 'AllPodsReady', message: '' }],
      2,
      T1,
    );
    expect(flipped[0]?.lastTransitionTime).toBe(T1);
  });

  it('writes exactly the updates in order, or keeps the other types in place with keepOthers', () => {
    const prev = setConditions(
      undefined,
      [
        { type: 'A', status: 'True', reason: 'R', message: '' },
        { type: 'B', status: 'True', reason: 'R', message: '' },
        { type: 'C', status: 'True', reason: 'R', message: '' },
      ],
      1,
      T0,
    );
    const update = [{ type: 'B', status: 'False' as const, reason: 'S', message: 'm' }];
    expect(setConditions(prev, update, 2, T1).map((c) => c.type)).toEqual(['B']);
    const kept = setConditions(prev, [...update, { type: 'D', status: 'True', reason: 'R', message: '' }], 2, T1, true);
    expect(kept.map((c) => `${c.type}:${c.status}:${c.observedGeneration}`)).toEqual([
      'A:True:1',
      'B:False:2',
      'C:True:1',
      'D:True:2',
    ]);
  });

  it('caps long messages', () => {
    const [c] = setConditions(
      undefined,
      [{ type: 'Stalled', status: 'True', reason: 'InvalidSpec', message: 'x'.repeat(10_000) }],
      1,
      T0,
    );
    expect(c?.message.length).toBe(4096);
  });
});
