import { describe, expect, it } from 'vitest';
import {
  buildCreateFrame,
  buildLiveFrame,
  buildMutationFrame,
  mutationResponseBody,
  runtimeHeaders,
  stripInternal,
  toMutationProjection,
  toV1Frame,
  toVersionedRealtimeMessage,
  type V2Frame,
} from './frames.ts';
import type { Aggregate, Extras, VersionRecord } from './model.ts';
import { AI_CHANNEL_LIMITS, applyMutation, type CommitInput, type MutationResult } from './mutations.ts';
import { formatSerial } from './serials.ts';

const ctx = { channel: 'private-ai-x', stream_id: 'stream-uuid' };
const T0 = 1_712_345_678_901;
const vs = (n: number): string => formatSerial(T0 + n, 'node', n);
const ai: Extras = { ai: { transport: { status: 'streaming', role: 'assistant' }, codec: {} } };

function applied(r: MutationResult): { next: Aggregate; record: VersionRecord } {
  if (!r.ok || r.status !== 'applied') throw new Error('not applied');
  return r;
}

function step(prev: Aggregate | undefined, input: CommitInput, n: number): { next: Aggregate; record: VersionRecord } {
  return applied(
    applyMutation(prev, input, AI_CHANNEL_LIMITS, { version_serial: vs(n), delivery_serial: n, timestamp_ms: T0 + n }),
  );
}

const create = step(
  undefined,
  {
    action: 'create',
    name: 'ai-output',
    data: '',
    extras: ai,
    message_id: 'msg-1',
    history_serial: 2,
    client_id: 'agent',
  },
  2,
);
const append1 = step(create.next, { action: 'append', data: 'Hel', client_id: 'agent' }, 3);
const append2 = step(append1.next, { action: 'append', data: 'lo' }, 4);

const headers = (record: VersionRecord) => ({
  sockudo_action: `message.${record.action}`,
  sockudo_message_serial: vs(2),
  sockudo_version_serial: record.version_serial,
  sockudo_version_timestamp_ms: record.timestamp_ms,
  sockudo_history_serial: 2,
});

describe('live frames (PROTOCOL.md 4.4)', () => {
  it('a create keeps its event name and gets message.create headers', () => {
    expect(buildCreateFrame(ctx, create.record)).toEqual({
      event: 'ai-output',
      channel: 'private-ai-x',
      data: '',
      message_id: 'msg-1',
      stream_id: 'stream-uuid',
      serial: 2,
      user_id: 'agent',
      extras: { headers: headers(create.record), ...ai },
    });
  });

  it('an append carries the fragment in delta mode and the aggregate in full mode', () => {
    const delta = buildMutationFrame(ctx, append2.record, 'delta');
    expect(delta).toEqual({
      event: 'sockudo:message.append',
      channel: 'private-ai-x',
      data: 'lo',
      name: 'ai-output',
      message_id: 'msg-1',
      stream_id: 'stream-uuid',
      serial: 4,
      extras: { headers: headers(append2.record), ...ai },
    });
    expect(buildMutationFrame(ctx, append2.record, 'full').data).toBe('Hello');
    // The rollup passes the concatenation of the fragments it coalesced.
    expect(buildMutationFrame(ctx, append2.record, 'delta', 'Hello').data).toBe('Hello');
  });

  it('user_id is the actor of the version', () => {
    expect(buildMutationFrame(ctx, append1.record, 'delta').user_id).toBe('agent');
    expect(buildMutationFrame(ctx, append2.record, 'delta').user_id).toBeUndefined();
  });

  it('update and delete carry the full aggregate in both modes', () => {
    const upd = step(append2.next, { action: 'update', data: 'Hi!' }, 5);
    for (const mode of ['delta', 'full'] as const) {
      const f = buildMutationFrame(ctx, upd.record, mode);
      expect(f.event).toBe('sockudo:message.update');
      expect(f.data).toBe('Hi!');
    }
    const del = step(upd.next, { action: 'delete', clear_fields: ['data'] }, 6);
    const f = buildMutationFrame(ctx, del.record, 'delta');
    expect(f.event).toBe('sockudo:message.delete');
    expect('data' in f).toBe(false);
    expect(f.extras?.['headers']).toMatchObject({ sockudo_action: 'message.delete' });
  });

  it('buildLiveFrame dispatches on the action', () => {
    expect(buildLiveFrame(ctx, create.record, 'delta').event).toBe('ai-output');
    expect(buildLiveFrame(ctx, append1.record, 'full').event).toBe('sockudo:message.append');
    expect(() => buildMutationFrame(ctx, create.record, 'delta')).toThrow(TypeError);
    expect(() => buildCreateFrame(ctx, append1.record)).toThrow(TypeError);
  });

  it('merges fresh runtime headers over user headers and drops forged ones', () => {
    const withHeaders = step(
      append2.next,
      {
        action: 'update',
        extras: { headers: { trace: 't-1', sockudo_version_serial: 'forged' }, idempotencyKey: 'k', ref: { x: 1 } },
      },
      5,
    );
    const f = buildMutationFrame(ctx, withHeaders.record, 'full');
    expect(f.extras).toEqual({ headers: { trace: 't-1', ...headers(withHeaders.record) }, ref: { x: 1 } });
  });

  it('emits integers only (decision 10)', () => {
    const json = JSON.stringify(buildMutationFrame(ctx, append2.record, 'delta'));
    expect(json).toContain(`"sockudo_version_timestamp_ms":${T0 + 4}`);
    expect(json).toContain('"serial":4');
    expect(json).not.toMatch(/\d[eE][+-]?\d|\d\.0\b/);
    expect(() => runtimeHeaders({ ...append2.record, timestamp_ms: 1.5 })).toThrow(RangeError);
    expect(() => buildMutationFrame(ctx, { ...append2.record, delivery_serial: 2 ** 60 }, 'delta')).toThrow(RangeError);
  });
});

describe('egress hygiene', () => {
  it('stripInternal removes idempotency keys and the append-fragment header', () => {
    const frame: V2Frame = {
      event: 'sockudo:message.append',
      channel: 'c',
      idempotency_key: 'k',
      extras: { idempotency_key: 'k', idempotencyKey: 'k', headers: { sockudo_append_fragment: 'x', a: 1 }, ai: {} },
    };
    expect(stripInternal(frame)).toEqual({
      event: 'sockudo:message.append',
      channel: 'c',
      extras: { headers: { a: 1 }, ai: {} },
    });
    const clean: V2Frame = { event: 'e', channel: 'c', extras: { headers: { a: 1 } } };
    expect(stripInternal(clean)).toBe(clean);
  });

  it('V1 gets creates as plain events and no mutations', () => {
    expect(toV1Frame(buildCreateFrame(ctx, create.record))).toEqual({
      event: 'ai-output',
      channel: 'private-ai-x',
      data: '',
    });
    expect(toV1Frame(buildMutationFrame(ctx, append1.record, 'delta'))).toBeUndefined();
  });
});

describe('read shapes (PROTOCOL.md 4.6)', () => {
  it('GET latest returns the aggregate with the latest action and version', () => {
    expect(toVersionedRealtimeMessage(ctx, append2.next)).toEqual({
      event: 'sockudo:message.append',
      channel: 'private-ai-x',
      data: 'Hello',
      name: 'ai-output',
      message_id: 'msg-1',
      stream_id: 'stream-uuid',
      serial: 4,
      extras: { headers: headers(append2.record), ...ai },
      action: 'append',
      message_serial: vs(2),
      history_serial: 2,
      delivery_serial: 4,
      version: { serial: vs(4), timestamp_ms: T0 + 4 },
    });
  });

  it('headers are fresh even when no mutation replaced the create extras (decision 14)', () => {
    const upd = step(
      append2.next,
      { action: 'update', data: 'x', client_id: 'bob', description: 'd', metadata: { m: 1 } },
      5,
    );
    const item = toVersionedRealtimeMessage(ctx, upd.next);
    expect(item.extras?.['headers']).toEqual(headers(upd.record));
    expect(item.version).toEqual({
      serial: vs(5),
      client_id: 'bob',
      timestamp_ms: T0 + 5,
      description: 'd',
      metadata: { m: 1 },
    });
    expect(item.user_id).toBe('bob');
  });

  it('GET versions projects an append as its fragment', () => {
    expect(toMutationProjection(ctx, append2.record).data).toBe('lo');
    expect(toMutationProjection(ctx, append2.record).event).toBe('sockudo:message.append');
    expect(toMutationProjection(ctx, create.record).data).toBe('');
    expect(toMutationProjection(ctx, create.record).event).toBe('sockudo:message.create');
  });

  it('builds the mutation response of 9.3', () => {
    expect(
      mutationResponseBody(
        'private-ai-x',
        { message_serial: vs(2), action: 'append', version_serial: vs(4), history_serial: 2, delivery_serial: 4 },
        'duplicate',
      ),
    ).toEqual({
      channel: 'private-ai-x',
      message_serial: vs(2),
      action: 'append',
      accepted: true,
      version_serial: vs(4),
      history_serial: 2,
      delivery_serial: 4,
      status: 'duplicate',
    });
  });
});
