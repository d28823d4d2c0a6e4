// Identifiers on the wire. Randomness is injected so the formats are testable.
import { randomBytes, randomUUID } from 'node:crypto';

/** Socket id `"<u64>.<u64>"` in decimal (PROTOCOL.md 1.2), from 16 random bytes. */
export function formatSocketId(bytes: Uint8Array): string {
  if (bytes.length < 16) throw new TypeError('formatSocketId needs 16 bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
  return `${view.getBigUint64(0)}.${view.getBigUint64(8)}`;
}

export function newSocketId(): string {
  return formatSocketId(randomBytes(16));
}

export const SOCKET_ID_PATTERN = /^\d{1,20}\.\d{1,20}$/;

/** UUID v4 for V2 `message_id`s. */
export function newMessageId(): string {
  return randomUUID();
}
