import { describe, expect, it } from 'vitest';
import { AttachBuffer, type BufferedFrame } from './attach.ts';

const f = (serial: number, opts: Partial<BufferedFrame> = {}): BufferedFrame => ({
  frame: Buffer.from(`frame-${serial}`),
  serial,
  createHistorySerial: undefined,
  messageId: undefined,
  ...opts,
});

describe('AttachBuffer', () => {
  it('releases in arrival order what the snapshot did not cover', () => {
    const b = new AttachBuffer(10, 1024);
    b.push(f(5, { createHistorySerial: 2, messageId: 'm2' })); // a create in the snapshot
    b.push(f(6)); // a mutation: always released
    b.push(f(7, { createHistorySerial: 3, messageId: 'm3' })); // a create after the attach point
    const out = b.release({ historySerial: 2 });
    expect(out.map((x) => x.serial)).toEqual([6, 7]);
    expect(b.size).toBe(0);
  });

  it('drops frames a replay already sent (by serial) and rewound creates (by id), never mutations by id', () => {
    const b = new AttachBuffer(10, 1024);
    b.push(f(10));
    b.push(f(11, { messageId: 'm1' })); // mutation of a rewound message: newer than the rewind
    b.push(f(12, { createHistorySerial: 9, messageId: 'm1' }));
    expect(b.release({ serial: 10, messageIds: new Set(['m1']) }).map((x) => x.serial)).toEqual([11]);
  });

  it('overflows by count or bytes and then holds nothing', () => {
    const byCount = new AttachBuffer(2, 1024);
    expect(byCount.push(f(1))).toBe(true);
    expect(byCount.push(f(2))).toBe(true);
    expect(byCount.push(f(3))).toBe(false);
    expect(byCount.overflowed).toBe(true);
    expect(byCount.push(f(4))).toBe(false);
    expect(byCount.release({})).toEqual([]);
    const byBytes = new AttachBuffer(100, 10);
    expect(byBytes.push(f(1))).toBe(true);
    expect(byBytes.push(f(2))).toBe(false);
  });
});
