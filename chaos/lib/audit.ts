// The audits every load and chaos run must pass (OPERATIONS.md "pass criteria"): what each
// subscriber reduced equals what the producer got acknowledged and what the store returns (GET
// latest); delivery serials strictly increase per subscriber; with window 0 they are contiguous —
// no gap after any recovery — and end at the stream's last serial; every recovery succeeded.
// Pure over the recorded facts, so the audits are unit-tested.

export interface SubscriberFacts {
  readonly name: string;
  /** Delivery serials in arrival order (acks excluded). */
  readonly serials: readonly number[];
  /** The reduced text of the audited message, if any. */
  readonly text: string | null | undefined;
  readonly window: number;
  readonly recoveries: ReadonlyArray<{ readonly result: string; readonly code?: string; readonly atSerial: number }>;
}

export interface StreamFacts {
  /** What the producer got acknowledged, in order. */
  readonly acknowledged: string;
  /** GET latest's aggregate. */
  readonly stored: string | null | undefined;
  /** The stream's last delivery serial (1 create + appends + terminal). */
  readonly lastSerial: number;
  /** The first serial the subscribers were there for (1 when they subscribed before the create). */
  readonly firstSerial: number;
}

export interface AuditOptions {
  /** Recovery codes the scenario expects (e.g. stream_reset after an empty Redis restart). */
  readonly allowedRecoveryFailures?: readonly string[];
}

/** The first index where the serial order breaks (not increasing, or a gap at window 0), if any. */
export function firstSerialAnomaly(serials: readonly number[], window: number): number | undefined {
  for (let i = 1; i < serials.length; i++) {
    const prev = serials[i - 1] as number;
    const cur = serials[i] as number;
    if (cur <= prev || (window === 0 && cur !== prev + 1)) return i;
  }
  return undefined;
}

export function auditStream(stream: StreamFacts): string[] {
  if (stream.stored !== stream.acknowledged) {
    return [
      `store: GET latest differs from what was acknowledged (${describeDiff(stream.acknowledged, stream.stored)})`,
    ];
  }
  return [];
}

export function auditSubscriber(sub: SubscriberFacts, stream: StreamFacts, opts: AuditOptions = {}): string[] {
  const failures: string[] = [];
  const who = sub.name;
  if (sub.text !== stream.acknowledged) {
    failures.push(`${who}: transcript mismatch (${describeDiff(stream.acknowledged, sub.text)})`);
  }
  for (let i = 1; i < sub.serials.length; i++) {
    const prev = sub.serials[i - 1] as number;
    const cur = sub.serials[i] as number;
    if (cur <= prev) {
      failures.push(`${who}: serial ${cur} after ${prev} (not strictly increasing, index ${i})`);
      break;
    }
    if (sub.window === 0 && cur !== prev + 1) {
      failures.push(`${who}: gap ${prev} → ${cur} (window 0 delivers every version)`);
      break;
    }
  }
  const last = sub.serials[sub.serials.length - 1];
  if (last !== stream.lastSerial)
    failures.push(`${who}: ended at serial ${last ?? 'none'}, the stream at ${stream.lastSerial}`);
  if (sub.window === 0 && sub.serials.length > 0 && sub.serials[0] !== stream.firstSerial) {
    failures.push(`${who}: started at serial ${sub.serials[0]}, expected ${stream.firstSerial}`);
  }
  for (const r of sub.recoveries) {
    if (r.result === 'failed' && !(opts.allowedRecoveryFailures ?? []).includes(r.code ?? '')) {
      failures.push(`${who}: recovery at serial ${r.atSerial} failed (${r.code ?? 'unknown'})`);
    }
  }
  return failures;
}

/**
 * After a fault that legitimately loses data (Redis restarted empty), what must still hold: a
 * subscriber never shows text the producer did not get acknowledged (its transcript is a prefix
 * of it), its serials never go backwards, and its recoveries fail only with the allowed codes.
 */
export function auditLossySubscriber(sub: SubscriberFacts, acknowledged: string, opts: AuditOptions = {}): string[] {
  const failures: string[] = [];
  const who = sub.name;
  const text = sub.text ?? '';
  if (!acknowledged.startsWith(text)) {
    failures.push(`${who}: shows text that was never acknowledged (${describeDiff(acknowledged, text)})`);
  }
  for (let i = 1; i < sub.serials.length; i++) {
    if ((sub.serials[i] as number) <= (sub.serials[i - 1] as number)) {
      failures.push(
        `${who}: serial ${sub.serials[i]} after ${sub.serials[i - 1]} (not strictly increasing, index ${i})`,
      );
      break;
    }
  }
  for (const r of sub.recoveries) {
    if (r.result === 'failed' && !(opts.allowedRecoveryFailures ?? []).includes(r.code ?? '')) {
      failures.push(`${who}: recovery at serial ${r.atSerial} failed (${r.code ?? 'unknown'})`);
    }
  }
  return failures;
}

function describeDiff(want: string, got: string | null | undefined): string {
  if (got === undefined || got === null) return `got nothing, want ${want.length} chars`;
  let i = 0;
  while (i < want.length && i < got.length && want[i] === got[i]) i++;
  const ctx = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 10), i + 20));
  return `first difference at ${i}: want ${ctx(want)}, got ${ctx(got)} (${want.length} vs ${got.length} chars)`;
}
