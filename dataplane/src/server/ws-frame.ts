// RFC 6455 section 5.2 framing of one server-to-client text message, built once per broadcast so
// the same bytes go to every recipient's socket (instead of `ws` framing it per send). Server
// frames are never masked; FIN is set (no fragmentation); no extension bits (the engine never
// negotiates permessage-deflate). Pure.

/** Header size of an unmasked frame carrying `payloadBytes`: 7-bit, 16-bit or 64-bit length. */
export function frameHeaderBytes(payloadBytes: number): 2 | 4 | 10 {
  return payloadBytes < 126 ? 2 : payloadBytes < 65_536 ? 4 : 10;
}

/** The complete frame (header and payload in one Buffer) of a text message. */
export function textFrame(payload: Buffer | string): Buffer {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const header = frameHeaderBytes(length);
  // allocUnsafe: every byte is written below; small frames come from Node's shared pool.
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN + opcode 1 (text)
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  if (typeof payload === 'string') frame.write(payload, header, 'utf8');
  else payload.copy(frame, header);
  return frame;
}

/** The payload length a frame built by `textFrame` declares in its header. */
export function framePayloadBytes(frame: Buffer): number {
  const len7 = (frame[1] as number) & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return frame.readUInt16BE(2);
  return frame.readUInt32BE(2) * 2 ** 32 + frame.readUInt32BE(6);
}
