import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ChannelPolicy } from './channel-policies.ts';
import { PolicySource, PolicySourceError } from './policy-source.ts';

const doc = (windowMs: number) =>
  JSON.stringify({
    version: 1,
    policies: [{ name: 'p', appId: 'a', channels: { prefixes: ['x'] }, rollup: { windowMs } }],
  });

function source(files: Map<string, string>, applied: ChannelPolicy[][], results: string[] = []) {
  return new PolicySource({
    file: '/policies.json',
    inline: [],
    intervalMs: 1_000_000,
    apply: (p) => applied.push([...p]),
    onReload: (r) => results.push(r),
    logger: pino({ level: 'silent' }),
    now: () => 1000,
    read: async (p) => {
      const text = files.get(p);
      if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return text;
    },
  });
}

describe('PolicySource', () => {
  it('loads at start, applies a changed file, skips an unchanged one', async () => {
    const files = new Map([['/policies.json', doc(40)]]);
    const applied: ChannelPolicy[][] = [];
    const results: string[] = [];
    const s = source(files, applied, results);
    await s.start();
    expect(applied.at(-1)?.[0]?.rollup.windowMs).toBe(40);
    expect(s.status()).toMatchObject({ source: 'file', count: 1, generation: 1, lastError: null });
    await s.reload();
    expect(results).toEqual(['unchanged']);
    files.set('/policies.json', doc(100));
    await s.reload();
    expect(results).toEqual(['unchanged', 'applied']);
    expect(applied.at(-1)?.[0]?.rollup.windowMs).toBe(100);
    expect(s.status().generation).toBe(2);
    s.stop();
  });

  it('keeps the previous policies when the file stops parsing, and says why', async () => {
    const files = new Map([['/policies.json', doc(40)]]);
    const applied: ChannelPolicy[][] = [];
    const s = source(files, applied);
    await s.start();
    files.set('/policies.json', '{"version":1,"policies":[{"name":"p"}]}');
    const st = await s.reload();
    expect(applied).toHaveLength(1);
    expect(st.lastError).toMatch(/policies\.0\.appId/);
    expect(st.generation).toBe(1);
    files.set('/policies.json', 'not json');
    expect((await s.reload()).lastError).toBe('not valid JSON');
    s.stop();
  });

  it('fails the start when the file is missing or invalid', async () => {
    await expect(source(new Map(), []).start()).rejects.toBeInstanceOf(PolicySourceError);
    await expect(source(new Map([['/policies.json', '[]']]), []).start()).rejects.toThrow(/channel policies/);
  });

  it('applies inline policies once and never polls', async () => {
    const applied: ChannelPolicy[][] = [];
    const s = new PolicySource({
      file: undefined,
      inline: [],
      intervalMs: 10,
      apply: (p) => applied.push([...p]),
      logger: pino({ level: 'silent' }),
      now: () => 0,
    });
    await s.start();
    expect(applied).toHaveLength(1);
    expect((await s.reload()).source).toBe('inline');
    expect(applied).toHaveLength(1);
  });
});
