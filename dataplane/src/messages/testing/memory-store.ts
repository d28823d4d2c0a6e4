// A minimal in-memory version store for tests: it plays the store's part around the pure
// `applyMutation` (serials, op_id receipts, the open-stream count) the way the real stores do
// atomically. Test-only: no retention, no pages, no concurrency.

import { isStreaming } from '../../ai/validate.ts';
import type { Aggregate, MutationAction, OpReceipt, VersionRecord } from '../model.ts';
import { opKey } from '../model.ts';
import {
  applyMutation,
  type CreateInput,
  checkOpenStreams,
  type MutationInput,
  type MutationResult,
  type VersionedLimits,
} from '../mutations.ts';
import { SerialGenerator } from '../serials.ts';

export class MemoryTestStore {
  readonly limits: VersionedLimits;
  readonly serials: SerialGenerator;
  readonly #now: () => number;
  readonly aggregates = new Map<string, Aggregate>();
  readonly versions = new Map<string, VersionRecord[]>();
  readonly #ops = new Map<string, OpReceipt>();
  #historySerial = 0;
  #deliverySerial = 0;

  constructor(opts: { now: () => number; limits: VersionedLimits; node?: string }) {
    this.#now = opts.now;
    this.limits = opts.limits;
    this.serials = new SerialGenerator({ node: opts.node ?? 'node', now: opts.now });
  }

  get deliverySerial(): number {
    return this.#deliverySerial;
  }

  openStreams(): number {
    let n = 0;
    for (const a of this.aggregates.values()) if (isStreaming(a.latest.extras)) n++;
    return n;
  }

  create(input: Omit<CreateInput, 'action' | 'history_serial'>): MutationResult {
    const commit = {
      version_serial: this.serials.next(),
      delivery_serial: this.#deliverySerial + 1,
      timestamp_ms: Math.floor(this.#now()),
    };
    const res = applyMutation(
      undefined,
      { ...input, action: 'create', history_serial: this.#historySerial + 1 },
      this.limits,
      commit,
    );
    return this.#commit(undefined, res);
  }

  mutate(messageSerial: string, input: MutationInput): MutationResult {
    const latest = this.aggregates.get(messageSerial);
    const prior =
      input.op_id === undefined ? undefined : this.#ops.get(opKey(messageSerial, input.action, input.op_id));
    const commit = {
      version_serial: this.serials.next(latest?.latest.version_serial),
      delivery_serial: this.#deliverySerial + 1,
      timestamp_ms: Math.floor(this.#now()),
      prior_op: prior,
    };
    return this.#commit(latest, applyMutation(latest, input, this.limits, commit));
  }

  #commit(prev: Aggregate | undefined, res: MutationResult): MutationResult {
    if (!res.ok || res.status !== 'applied') return res;
    const capped = checkOpenStreams(prev, res.next, this.openStreams(), this.limits);
    if (capped) return { ok: false, error: capped };
    const r = res.record;
    if (r.action === 'create') this.#historySerial++;
    this.#deliverySerial = r.delivery_serial;
    this.aggregates.set(r.message_serial, res.next);
    const chain = this.versions.get(r.message_serial) ?? [];
    chain.push(r);
    this.versions.set(r.message_serial, chain);
    if (r.op_id !== undefined && r.op_fingerprint !== undefined && r.action !== 'create') {
      this.#ops.set(opKey(r.message_serial, r.action as MutationAction, r.op_id), {
        fingerprint: r.op_fingerprint,
        action: r.action,
        message_serial: r.message_serial,
        version_serial: r.version_serial,
        history_serial: r.history_serial,
        delivery_serial: r.delivery_serial,
      });
    }
    return res;
  }
}
