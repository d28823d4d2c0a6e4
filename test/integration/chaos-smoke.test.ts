// The CI smoke subset of the chaos suite (`make chaos` runs every scenario): a node killed
// mid-stream and the pub/sub connections killed, each on a real 3-node cluster on redis-server,
// audited end to end (transcripts, serial order, no gap after recovery).
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../chaos/run.ts';
import { SCENARIOS } from '../../chaos/scenarios.ts';

const scenario = (name: string) => {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name}`);
  return s;
};

describe('chaos smoke', () => {
  for (const name of ['node-kill', 'pubsub-kill']) {
    it(`${name}: the audits hold after healing`, async () => {
      const report = await runScenario(scenario(name), { seed: 7, tokens: 60, rate: 40 });
      expect(report.failures).toEqual([]);
      expect(report.passed).toBe(true);
    }, 90_000);
  }
});
