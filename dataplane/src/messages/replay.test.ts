import { describe, expect, it } from 'vitest';
import type { Aggregate, VersionRecord } from './model.ts';
import { coalesceAppendRuns, fullModeData } from './replay.ts';

let serial = 0;
function v(ms: string, action: VersionRecord['action'], fields: Partial<VersionRecord> = {}): VersionRecord {
  serial++;
  return {
    action,
    message_serial: ms,
    version_serial: `${ms}-${String(serial).padStart(4, '0')}`,
    history_serial: 1,
    delivery_serial: serial,
    timestamp_ms: serial,
    ...fields,
  };
}
const agg = (latest: VersionRecord): Aggregate => ({ latest, append_count: 0, data_bytes: 0 });

describe('fullModeData', () => {
  it('gives every append the aggregate as of its own version, derived back from the latest', () => {
    const versions = [
      v('A', 'append', { fragment: 'b' }),
      v('A', 'append', { fragment: 'c' }),
      v('A', 'append', { fragment: 'd', data: 'abcd' }),
    ];
    expect(fullModeData(versions, new Map([['A', agg(versions[2] as VersionRecord)]]))).toEqual(['ab', 'abc', 'abcd']);
  });

  it('keeps messages apart and leaves creates and updates with their own data', () => {
    const versions = [
      v('A', 'create', { data: '' }),
      v('B', 'append', { fragment: '2' }),
      v('A', 'append', { fragment: 'x' }),
      v('B', 'update', { data: 'new' }),
      v('B', 'append', { fragment: '!' }),
      v('A', 'append', { fragment: 'y' }),
    ];
    const latest = new Map([
      ['A', agg({ ...(versions[5] as VersionRecord), data: 'xy' })],
      ['B', agg({ ...(versions[4] as VersionRecord), data: 'new!' })],
    ]);
    // B's append before the update cannot be derived backwards past it: it gets B's latest.
    expect(fullModeData(versions, latest)).toEqual(['', 'new!', 'x', 'new', 'new!', 'xy']);
  });

  it('falls back to the latest aggregate when the latest is ahead of the page', () => {
    const versions = [v('A', 'append', { fragment: 'b' }), v('A', 'append', { fragment: 'c' })];
    const ahead = agg(v('A', 'append', { fragment: 'd', data: 'abcd' }));
    expect(fullModeData(versions, new Map([['A', ahead]]))).toEqual(['abcd', 'abcd']);
  });

  it('falls back when a fragment does not match the end of the aggregate', () => {
    const versions = [v('A', 'append', { fragment: 'b' }), v('A', 'append', { fragment: 'zz' })];
    const latest = new Map([['A', agg({ ...(versions[1] as VersionRecord), data: 'ab!' })]]);
    expect(fullModeData(versions, latest)).toEqual(['ab!', 'ab!']);
  });
});

describe('coalesceAppendRuns', () => {
  it('keeps the last append of each run per message, and everything that is not an append', () => {
    const versions = [
      v('A', 'create', { data: '' }),
      v('A', 'append', { fragment: '1' }),
      v('B', 'append', { fragment: 'x' }),
      v('A', 'append', { fragment: '2' }),
      v('A', 'update', { data: 'u' }),
      v('A', 'append', { fragment: '3' }),
      v('B', 'append', { fragment: 'y' }),
    ];
    expect(coalesceAppendRuns(versions)).toEqual([true, false, false, true, true, true, true]);
  });
});
