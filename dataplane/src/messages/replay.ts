// How a cold (version store) replay is shaped for a socket, so that it looks like the live
// delivery the socket missed (PROTOCOL.md 6.5: "rebuilt live-style"). Pure over the replay page.
//
// - Full mode: each append frame carries the aggregate as of its own version. The store keeps
//   only fragments for older appends, so the aggregate is derived backwards from the message's
//   latest aggregate by removing fragments; where that is impossible (the latest is ahead of the
//   page, or an update/delete lies in between) the frame carries the latest aggregate instead,
//   which a full-mode client applies the same way (state = data) and later versions leave alone.
// - A socket with a rollup window gets one frame per run of appends to a message, the last, as
//   live rollup would have sent it (live frames may skip serials, section 5). Without that, a
//   full-mode replay of a long answer would be one copy of the whole text per token.
import type { Aggregate, MessageData, VersionRecord } from './model.ts';

/** The data each version's full-mode frame carries (same index as `versions`). */
export function fullModeData(
  versions: readonly VersionRecord[],
  latest: ReadonlyMap<string, Aggregate>,
): Array<MessageData | undefined> {
  const out: Array<MessageData | undefined> = versions.map((v) => v.data);
  const byMessage = new Map<string, number[]>();
  versions.forEach((v, i) => {
    const list = byMessage.get(v.message_serial);
    if (list) list.push(i);
    else byMessage.set(v.message_serial, [i]);
  });
  for (const [ms, indexes] of byMessage) {
    const agg = latest.get(ms);
    const lastIndex = indexes[indexes.length - 1] as number;
    const fallback = agg?.latest.data;
    // The aggregate as of the version being looked at, walking backwards; undefined: not known.
    let current: MessageData | undefined =
      agg && agg.latest.version_serial === (versions[lastIndex] as VersionRecord).version_serial
        ? agg.latest.data
        : undefined;
    for (let k = indexes.length - 1; k >= 0; k--) {
      const i = indexes[k] as number;
      const v = versions[i] as VersionRecord;
      if (v.data !== undefined) current = v.data;
      if (v.action === 'append') out[i] = current ?? fallback ?? v.fragment ?? '';
      // Step back over this version.
      const f = v.fragment;
      current =
        v.action === 'append' && typeof current === 'string' && f !== undefined && current.endsWith(f)
          ? current.slice(0, current.length - f.length)
          : undefined;
    }
  }
  return out;
}

/** Which versions a socket with a rollup window gets: all but appends followed by another append to the same message. */
export function coalesceAppendRuns(versions: readonly VersionRecord[]): boolean[] {
  const keep = versions.map(() => true);
  const lastSeen = new Map<string, number>();
  versions.forEach((v, i) => {
    const prev = lastSeen.get(v.message_serial);
    if (prev !== undefined && v.action === 'append' && (versions[prev] as VersionRecord).action === 'append') {
      keep[prev] = false;
    }
    lastSeen.set(v.message_serial, i);
  });
  return keep;
}
