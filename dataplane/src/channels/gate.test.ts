import { describe, expect, it } from 'vitest';
import { GateFullError, OrderingGate } from './gate.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('OrderingGate', () => {
  it('runs the operations of one key one at a time, in call order', async () => {
    const gate = new OrderingGate(100);
    const log: string[] = [];
    let release!: () => void;
    const blocker = new Promise<void>((r) => {
      release = r;
    });
    const a = gate.run('k', async () => {
      log.push('a:start');
      await blocker;
      log.push('a:end');
    });
    const b = gate.run('k', async () => {
      log.push('b');
    });
    await tick();
    expect(log).toEqual(['a:start']);
    expect(gate.depthOf('k')).toBe(2);
    release();
    await Promise.all([a, b]);
    expect(log).toEqual(['a:start', 'a:end', 'b']);
    await tick();
    expect(gate.activeKeys).toBe(0);
    expect(gate.pending).toBe(0);
  });

  it('never makes another key wait', async () => {
    const gate = new OrderingGate(10);
    const never = gate.run('slow', () => new Promise<void>(() => {}));
    const done = await gate.run('fast', async () => 42);
    expect(done).toBe(42);
    expect(gate.depthOf('slow')).toBe(1);
    void never;
  });

  it('passes results and errors through and keeps going after a failure', async () => {
    const gate = new OrderingGate(10);
    const failing = gate.run('k', async () => {
      throw new Error('boom');
    });
    const next = gate.run('k', async () => 'ok');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
  });

  it('refuses past its bound per key instead of queueing forever', async () => {
    const gate = new OrderingGate(2);
    const hold = new Promise<void>(() => {});
    void gate.run('k', () => hold);
    void gate.run('k', () => hold);
    await expect(gate.run('k', async () => 1)).rejects.toBeInstanceOf(GateFullError);
    await expect(gate.run('other', async () => 1)).resolves.toBe(1);
  });

  it('idle() resolves once everything queued settled', async () => {
    const gate = new OrderingGate(10);
    let done = 0;
    for (let i = 0; i < 5; i++) {
      void gate.run(`k${i % 2}`, async () => {
        await tick();
        done++;
      });
    }
    await gate.idle();
    expect(done).toBe(5);
    expect(gate.pending).toBe(0);
  });
});
