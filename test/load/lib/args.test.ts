import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './args.ts';

describe('benchmark arguments', () => {
  const known = ['fanout', 'rollup', 'ingress'] as const;

  it('runs every benchmark when none is named', () => {
    expect(parseBenchArgs([], known)).toEqual({ names: ['fanout', 'rollup', 'ingress'], overrides: {} });
  });

  it('keeps the named ones, once, in order, and numeric overrides', () => {
    expect(parseBenchArgs(['rollup', '--durationSeconds=5', 'fanout', 'rollup', '--ratio=0.5'], known)).toEqual({
      names: ['rollup', 'fanout'],
      overrides: { durationSeconds: 5, ratio: 0.5 },
    });
  });

  it('refuses what it does not know, naming the choices', () => {
    const r = parseBenchArgs(['rolup'], known);
    expect(r).toEqual({ error: expect.stringContaining('"rolup"') });
    expect('error' in r && r.error).toContain('fanout, rollup, ingress');
    expect(parseBenchArgs(['--durationSeconds=abc'], known)).toHaveProperty('error');
  });
});
