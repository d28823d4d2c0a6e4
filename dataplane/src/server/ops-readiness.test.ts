import { describe, expect, it } from 'vitest';
import { condition, Readiness } from './ops-readiness.ts';

describe('Readiness', () => {
  it('is ready when every check passes, and names the failing ones', async () => {
    let draining = false;
    const r = new Readiness()
      .add(condition('config', () => true, 'x'))
      .add(condition('draining', () => !draining, 'node is draining'));
    expect(await r.evaluate()).toEqual({ ready: true, checks: { config: { ok: true }, draining: { ok: true } } });
    draining = true;
    expect(await r.evaluate()).toMatchObject({
      ready: false,
      checks: { draining: { ok: false, reason: 'node is draining' } },
    });
  });

  it('bounds a hung check by its timeout and catches a throwing one', async () => {
    const r = new Readiness().add({ name: 'store', check: () => new Promise(() => {}), timeoutMs: 20 }).add({
      name: 'boom',
      check: () => {
        throw new Error('bad');
      },
    });
    const report = await r.evaluate();
    expect(report.ready).toBe(false);
    expect(report.checks.store).toEqual({ ok: false, reason: 'check timed out after 20 ms' });
    expect(report.checks.boom).toEqual({ ok: false, reason: 'check failed: bad' });
  });

  it('lets later issues add and remove checks by name', async () => {
    const r = new Readiness().add(condition('redis', () => false, 'redis unreachable'));
    expect((await r.evaluate()).ready).toBe(false);
    r.remove('redis');
    expect((await r.evaluate()).ready).toBe(true);
  });
});
