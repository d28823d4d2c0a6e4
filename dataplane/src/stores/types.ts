// The small shared-state stores (PROTOCOL.md 3.4 layer 2, 7.4, 7.5, 8): publish idempotency
// claims, the AI active-stream registry, and single-runner claims (orphan janitor, STANDARDS
// C6). Each has a memory implementation (`memory.ts`) and, later, a Redis one; every method is
// one atomic call (set-if-absent, compare-and-delete, ...), async, and bounded in work.
//
// Expiry is computed from the caller's injected clock and stored with the entry (the Redis
// implementation passes `now` into its scripts and uses PX only as a garbage-collection
// backstop), so the contract suite can drive TTLs with a fake clock.
import type { Serial } from '../history/types.ts';

// ---------------------------------------------------------------------------------------------
// Publish idempotency claims (layer 2): key precedence message_id > extras.idempotencyKey >
// idempotency_key is the caller's; the store scopes keys by app and channel.

/** What a duplicate publish gets back (PROTOCOL.md 3.4, 9.1 ack). */
export interface PublishReceipt {
  readonly acknowledgementId: string;
  readonly messageSerial?: string;
  readonly historySerial?: Serial;
  readonly deliverySerial?: Serial;
  readonly versionSerial?: string;
}

export type PublishClaim =
  /** The caller owns the key now: publish, then `commit` (or `release` on failure). */
  | { readonly status: 'new'; readonly expiresAtMs: number }
  /** Another publish with the same payload is in flight (wait briefly, then 503 backpressure). */
  | { readonly status: 'pending'; readonly owner: string; readonly expiresAtMs: number }
  /** Already published: answer with this receipt, do not broadcast. */
  | { readonly status: 'committed'; readonly receipt: PublishReceipt }
  /** The key was used with a different payload (HTTP 400 invalid_input). */
  | { readonly status: 'conflict' };

export type PublishCommit =
  | { readonly status: 'committed' }
  /** Someone committed first; keep theirs (the first receipt wins). */
  | { readonly status: 'already_committed'; readonly receipt: PublishReceipt }
  /** Our pending claim expired and another owner holds the key now. */
  | { readonly status: 'claimed_by_other'; readonly owner: string }
  | { readonly status: 'conflict' };

export interface PublishClaimStore {
  /** Atomically: absent or expired → pending(owner) for `pendingTtlMs`; pending → pending or
   * conflict (other fingerprint); committed → committed or conflict (other fingerprint). */
  claim(
    appId: string,
    channel: string,
    key: string,
    fingerprint: string,
    owner: string,
    pendingTtlMs: number,
  ): Promise<PublishClaim>;
  /** Stores the receipt for `ttlMs` if the key is absent or pending by `owner` with the same fingerprint. */
  commit(
    appId: string,
    channel: string,
    key: string,
    fingerprint: string,
    owner: string,
    receipt: PublishReceipt,
    ttlMs: number,
  ): Promise<PublishCommit>;
  /** Drops a pending claim of `owner` (the publish failed), so a retry can run. */
  release(appId: string, channel: string, key: string, owner: string): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Active-stream registry (PROTOCOL.md 7.4)

export interface ActiveStreamEntry {
  readonly appId: string;
  readonly channel: string;
  readonly messageSerial: string;
  readonly versionSerial: string;
  readonly historySerial: Serial;
  readonly deliverySerial: Serial;
  /** Stamped by the store from the clock on every upsert. */
  readonly lastSeenMs: number;
}

export type ActiveStreamUpsert = Omit<ActiveStreamEntry, 'lastSeenMs'>;

export interface ActiveStreamRegistry {
  /** Upserts while streaming (after each commit). Ignored (returns false) when the stored entry
   * has a higher delivery serial: a late writer never rolls the entry back. */
  upsert(entry: ActiveStreamUpsert, ttlMs: number): Promise<boolean>;
  /** Removes the entry (status no longer streaming). With `deliverySerial`, only if the stored
   * entry is not newer. */
  remove(appId: string, channel: string, messageSerial: string, deliverySerial?: Serial): Promise<boolean>;
  get(appId: string, channel: string, messageSerial: string): Promise<ActiveStreamEntry | undefined>;
  /** The advisory per-channel count of live entries. */
  count(appId: string, channel: string): Promise<number>;
  /** Live entries not seen since `cutoffMs` (lastSeenMs <= cutoffMs), oldest first, at most
   * `limit` (<= 4096): the janitor's page. */
  listIdle(cutoffMs: number, limit: number): Promise<ActiveStreamEntry[]>;
}

// ---------------------------------------------------------------------------------------------
// Single-runner claims (orphan claims, other per-item cluster jobs; STANDARDS C6)

export type ClaimResult =
  | { readonly claimed: true; readonly expiresAtMs: number }
  | { readonly claimed: false; readonly owner: string; readonly expiresAtMs: number };

export interface ClaimStore {
  /** Set-if-absent with TTL: the first claimant wins; every other gets false until expiry. */
  tryClaim(appId: string, name: string, owner: string, ttlMs: number): Promise<ClaimResult>;
  /** Compare-and-delete: releases only the caller's own claim. */
  release(appId: string, name: string, owner: string): Promise<boolean>;
}

/** The claim name of the orphan janitor for one stream (`ai_transport:orphan_claim:…`). */
export function orphanClaimName(channel: string, messageSerial: string): string {
  return `orphan:${channel.length}:${channel}:${messageSerial}`;
}
