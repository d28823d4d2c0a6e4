// Every example CR parses with the zod schemas, and the CEL rules' TypeScript twins reject what
// the API server would reject.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ChannelPolicySchema } from './channelpolicy.ts';
import { AITransportClusterSchema, MAX_CLUSTER_NAME_LENGTH } from './cluster.ts';

const examples = new URL('../../../../examples/', import.meta.url);

function example(file: string): Record<string, unknown> {
  return parse(readFileSync(new URL(file, examples), 'utf8')) as Record<string, unknown>;
}

function minimal(spec: Record<string, unknown> = {}, name = 'demo'): Record<string, unknown> {
  const base = example('cluster-minimal.yaml');
  return { ...base, metadata: { name }, spec: { ...(base.spec as object), ...spec } };
}

function messages(result: { success: boolean; error?: { issues: Array<{ message: string }> } }): string[] {
  return result.success ? [] : (result.error?.issues.map((i) => i.message) ?? []);
}

describe('example CRs', () => {
  const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'));

  it.each(files)('%s parses', (file) => {
    const raw = example(file);
    const schema = raw.kind === 'ChannelPolicy' ? ChannelPolicySchema : AITransportClusterSchema;
    const result = schema.safeParse(raw);
    expect(messages(result)).toEqual([]);
  });

  it('applies the CRD defaults', () => {
    const c = AITransportClusterSchema.parse(example('cluster-minimal.yaml'));
    expect(c.spec.replicas).toBe(1);
    expect(c.spec.upgrade.drain.endpointPropagationSeconds).toBe(10);
    expect(c.spec.apps[0]?.secretRef.key).toBe('app-secret');
  });
});

describe('rules shared with CEL', () => {
  it('rejects image tag and digest together, and the latest tag', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(messages(AITransportClusterSchema.safeParse(minimal({ image: { tag: 'x', digest } })))).toEqual([
      expect.stringContaining('exclusive'),
    ]);
    expect(messages(AITransportClusterSchema.safeParse(minimal({ image: { tag: 'latest' } })))[0]).toContain('pinned');
  });

  it('needs exactly the Redis block of the mode', () => {
    const bad = minimal({ redis: { mode: 'External', managed: {} } });
    expect(messages(AITransportClusterSchema.safeParse(bad))[0]).toContain('redis.external');
    const good = minimal({ redis: { mode: 'External', external: { host: 'redis.example' } } });
    expect(AITransportClusterSchema.safeParse(good).success).toBe(true);
  });

  it('refuses a Redis key prefix the data plane would refuse (braces would break cluster hash tags)', () => {
    const withPrefix = (keyPrefix: string) =>
      minimal({ redis: { mode: 'External', external: { host: 'redis.example', keyPrefix } } });
    expect(messages(AITransportClusterSchema.safeParse(withPrefix('team{a}:')))[0]).toContain('no braces');
    expect(AITransportClusterSchema.safeParse(withPrefix('team-a.prod:')).success).toBe(true);
  });

  it('needs Redis for more than one replica, and a short name', () => {
    expect(messages(AITransportClusterSchema.safeParse(minimal({ replicas: 3 })))[0]).toContain('need spec.redis');
    const long = minimal({}, 'x'.repeat(MAX_CLUSTER_NAME_LENGTH + 1));
    expect(messages(AITransportClusterSchema.safeParse(long))[0]).toContain('metadata.name');
  });

  it('needs at least one channel selector in a ChannelPolicy', () => {
    const p = example('channelpolicy-ai.yaml');
    const empty = { ...p, spec: { ...(p.spec as object), channels: { names: [] } } };
    expect(messages(ChannelPolicySchema.safeParse(empty))[0]).toContain('at least one');
  });

  it('rejects unknown fields (the API server would prune or refuse them)', () => {
    expect(AITransportClusterSchema.safeParse(minimal({ replcas: 2 })).success).toBe(false);
  });
});
