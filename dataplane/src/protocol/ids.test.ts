import { describe, expect, it } from 'vitest';
import { formatSocketId, newSocketId, SOCKET_ID_PATTERN } from './ids.ts';

describe('socket ids', () => {
  it('formats two u64 in decimal', () => {
    const bytes = new Uint8Array(16).fill(255);
    expect(formatSocketId(bytes)).toBe('18446744073709551615.18446744073709551615');
    expect(formatSocketId(new Uint8Array(16))).toBe('0.0');
  });
  it('random ids match the pattern and differ', () => {
    const a = newSocketId();
    expect(a).toMatch(SOCKET_ID_PATTERN);
    expect(newSocketId()).not.toBe(a);
  });
});
