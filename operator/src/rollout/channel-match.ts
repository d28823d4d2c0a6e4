// Which ChannelPolicy governs a channel: the first policy (by name) of the app whose names,
// prefixes or glob patterns match it — the rule the data plane applies to channel-policies.json
// (dataplane/src/config/channel-policies.ts findPolicy; channel-match.test.ts checks they agree).
// The operator keeps its own copy because it imports only the data plane's contract.

export interface PolicySelector {
  readonly name: string;
  readonly appId: string;
  readonly channels: {
    readonly names?: readonly string[];
    readonly prefixes?: readonly string[];
    readonly patterns?: readonly string[];
  };
}

/** A glob (`*` any run, `?` one character) as an anchored RegExp; everything else is literal. */
export function globRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

export function selectorMatches(p: PolicySelector, appId: string, channel: string): boolean {
  if (p.appId !== appId) return false;
  if (p.channels.names?.includes(channel)) return true;
  if (p.channels.prefixes?.some((x) => x.length > 0 && channel.startsWith(x))) return true;
  return p.channels.patterns?.some((g) => globRegExp(g).test(channel)) ?? false;
}

/** The name of the policy that governs the channel among `policies` (any order), if any. */
export function governingPolicy(
  policies: readonly PolicySelector[],
  appId: string,
  channel: string,
): string | undefined {
  const sorted = [...policies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return sorted.find((p) => selectorMatches(p, appId, channel))?.name;
}
