// The operator's channel → policy rule must be the data plane's (tests may import the data plane).
import { describe, expect, it } from 'vitest';
import { compilePolicies, findPolicy, parsePolicyDocument } from '../../../dataplane/src/config/channel-policies.ts';
import { governingPolicy, type PolicySelector } from './channel-match.ts';

const policies: PolicySelector[] = [
  { name: 'b-exact', appId: 'app', channels: { names: ['private-ai-7', 'chat'] } },
  { name: 'a-prefix', appId: 'app', channels: { prefixes: ['private-ai-'] } },
  { name: 'c-glob', appId: 'app', channels: { patterns: ['presence-*-room?', 'x.y+z'] } },
  { name: 'd-other', appId: 'other', channels: { patterns: ['*'] } },
];

describe('governingPolicy', () => {
  it('agrees with the data plane on every case', () => {
    const parsed = parsePolicyDocument({
      version: 1,
      policies: policies.map((p) => ({
        name: p.name,
        appId: p.appId,
        channels: {
          names: [...(p.channels.names ?? [])],
          prefixes: [...(p.channels.prefixes ?? [])],
          patterns: [...(p.channels.patterns ?? [])],
        },
      })),
    });
    if (!parsed.ok) throw new Error(parsed.issues.join('; '));
    const compiled = compilePolicies(parsed.doc.policies);
    const cases: Array<[string, string, string | undefined]> = [
      ['app', 'private-ai-7', 'a-prefix'], // first by name wins over the exact name of b-exact
      ['app', 'chat', 'b-exact'],
      ['app', 'presence-x-room1', 'c-glob'],
      ['app', 'presence-x-room12', undefined],
      ['app', 'x.y+z', 'c-glob'],
      ['app', 'xAy+z', undefined],
      ['other', 'anything', 'd-other'],
      ['nope', 'chat', undefined],
    ];
    for (const [app, channel, want] of cases) {
      expect(governingPolicy(policies, app, channel), `${app}/${channel}`).toBe(want);
      expect(findPolicy(compiled, app, channel)?.name, `data plane ${app}/${channel}`).toBe(want);
    }
  });
});
