// The version store of versioned messages (PROTOCOL.md 3.3, 3.4 layer 3, 4.3, 6.5 cold tier).
// The mutation rules are pure and live in `messages/mutations.ts` (`applyMutation`); this store
// is what they need from durable state, each step ONE atomic call (STANDARDS C1):
//
//   1. `snapshot(app, ch, messageSerial, op?)` → latest aggregate, the op_id receipt if any,
//      the next delivery serial and the open-streaming count;
//   2. the caller runs `applyMutation(snapshot.latest, input, limits, {version_serial,
//      delivery_serial: snapshot.nextDeliverySerial, timestamp_ms, prior_op: snapshot.priorOp})`;
//   3. `commitMutation(app, ch, {expectedLatestVersionSerial, next, streaming, ...})`: a
//      compare-and-swap on the message's latest version. The store assigns the delivery serial
//      (the per-channel counter, separate from history serials) atomically with the write and
//      returns the committed record: `next.latest.delivery_serial` is provisional and replaced.
//      On `conflict` the result carries a fresh snapshot: go back to 2.
//
// The op_id receipt (`opKey(message_serial, action, op_id)`) is written with the version, and
// the open-streaming cap is enforced inside the commit, so neither can be raced.
import type { Aggregate, MutationAction, OpReceipt, VersionRecord } from '../messages/model.ts';
import type { DurableState, HistoryDirection, Serial } from './types.ts';

export interface VersionSnapshot {
  readonly streamId: string;
  readonly durableState: DurableState;
  /** The message's latest aggregate; undefined when it does not exist (yet). */
  readonly latest: Aggregate | undefined;
  /** The receipt stored for the requested (action, op_id), if any. */
  readonly priorOp: OpReceipt | undefined;
  /** What the next commit on this channel will get; use it as the provisional delivery_serial. */
  readonly nextDeliverySerial: Serial;
  /** Messages of the channel whose latest version is streaming. */
  readonly openStreaming: number;
}

export interface CommitOptions {
  /** Whether the new latest version is `streaming` (AI transport status); drives the
   * open-streaming count. */
  readonly streaming: boolean;
  /** The open-streaming-messages cap, enforced atomically on a create or a transition to
   * streaming (PROTOCOL.md 4.3). Unset: no cap. */
  readonly maxOpenStreaming?: number;
}

export interface CommitCreateInput extends CommitOptions {
  /** `applyMutation(undefined, create, …).next`: latest is the create version. */
  readonly next: Aggregate;
}

export interface CommitMutationInput extends CommitOptions {
  /** The CAS predecessor: the version_serial the mutation was computed from. */
  readonly expectedLatestVersionSerial: string;
  /** `applyMutation(latest, mutation, …).next`. */
  readonly next: Aggregate;
}

export type CommitOutcome =
  | {
      readonly status: 'committed';
      readonly streamId: string;
      /** The committed version with its real delivery_serial. */
      readonly record: VersionRecord;
      readonly aggregate: Aggregate;
      readonly openStreaming: number;
    }
  /** Same (message, action, op_id) and fingerprint as an earlier commit: no write, no fanout. */
  | { readonly status: 'duplicate'; readonly streamId: string; readonly receipt: OpReceipt }
  /** Same op_id, different payload (HTTP 400 invalid_input). */
  | { readonly status: 'op_conflict'; readonly receipt: OpReceipt }
  /** The CAS lost: the latest moved. Re-apply on the fresh snapshot and retry. */
  | { readonly status: 'conflict'; readonly snapshot: VersionSnapshot }
  /** Mutation of an unknown message. */
  | { readonly status: 'not_found' }
  /** Create of a message_serial that already exists. */
  | { readonly status: 'exists'; readonly latest: Aggregate }
  /** version_serial not greater than the latest's (string order): generate a later one. */
  | { readonly status: 'stale_version_serial'; readonly latest: Aggregate }
  | {
      readonly status: 'limit_exceeded';
      readonly limit: 'open_streaming_messages';
      readonly max: number;
      readonly current: number;
    };

export interface VersionPageQuery {
  /** Default newest_first. */
  readonly direction?: HistoryDirection;
  /** 1..1000, default 100. */
  readonly limit?: number;
  /** A version_serial: the page continues after it (exclusive), as in PROTOCOL.md 9.3. */
  readonly cursor?: string | null;
}

export interface VersionPage {
  /** Versions as committed. Append versions other than the latest may omit `data` (the
   * aggregate at that point) and keep only `fragment`: that is all GET versions shows. */
  readonly items: readonly VersionRecord[];
  readonly hasMore: boolean;
  readonly nextCursor: string | null;
}

export interface VersionStreamInfo {
  readonly streamId: string;
  readonly durableState: DurableState;
  readonly reason: string | null;
  readonly lostStreamId: string | null;
  readonly lastTransitionAtMs: number;
  readonly nextDeliverySerial: Serial;
  /** Replay floor: the oldest delivery serial `replayAfter` can still return (null: none). */
  readonly oldestDeliverySerial: Serial | null;
  readonly newestDeliverySerial: Serial | null;
  readonly openStreaming: number;
  readonly messageCount: number;
}

export interface ReplayPage {
  readonly stream: VersionStreamInfo;
  /** Versions with delivery_serial > after, ascending, at most `limit`. Contiguous unless the
   * store lost or evicted some (the recovery ladder checks). Append versions other than the
   * latest of their message may omit `data` (see VersionPage). */
  readonly items: readonly VersionRecord[];
  /** The latest aggregate of each message that appears in `items` (for `full` append mode and
   * for rebuilding frames). */
  readonly latest: readonly Aggregate[];
  readonly hasMore: boolean;
}

export interface VersionResetResult {
  readonly previousStreamId: string;
  readonly newStreamId: string;
  readonly purgedMessages: number;
}

export interface VersionStore {
  /** Everything a mutation needs to be computed, read atomically. `op` selects the receipt. */
  snapshot(
    appId: string,
    channel: string,
    messageSerial: string,
    op?: { readonly action: MutationAction; readonly opId: string },
  ): Promise<VersionSnapshot>;

  /** Commits a create: assigns the next delivery serial. `exists` if the message_serial is taken. */
  commitCreate(appId: string, channel: string, input: CommitCreateInput): Promise<CommitOutcome>;

  /**
   * Commits a mutation by compare-and-swap on the latest version. Order of checks:
   * not_found → op_id receipt (duplicate / op_conflict) → CAS (conflict) → version_serial
   * order → open-streaming cap → commit (delivery serial, version, op receipt, latest).
   */
  commitMutation(
    appId: string,
    channel: string,
    messageSerial: string,
    input: CommitMutationInput,
  ): Promise<CommitOutcome>;

  /** The latest aggregate of one message (GET …/messages/{ms}, history substitution). */
  latest(appId: string, channel: string, messageSerial: string): Promise<Aggregate | undefined>;

  /** The versions of one message, paginated by version_serial. Empty for an unknown message. */
  versions(appId: string, channel: string, messageSerial: string, query?: VersionPageQuery): Promise<VersionPage>;

  /** Cold recovery: versions with delivery_serial > `afterDeliverySerial`, ascending. */
  replayAfter(appId: string, channel: string, afterDeliverySerial: Serial, limit: number): Promise<ReplayPage>;

  /** The channel's version stream: epoch, counters, replay floor, open streams. */
  streamState(appId: string, channel: string): Promise<VersionStreamInfo>;

  /** Messages of the channel whose latest version is streaming (PROTOCOL.md 7.4 authoritative count). */
  openStreamingCount(appId: string, channel: string): Promise<number>;

  /** Drops every message of the channel and starts a new epoch (delivery serials restart at 1). */
  reset(appId: string, channel: string, reason: string): Promise<VersionResetResult>;
}
