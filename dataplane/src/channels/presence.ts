// Presence bookkeeping for one channel (PROTOCOL.md 2.2, Pusher presence semantics). Pure.
// A user may be subscribed from several sockets: member_added is due only on the first
// socket of a user, member_removed only when its last socket leaves.
import type { PresenceSnapshot } from '../protocol/sender.ts';

interface Member {
  info: unknown;
  sockets: number;
}

export class PresenceMembers {
  readonly #members = new Map<string, Member>();

  get size(): number {
    return this.#members.size;
  }

  has(userId: string): boolean {
    return this.#members.has(userId);
  }

  /** True when adding `userId` would take the channel over `max` distinct users. */
  wouldExceed(userId: string, max: number): boolean {
    return !this.#members.has(userId) && this.#members.size >= max;
  }

  /** Adds one socket of `userId`; `true` when the user is new (send member_added). */
  add(userId: string, info: unknown): boolean {
    const m = this.#members.get(userId);
    if (m) {
      m.sockets += 1;
      return false;
    }
    this.#members.set(userId, { info, sockets: 1 });
    return true;
  }

  /** Removes one socket of `userId`; `true` when it was the last one (send member_removed). */
  remove(userId: string): boolean {
    const m = this.#members.get(userId);
    if (!m) return false;
    m.sockets -= 1;
    if (m.sockets > 0) return false;
    this.#members.delete(userId);
    return true;
  }

  ids(): string[] {
    return [...this.#members.keys()];
  }

  snapshot(): PresenceSnapshot {
    const hash: Record<string, unknown> = {};
    for (const [id, m] of this.#members) hash[id] = m.info ?? null;
    return { ids: Object.keys(hash), hash, count: this.#members.size };
  }
}

export type ChannelDataResult = { ok: true; userId: string; userInfo: unknown } | { ok: false; reason: string };

/** Parses presence `channel_data` (`{"user_id":…,"user_info":…}`), bounded by `maxBytes`. */
export function parseChannelData(channelData: string | undefined, maxBytes: number): ChannelDataResult {
  if (channelData === undefined || channelData === '') return { ok: false, reason: 'channel_data is required' };
  if (Buffer.byteLength(channelData) > maxBytes) return { ok: false, reason: `larger than ${maxBytes} bytes` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(channelData);
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  const { user_id: rawId, user_info: userInfo } = parsed as Record<string, unknown>;
  let userId: string;
  if (typeof rawId === 'string') userId = rawId;
  else if (typeof rawId === 'number' && Number.isFinite(rawId)) userId = String(rawId);
  else return { ok: false, reason: 'user_id is required' };
  if (userId === '' || userId.length > 128) return { ok: false, reason: 'user_id must be 1-128 characters' };
  return { ok: true, userId, userInfo };
}
