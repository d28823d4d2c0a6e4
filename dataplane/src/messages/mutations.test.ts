import { describe, expect, it } from 'vitest';
import { ERRORS } from '../protocol/errors.ts';
import type { Aggregate, Extras, OpReceipt } from './model.ts';
import {
  AI_CHANNEL_LIMITS,
  type AppendInput,
  applyMutation,
  type CommitContext,
  type CommitInput,
  checkOpenStreams,
  fingerprintMutation,
  type MutationResult,
  mutationErrorToAitError,
  NO_LIMITS,
  opensStream,
  type VersionedLimits,
} from './mutations.ts';
import { formatSerial } from './serials.ts';

const vs = (n: number): string => formatSerial(1_700_000_000_000 + n, 'node', n);
const at = (n: number, prior?: OpReceipt): CommitContext => ({
  version_serial: vs(n),
  delivery_serial: n,
  timestamp_ms: 1_700_000_000_000 + n,
  ...(prior ? { prior_op: prior } : {}),
});

const streaming: Extras = { ai: { transport: { status: 'streaming', role: 'assistant' }, codec: {} } };
const complete: Extras = { ai: { transport: { status: 'complete' } } };

function ok(r: MutationResult): Extract<MutationResult, { status: 'applied' }> {
  if (!r.ok) throw new Error(`expected applied, got ${r.error.reason}: ${r.error.message}`);
  if (r.status !== 'applied') throw new Error('expected applied, got duplicate');
  return r;
}

function created(
  opts: { data?: unknown; extras?: Extras; name?: string } = {},
  limits: VersionedLimits = AI_CHANNEL_LIMITS,
): Aggregate {
  return ok(
    applyMutation(
      undefined,
      {
        action: 'create',
        name: opts.name ?? 'ai-output',
        data: (opts.data ?? 'Hello') as string,
        extras: opts.extras ?? streaming,
        client_id: 'alice',
        message_id: 'msg-1',
        history_serial: 2,
      },
      limits,
      at(2),
    ),
  ).next;
}

function reason(r: MutationResult): string | undefined {
  return r.ok ? undefined : r.error.reason;
}

describe('create', () => {
  it('makes message_serial the first version_serial and records the creator', () => {
    const r = ok(
      applyMutation(
        undefined,
        { action: 'create', name: 'ai-output', data: 'Hi', extras: streaming, client_id: 'alice', history_serial: 2 },
        AI_CHANNEL_LIMITS,
        at(2),
      ),
    );
    expect(r.record).toEqual({
      action: 'create',
      message_serial: vs(2),
      version_serial: vs(2),
      history_serial: 2,
      delivery_serial: 2,
      timestamp_ms: 1_700_000_000_002,
      name: 'ai-output',
      data: 'Hi',
      extras: streaming,
      client_id: 'alice',
    });
    expect(r.next).toEqual({ latest: r.record, creator_client_id: 'alice', append_count: 0, data_bytes: 2 });
    expect(r.receipt).toEqual({
      message_serial: vs(2),
      action: 'create',
      version_serial: vs(2),
      history_serial: 2,
      delivery_serial: 2,
    });
  });

  it('refuses an existing message (retryable: the serial collided)', () => {
    const r = applyMutation(created(), { action: 'create', name: 'x', history_serial: 3 }, NO_LIMITS, at(3));
    expect(reason(r)).toBe('already_exists');
    expect(!r.ok && r.error.retryable).toBe(true);
  });

  it('requires a name', () => {
    expect(reason(applyMutation(undefined, { action: 'create', name: '', history_serial: 1 }, NO_LIMITS, at(1)))).toBe(
      'invalid_field',
    );
  });

  it('counts JSON data by its JSON text against the byte limit', () => {
    const limits = { maxAccumulatedMessageBytes: 10 };
    const data = { a: '1234' }; // {"a":"1234"} = 12 bytes
    const r = applyMutation(undefined, { action: 'create', name: 'e', data, history_serial: 1 }, limits, at(1));
    expect(reason(r)).toBe('accumulated_bytes');
  });

  it('drops forged runtime headers but keeps user headers', () => {
    const r = ok(
      applyMutation(
        undefined,
        {
          action: 'create',
          name: 'e',
          extras: { headers: { sockudo_action: 'message.delete', trace: 'x' } },
          history_serial: 1,
        },
        NO_LIMITS,
        at(1),
      ),
    );
    expect(r.record.extras).toEqual({ headers: { trace: 'x' } });
  });

  it('throws on a malformed commit context (a server bug, not a client error)', () => {
    expect(() =>
      applyMutation(undefined, { action: 'create', name: 'e', history_serial: 1 }, NO_LIMITS, {
        version_serial: 'has space',
        delivery_serial: 1,
        timestamp_ms: 1,
      }),
    ).toThrow(TypeError);
    expect(() =>
      applyMutation(undefined, { action: 'create', name: 'e', history_serial: 1 }, NO_LIMITS, {
        version_serial: vs(1),
        delivery_serial: 0,
        timestamp_ms: 1,
      }),
    ).toThrow(TypeError);
    expect(() =>
      applyMutation(undefined, { action: 'create', name: 'e', history_serial: 1 }, NO_LIMITS, {
        version_serial: vs(1),
        delivery_serial: 1,
        timestamp_ms: 1.5,
      }),
    ).toThrow(TypeError);
  });
});

describe('update and delete: tri-state patch', () => {
  const base = () => created({ data: 'Hello', extras: streaming, name: 'ai-output' });

  it.each<[string, CommitInput, { name?: string | undefined; data?: unknown; extras?: Extras | undefined }]>([
    [
      'replace data keeps the rest',
      { action: 'update', data: 'Bye' },
      { name: 'ai-output', data: 'Bye', extras: streaming },
    ],
    ['replace name', { action: 'update', name: 'renamed' }, { name: 'renamed', data: 'Hello', extras: streaming }],
    ['replace name with empty string', { action: 'update', name: '' }, { name: '', data: 'Hello', extras: streaming }],
    [
      'null means keep',
      { action: 'update', data: null, name: null, description: 'd' },
      { name: 'ai-output', data: 'Hello', extras: streaming },
    ],
    ['clear name', { action: 'update', clear_fields: ['name'] }, { name: undefined, data: 'Hello', extras: streaming }],
    ['replace extras', { action: 'update', extras: complete }, { name: 'ai-output', data: 'Hello', extras: complete }],
    [
      'JSON data',
      { action: 'update', data: { k: [1, 2] } },
      { name: 'ai-output', data: { k: [1, 2] }, extras: streaming },
    ],
    ['delete keeps by default', { action: 'delete' }, { name: 'ai-output', data: 'Hello', extras: streaming }],
    ['delete clears data and extras', { action: 'delete', clear_fields: ['data', 'extras'] }, { name: 'ai-output' }],
    [
      'delete replaces data',
      { action: 'delete', data: '[deleted]' },
      { name: 'ai-output', data: '[deleted]', extras: streaming },
    ],
  ])('%s', (_label, input, expected) => {
    const r = ok(applyMutation(base(), input, AI_CHANNEL_LIMITS, at(3)));
    expect(r.record.name).toEqual(expected.name);
    expect(r.record.data).toEqual(expected.data);
    expect(r.record.extras).toEqual(expected.extras);
    expect(r.record.action).toBe(input.action);
    expect(r.record.message_serial).toBe(vs(2));
    expect(r.record.history_serial).toBe(2);
    expect(r.record.message_id).toBe('msg-1');
    expect(r.next.latest).toBe(r.record);
    expect(r.next.creator_client_id).toBe('alice');
  });

  it.each<[string, CommitInput, string]>([
    ['data both replaced and cleared', { action: 'update', data: 'x', clear_fields: ['data'] }, 'replace_and_clear'],
    ['name both replaced and cleared', { action: 'update', name: 'x', clear_fields: ['name'] }, 'replace_and_clear'],
    [
      'extras both replaced and cleared',
      { action: 'delete', extras: {}, clear_fields: ['extras'] },
      'replace_and_clear',
    ],
    ['unknown clear field', { action: 'update', clear_fields: ['bogus' as 'name'] }, 'invalid_field'],
    ['clear_fields not an array', { action: 'update', clear_fields: 'data' as unknown as ['data'] }, 'invalid_field'],
    ['empty update', { action: 'update' }, 'empty_update'],
    ['update with an empty clear_fields only', { action: 'update', clear_fields: [] }, 'empty_update'],
    ['extras not an object', { action: 'update', extras: 'x' as unknown as Extras }, 'invalid_field'],
    ['name not a string', { action: 'update', name: 5 as unknown as string }, 'invalid_field'],
  ])('rejects %s', (_label, input, expected) => {
    expect(reason(applyMutation(base(), input, AI_CHANNEL_LIMITS, at(3)))).toBe(expected);
  });

  it.each<[string, CommitInput]>([
    ['op_id', { action: 'update', op_id: 'op-1' }],
    ['description', { action: 'update', description: 'why' }],
    ['metadata', { action: 'update', metadata: { a: 1 } }],
    ['client_id', { action: 'update', client_id: 'bob' }],
  ])('accepts an update carrying only %s', (_label, input) => {
    const r = ok(applyMutation(base(), input, AI_CHANNEL_LIMITS, at(3)));
    expect(r.record.data).toBe('Hello');
  });

  it('records version metadata', () => {
    const r = ok(
      applyMutation(
        base(),
        { action: 'update', data: 'x', client_id: 'bob', description: 'fix', metadata: { n: 1 } },
        NO_LIMITS,
        at(3),
      ),
    );
    expect(r.record).toMatchObject({
      client_id: 'bob',
      description: 'fix',
      metadata: { n: 1 },
      timestamp_ms: 1_700_000_000_003,
    });
  });

  it('an update is allowed after a terminal status', () => {
    const done = ok(applyMutation(base(), { action: 'update', extras: complete }, AI_CHANNEL_LIMITS, at(3))).next;
    expect(ok(applyMutation(done, { action: 'update', data: 'edited' }, AI_CHANNEL_LIMITS, at(4))).record.data).toBe(
      'edited',
    );
  });

  it('checks the byte limit on the patched data', () => {
    const limits = { maxAccumulatedMessageBytes: 5 };
    const agg = created({ data: 'Hi' }, limits);
    expect(reason(applyMutation(agg, { action: 'update', data: '123456' }, limits, at(3)))).toBe('accumulated_bytes');
    expect(ok(applyMutation(agg, { action: 'update', data: '12345' }, limits, at(3))).next.data_bytes).toBe(5);
  });
});

describe('append', () => {
  const append = (data: string, extra: Partial<AppendInput> = {}): AppendInput => ({
    action: 'append',
    data,
    ...extra,
  });

  it('concatenates, records the fragment and counts', () => {
    const r1 = ok(applyMutation(created({ data: 'Hel' }), append('lo'), AI_CHANNEL_LIMITS, at(3)));
    expect(r1.record).toMatchObject({
      action: 'append',
      data: 'Hello',
      fragment: 'lo',
      name: 'ai-output',
      extras: streaming,
    });
    expect(r1.next.append_count).toBe(1);
    expect(r1.next.data_bytes).toBe(5);
    const r2 = ok(applyMutation(r1.next, append(' wörld'), AI_CHANNEL_LIMITS, at(4)));
    expect(r2.record.data).toBe('Hello wörld');
    expect(r2.next.data_bytes).toBe(12);
  });

  it('replaces extras when present, keeps them otherwise', () => {
    const r1 = ok(
      applyMutation(
        created(),
        append('x', { extras: { ai: { transport: { status: 'streaming', model: 'm' } } } }),
        AI_CHANNEL_LIMITS,
        at(3),
      ),
    );
    expect(r1.record.extras).toEqual({ ai: { transport: { status: 'streaming', model: 'm' } } });
    const r2 = ok(applyMutation(r1.next, append('y'), AI_CHANNEL_LIMITS, at(4)));
    expect(r2.record.extras).toEqual({ ai: { transport: { status: 'streaming', model: 'm' } } });
  });

  it('starts from the fragment when the aggregate data is absent', () => {
    const cleared = ok(applyMutation(created(), { action: 'update', clear_fields: ['data'] }, NO_LIMITS, at(3))).next;
    expect(ok(applyMutation(cleared, append('new'), NO_LIMITS, at(4))).record.data).toBe('new');
  });

  it.each<[string, AppendInput, string]>([
    ['non-string data', { action: 'append', data: 5 as unknown as string }, 'data_not_string'],
    ['missing data', { action: 'append' } as AppendInput, 'data_not_string'],
    ['empty data without status', { action: 'append', data: '' }, 'empty_append'],
    ['empty data while streaming', { action: 'append', data: '', extras: streaming }, 'empty_append'],
    [
      'empty data with status error-ish',
      { action: 'append', data: '', extras: { ai: { transport: { status: 'failed' } } } },
      'empty_append',
    ],
  ])('rejects %s', (_label, input, expected) => {
    expect(reason(applyMutation(created(), input, AI_CHANNEL_LIMITS, at(3)))).toBe(expected);
  });

  it.each<[string, Extras]>([
    ['transport complete', { ai: { transport: { status: 'complete' } } }],
    ['transport cancelled', { ai: { transport: { status: 'cancelled' } } }],
    ['codec complete', { ai: { codec: { status: 'complete' } } }],
    ['codec cancelled', { ai: { codec: { status: 'cancelled' } } }],
  ])('accepts empty data with %s', (_label, extras) => {
    const r = ok(applyMutation(created(), append('', { extras }), AI_CHANNEL_LIMITS, at(3)));
    expect(r.record.data).toBe('Hello');
    expect(r.record.fragment).toBe('');
  });

  it('refuses JSON aggregate data', () => {
    expect(reason(applyMutation(created({ data: { a: 1 } }), append('x'), AI_CHANNEL_LIMITS, at(3)))).toBe(
      'aggregate_not_string',
    );
  });

  it('locks a message after a terminal transport status', () => {
    const done = ok(applyMutation(created(), append('!', { extras: complete }), AI_CHANNEL_LIMITS, at(3))).next;
    const r = applyMutation(done, append('more'), AI_CHANNEL_LIMITS, at(4));
    expect(reason(r)).toBe('terminal_message');
    expect(!r.ok && r.error.message).toBe('cannot append to a terminal message');
    expect(!r.ok && r.error.code).toBe('AIT_ERR_INVALID_INPUT');
    // Off outside AI channels.
    expect(ok(applyMutation(done, append('more'), NO_LIMITS, at(4))).record.data).toBe('Hello!more');
  });

  it('does not lock on a codec-only terminal status (transport tier only)', () => {
    const agg = created({ extras: { ai: { codec: { status: 'complete' } } } });
    expect(ok(applyMutation(agg, append('x'), AI_CHANNEL_LIMITS, at(3))).record.data).toBe('Hellox');
  });

  it('enforces the accumulated byte limit exactly, in UTF-8 bytes', () => {
    const limits = { ...AI_CHANNEL_LIMITS, maxAccumulatedMessageBytes: 8 };
    const agg = created({ data: 'Hello' }, limits); // 5 bytes
    expect(ok(applyMutation(agg, append('abc'), limits, at(3))).next.data_bytes).toBe(8);
    const r = applyMutation(agg, append('é!'), limits, at(3)); // 3 bytes, 2 chars → 8 ok
    expect(r.ok).toBe(true);
    const over = applyMutation(agg, append('éé'), limits, at(3)); // 4 bytes → 9
    expect(reason(over)).toBe('accumulated_bytes');
    expect(!over.ok && over.error.limit).toBe(8);
  });

  it('enforces the appends-per-message limit', () => {
    const limits = { ...AI_CHANNEL_LIMITS, maxAppendsPerMessage: 3 };
    let agg = created({}, limits);
    for (let i = 0; i < 3; i++) agg = ok(applyMutation(agg, append('x'), limits, at(3 + i))).next;
    expect(agg.append_count).toBe(3);
    const r = applyMutation(agg, append('x'), limits, at(10));
    expect(reason(r)).toBe('append_count');
    // Updates do not count.
    expect(ok(applyMutation(agg, { action: 'update', data: 'y' }, limits, at(10))).next.append_count).toBe(3);
  });

  it('the default AI limits are 1 MiB and 4096 appends', () => {
    expect(AI_CHANNEL_LIMITS).toMatchObject({
      maxAccumulatedMessageBytes: 1_048_576,
      maxAppendsPerMessage: 4096,
      maxOpenStreamingMessagesPerChannel: 1024,
      rejectAppendAfterTerminal: true,
    });
  });
});

describe('ordering and existence', () => {
  it('needs an existing message for a mutation', () => {
    expect(reason(applyMutation(undefined, { action: 'update', data: 'x' }, NO_LIMITS, at(3)))).toBe('not_found');
  });

  it('refuses a version_serial or delivery_serial that does not move forward (lost CAS)', () => {
    const agg = created();
    const sameVersion = applyMutation(agg, { action: 'update', data: 'x' }, NO_LIMITS, {
      ...at(3),
      version_serial: vs(2),
    });
    expect(reason(sameVersion)).toBe('stale_version');
    expect(!sameVersion.ok && sameVersion.error.retryable).toBe(true);
    expect(
      reason(applyMutation(agg, { action: 'update', data: 'x' }, NO_LIMITS, { ...at(3), delivery_serial: 2 })),
    ).toBe('stale_version');
  });

  it('rejects the summary action', () => {
    expect(reason(applyMutation(created(), { action: 'summary' } as unknown as CommitInput, NO_LIMITS, at(3)))).toBe(
      'invalid_field',
    );
  });
});

describe('op_id', () => {
  const receipt = (r: Extract<MutationResult, { status: 'applied' }>): OpReceipt => ({
    fingerprint: r.record.op_fingerprint!,
    action: r.record.action as 'append',
    message_serial: r.record.message_serial,
    version_serial: r.record.version_serial,
    history_serial: r.record.history_serial,
    delivery_serial: r.record.delivery_serial,
  });

  it('a retry with the same payload is a duplicate with the original serials', () => {
    const first = ok(
      applyMutation(created(), { action: 'append', data: ' w', op_id: 'op-1' }, AI_CHANNEL_LIMITS, at(3)),
    );
    expect(first.record.op_id).toBe('op-1');
    const retry = applyMutation(
      first.next,
      { action: 'append', data: ' w', op_id: 'op-1' },
      AI_CHANNEL_LIMITS,
      at(4, receipt(first)),
    );
    expect(retry).toEqual({ ok: true, status: 'duplicate', next: first.next, receipt: first.receipt });
  });

  it('a retry with another payload is a conflict', () => {
    const first = ok(
      applyMutation(created(), { action: 'append', data: ' w', op_id: 'op-1' }, AI_CHANNEL_LIMITS, at(3)),
    );
    const r = applyMutation(
      first.next,
      { action: 'append', data: ' X', op_id: 'op-1' },
      AI_CHANNEL_LIMITS,
      at(4, receipt(first)),
    );
    expect(reason(r)).toBe('op_id_conflict');
    expect(!r.ok && r.error.code).toBe('AIT_ERR_INVALID_INPUT');
  });

  it('a retried terminal append is a duplicate, not "cannot append to a terminal message"', () => {
    const input: AppendInput = { action: 'append', data: '.', extras: complete, op_id: 'final' };
    const first = ok(applyMutation(created(), input, AI_CHANNEL_LIMITS, at(3)));
    const retry = applyMutation(first.next, input, AI_CHANNEL_LIMITS, at(4, receipt(first)));
    expect(retry.ok && retry.status).toBe('duplicate');
  });

  it('a prior receipt of another message or action is a caller bug', () => {
    const first = ok(applyMutation(created(), { action: 'append', data: 'x', op_id: 'o' }, AI_CHANNEL_LIMITS, at(3)));
    expect(() =>
      applyMutation(first.next, { action: 'update', data: 'x', op_id: 'o' }, AI_CHANNEL_LIMITS, at(4, receipt(first))),
    ).toThrow(TypeError);
  });

  it.each([[''], ['x'.repeat(65)], [7 as unknown as string]])('rejects op_id %j', (opId) => {
    expect(reason(applyMutation(created(), { action: 'update', data: 'x', op_id: opId }, NO_LIMITS, at(3)))).toBe(
      'invalid_field',
    );
  });

  it('fingerprints ignore key order and clear_fields order, not values', () => {
    const a = fingerprintMutation({ action: 'delete', extras: { a: 1, b: 2 }, clear_fields: ['data', 'name'] });
    const b = fingerprintMutation({ action: 'delete', extras: { b: 2, a: 1 }, clear_fields: ['name', 'data'] });
    const c = fingerprintMutation({ action: 'delete', extras: { b: 2, a: 2 }, clear_fields: ['name', 'data'] });
    const d = fingerprintMutation({ action: 'update', extras: { b: 2, a: 1 }, clear_fields: ['name', 'data'] });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).not.toBe(d);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('open streaming messages per channel', () => {
  it('counts a create that streams and a transition back to streaming, not a streaming update', () => {
    const open = created({ extras: streaming });
    expect(opensStream(undefined, open)).toBe(true);
    const stillOpen = ok(applyMutation(open, { action: 'append', data: 'x' }, AI_CHANNEL_LIMITS, at(3))).next;
    expect(opensStream(open, stillOpen)).toBe(false);
    const done = ok(applyMutation(open, { action: 'update', extras: complete }, AI_CHANNEL_LIMITS, at(3))).next;
    expect(opensStream(open, done)).toBe(false);
    const reopened = ok(applyMutation(done, { action: 'update', extras: streaming }, AI_CHANNEL_LIMITS, at(4))).next;
    expect(opensStream(done, reopened)).toBe(true);
  });

  it('rejects at the cap with payload_too_large', () => {
    const limits = { ...AI_CHANNEL_LIMITS, maxOpenStreamingMessagesPerChannel: 2 };
    const next = created({ extras: streaming });
    expect(checkOpenStreams(undefined, next, 1, limits)).toBeUndefined();
    const e = checkOpenStreams(undefined, next, 2, limits);
    expect(e?.reason).toBe('open_streams');
    expect(e?.code).toBe('AIT_ERR_PAYLOAD_TOO_LARGE');
    expect(checkOpenStreams(undefined, created({ extras: complete }), 99, limits)).toBeUndefined();
    expect(checkOpenStreams(undefined, next, 99, NO_LIMITS)).toBeUndefined();
  });
});

describe('catalogue mapping', () => {
  it('maps every reason to an existing catalogue entry with the documented HTTP status', () => {
    const agg = created();
    const cases: [MutationResult, number, string][] = [
      [applyMutation(agg, { action: 'update' }, NO_LIMITS, at(3)), 400, 'invalid_input'],
      [applyMutation(undefined, { action: 'update', data: 'x' }, NO_LIMITS, at(3)), 404, 'not_found'],
      [
        applyMutation(agg, { action: 'append', data: 'x'.repeat(2_000_000) }, AI_CHANNEL_LIMITS, at(3)),
        413,
        'payload_too_large',
      ],
      [
        applyMutation(agg, { action: 'update', data: 'x' }, NO_LIMITS, { ...at(3), delivery_serial: 1 }),
        503,
        'service_unavailable',
      ],
    ];
    for (const [r, status, httpCode] of cases) {
      if (r.ok) throw new Error('expected an error');
      expect(ERRORS[r.error.code]).toBeDefined();
      const e = mutationErrorToAitError(r.error, 'private-ai-x');
      expect(e.httpStatus).toBe(status);
      expect(e.httpBody().code).toBe(httpCode);
      expect(e.channel).toBe('private-ai-x');
    }
    const tooBig = applyMutation(agg, { action: 'append', data: 'x'.repeat(2_000_000) }, AI_CHANNEL_LIMITS, at(3));
    expect(!tooBig.ok && mutationErrorToAitError(tooBig.error).httpBody().ai_code).toBe(40009);
    const stale = applyMutation(agg, { action: 'update', data: 'x' }, NO_LIMITS, { ...at(3), delivery_serial: 1 });
    expect(!stale.ok && mutationErrorToAitError(stale.error).retryAfterSeconds).toBe(1);
  });
});
