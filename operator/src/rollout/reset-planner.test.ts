// The reset planner: each trigger (manual token in spec or annotation, automatic after the grace
// period) × each observation (blocked, listing failed, rate limits, dry run), on a fake clock.
import { describe, expect, it } from 'vitest';
import { ResetSchema } from '../api/v1alpha1/channelpolicy.ts';
import type { AdminChannel } from '../dataplane/admin-client.ts';
import { MAX_RESET_ITEMS, planReset, type ResetItem, type ResetObservation, summarizeRun } from './reset-planner.ts';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function ch(channel: string, ageSeconds: number): AdminChannel {
  return {
    appId: 'app',
    channel,
    durableState: 'reset_required',
    reason: 'gap',
    streamId: `s-${channel}`,
    lastTransitionAtMs: NOW - ageSeconds * 1000,
  };
}

function obs(reset: Record<string, unknown>, patch: Partial<ResetObservation> = {}): ResetObservation {
  return {
    now: NOW,
    reset: ResetSchema.parse(reset),
    channels: { ok: true, items: [ch('c-old', 900), ch('c-new', 10)] },
    ...patch,
  };
}

describe('planReset', () => {
  describe('Manual', () => {
    it('does nothing without a request token, and says how to ask', () => {
      const p = planReset(obs({}));
      expect(p.decision).toMatchObject({ kind: 'idle' });
      expect((p.decision as { message: string }).message).toContain('set spec.reset.request.token');
      expect(p.resetRequired).toBe(2);
      expect(p.pendingToken).toBeUndefined();
    });

    it('runs once per new token, oldest channel first, whatever their age', () => {
      const p = planReset(obs({ request: { token: 't1', reason: 'redis failover' } }));
      expect(p.decision).toMatchObject({
        kind: 'run',
        trigger: 'Manual',
        token: 't1',
        reason: 't1: redis failover',
        dryRun: false,
        remaining: 0,
      });
      expect((p.decision as { channels: readonly AdminChannel[] }).channels.map((c) => c.channel)).toEqual([
        'c-old',
        'c-new',
      ]);
      const handled = planReset(obs({ request: { token: 't1' } }, { previous: { lastHandledResetToken: 't1' } }));
      expect(handled.decision.kind).toBe('idle');
    });

    it('takes the annotation token when the spec has none; the spec token wins when both are set', () => {
      expect(planReset(obs({}, { annotationToken: 'a1' })).decision).toMatchObject({ kind: 'run', token: 'a1' });
      expect(planReset(obs({ request: { token: 's1' } }, { annotationToken: 'a1' })).decision).toMatchObject({
        token: 's1',
      });
      expect(
        planReset(obs({}, { annotationToken: 'a1', previous: { lastHandledResetToken: 'a1' } })).decision.kind,
      ).toBe('idle');
    });

    it('runs a request even with nothing to reset (the token is then handled)', () => {
      const p = planReset(obs({ request: { token: 't' } }, { channels: { ok: true, items: [] } }));
      expect(p.decision).toMatchObject({ kind: 'run', channels: [], remaining: 0 });
    });

    it('caps a run at maxChannelsPerRun and reports the rest', () => {
      const items = Array.from({ length: 7 }, (_, i) => ch(`c${i}`, 100 - i));
      const p = planReset(obs({ request: { token: 't' }, maxChannelsPerRun: 3 }, { channels: { ok: true, items } }));
      expect(p.decision).toMatchObject({ kind: 'run', remaining: 4 });
      expect((p.decision as { channels: readonly AdminChannel[] }).channels.map((c) => c.channel)).toEqual([
        'c0',
        'c1',
        'c2',
      ]);
    });

    it('retries a run that had failures only after a pause', () => {
      const previous = {
        lastReset: { trigger: 'Manual' as const, token: 't', startedAt: iso(NOW - 10_000), failed: 1 },
      };
      const p = planReset(obs({ request: { token: 't' } }, { previous }));
      expect(p.decision).toMatchObject({ kind: 'idle', requeueAfterMs: 20_000 });
      expect(planReset(obs({ request: { token: 't' } }, { previous, now: NOW + 21_000 })).decision.kind).toBe('run');
      // a new token is not held back by the failure of another
      expect(planReset(obs({ request: { token: 'u' } }, { previous })).decision.kind).toBe('run');
    });
  });

  describe('Automatic', () => {
    it('resets only channels reset_required longer than graceSeconds, and looks again when the next one is due', () => {
      const p = planReset(obs({ policy: 'Automatic', graceSeconds: 300 }));
      expect(p.decision).toMatchObject({ kind: 'run', trigger: 'Automatic', dryRun: false });
      expect((p.decision as { channels: readonly AdminChannel[] }).channels.map((c) => c.channel)).toEqual(['c-old']);
      const young = planReset(
        obs({ policy: 'Automatic', graceSeconds: 300 }, { channels: { ok: true, items: [ch('c', 10)] } }),
      );
      expect(young.decision).toMatchObject({ kind: 'idle', requeueAfterMs: 290_000 });
    });

    it('keeps minIntervalSeconds between automatic runs (a manual run does not count)', () => {
      const auto = { lastReset: { trigger: 'Automatic' as const, startedAt: iso(NOW - 60_000), failed: 0 } };
      const p = planReset(obs({ policy: 'Automatic', minIntervalSeconds: 600 }, { previous: auto }));
      expect(p.decision).toMatchObject({ kind: 'idle', requeueAfterMs: 540_000 });
      const manual = { lastReset: { trigger: 'Manual' as const, startedAt: iso(NOW - 60_000), failed: 0 } };
      expect(planReset(obs({ policy: 'Automatic', minIntervalSeconds: 600 }, { previous: manual })).decision.kind).toBe(
        'run',
      );
    });

    it('reports a dry run as such', () => {
      expect(planReset(obs({ policy: 'Automatic', dryRun: true })).decision).toMatchObject({
        kind: 'run',
        dryRun: true,
      });
    });
  });

  it('never runs while blocked (a rollout step, cluster not Ready), but still counts the channels', () => {
    const p = planReset(obs({ request: { token: 't' } }, { blocked: 'a rollout step is in flight' }));
    expect(p.decision).toMatchObject({ kind: 'blocked', message: 'a rollout step is in flight' });
    expect(p.resetRequired).toBe(2);
    expect(p.pendingToken).toBe('t');
    // blocked does not matter when there is nothing to run
    expect(planReset(obs({}, { blocked: 'x' })).decision.kind).toBe('idle');
  });

  it('reports a listing failure instead of guessing', () => {
    const p = planReset(obs({ request: { token: 't' } }, { channels: { ok: false, error: 'ECONNREFUSED' } }));
    expect(p.decision).toMatchObject({ kind: 'blocked', message: 'cannot list reset-required channels: ECONNREFUSED' });
    expect(p.resetRequired).toBeUndefined();
  });
});

describe('summarizeRun', () => {
  it('counts results and keeps at most MAX_RESET_ITEMS items', () => {
    const items: ResetItem[] = Array.from({ length: 25 }, (_, i) => ({
      channel: `c${i}`,
      result: i < 20 ? 'Reset' : i < 23 ? 'Skipped' : 'Failed',
    }));
    const s = summarizeRun(
      { kind: 'run', trigger: 'Manual', token: 't', reason: 't', dryRun: false, channels: [], remaining: 5 },
      items,
      'a',
      'b',
    );
    expect(s).toMatchObject({ trigger: 'Manual', token: 't', channelsReset: 20, skipped: 3, failed: 2, remaining: 5 });
    expect(s.items).toHaveLength(MAX_RESET_ITEMS);
  });
});
