import { describe, expect, it } from 'vitest';
import { buildCreateFrame, buildMutationFrame, toVersionedRealtimeMessage, type V2Frame } from './frames.ts';
import type { Aggregate, VersionRecord } from './model.ts';
import { AI_CHANNEL_LIMITS, applyMutation, type CommitInput } from './mutations.ts';
import { MessageReducer, reduceFrame, versionFacts } from './reducer.ts';
import { formatSerial } from './serials.ts';

const ctx = { channel: 'private-ai-x', stream_id: 's' };
const vs = (n: number): string => formatSerial(1_000 + n, 'node', n);

function chain(inputs: CommitInput[]): { records: VersionRecord[]; last: Aggregate } {
  let agg: Aggregate | undefined;
  const records: VersionRecord[] = [];
  inputs.forEach((input, i) => {
    const r = applyMutation(agg, input, AI_CHANNEL_LIMITS, {
      version_serial: vs(i + 1),
      delivery_serial: i + 1,
      timestamp_ms: 1_000 + i,
    });
    if (!r.ok || r.status !== 'applied') throw new Error(`step ${i} failed`);
    agg = r.next;
    records.push(r.record);
  });
  return { records, last: agg! };
}

const { records, last } = chain([
  {
    action: 'create',
    name: 'ai-output',
    data: 'He',
    extras: { ai: { transport: { status: 'streaming' } } },
    history_serial: 1,
  },
  { action: 'append', data: 'll' },
  { action: 'append', data: 'o' },
  { action: 'update', data: 'Hello!', extras: { ai: { transport: { status: 'complete' } } } },
]);

const frames = (mode: 'delta' | 'full'): V2Frame[] =>
  records.map((r) => (r.action === 'create' ? buildCreateFrame(ctx, r) : buildMutationFrame(ctx, r, mode)));

describe('client reduction (PROTOCOL.md 4.5)', () => {
  it.each(['delta', 'full'] as const)('%s mode reduces live frames to the aggregate', (mode) => {
    const red = new MessageReducer(mode);
    const seen: string[] = [];
    for (const f of frames(mode)) {
      expect(red.apply(JSON.parse(JSON.stringify(f)))).toBe('applied');
      seen.push(red.get(vs(1))!.data as string);
    }
    expect(seen).toEqual(['He', 'Hell', 'Hello', 'Hello!']);
    expect(red.get(vs(1))).toMatchObject({
      message_serial: vs(1),
      version_serial: vs(4),
      delivery_serial: 4,
      action: 'update',
      name: 'ai-output',
      extras: { ai: { transport: { status: 'complete' } } },
    });
  });

  it('ignores duplicates and older versions', () => {
    const red = new MessageReducer('delta');
    const fs = frames('delta');
    red.apply(fs[0]!);
    red.apply(fs[1]!);
    expect(red.apply(fs[1]!)).toBe('stale');
    red.apply(fs[2]!);
    expect(red.apply(fs[1]!)).toBe('stale');
    expect(red.get(vs(1))!.data).toBe('Hello');
    expect(red.counts.stale).toBe(2);
  });

  it('applyAll orders a batch by delivery serial', () => {
    const red = new MessageReducer('delta');
    red.applyAll([...frames('delta')].reverse());
    expect(red.get(vs(1))!.data).toBe('Hello!');
    expect(red.counts.applied).toBe(4);
  });

  it('a delta append without a base asks for a seed; a late joiner seeds from a read shape', () => {
    const red = new MessageReducer('delta');
    expect(red.apply(frames('delta')[2]!)).toBe('missing_base');
    // Seed with the aggregate as of version 2 (e.g. GET latest answered before append 3 landed).
    const asOf2 = chain([
      {
        action: 'create',
        name: 'ai-output',
        data: 'He',
        extras: { ai: { transport: { status: 'streaming' } } },
        history_serial: 1,
      },
      { action: 'append', data: 'll' },
    ]).last;
    expect(red.seed(toVersionedRealtimeMessage(ctx, asOf2))).toBe('applied');
    expect(red.get(vs(1))!.data).toBe('Hell');
    expect(red.apply(frames('delta')[1]!)).toBe('stale');
    expect(red.apply(frames('delta')[2]!)).toBe('applied');
    expect(red.get(vs(1))!.data).toBe('Hello');
    // A newer read shape replaces the state; an older one does not.
    expect(red.seed(toVersionedRealtimeMessage(ctx, last))).toBe('applied');
    expect(red.seed(toVersionedRealtimeMessage(ctx, asOf2))).toBe('stale');
    expect(red.get(vs(1))!.data).toBe('Hello!');
  });

  it('a delete that clears data reduces to null', () => {
    const del = chain([
      { action: 'create', name: 'e', data: 'x', history_serial: 1 },
      { action: 'delete', clear_fields: ['data'] },
    ]);
    const red = new MessageReducer('delta');
    red.apply(buildCreateFrame(ctx, del.records[0]!));
    red.apply(buildMutationFrame(ctx, del.records[1]!, 'delta'));
    expect(red.get(vs(1))!.data).toBeNull();
    expect(red.get(vs(1))!.action).toBe('delete');
  });

  it('leaves plain events alone and flags malformed deltas', () => {
    const red = new MessageReducer('delta');
    expect(red.apply({ event: 'client-typing', data: 'x' })).toBe('not_versioned');
    expect(versionFacts({ extras: { headers: { sockudo_action: 'message.summary' } } })).toBeUndefined();
    const prev = reduceFrame(undefined, frames('delta')[0]!, 'delta').next;
    const bad = { ...frames('delta')[1]!, data: { not: 'a string' } };
    expect(reduceFrame(prev, bad, 'delta').outcome).toBe('invalid');
  });
});
