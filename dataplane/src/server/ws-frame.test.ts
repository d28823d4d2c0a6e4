import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { frameHeaderBytes, framePayloadBytes, textFrame } from './ws-frame.ts';

// Lengths around each header size boundary (7-bit, 16-bit, 64-bit lengths).
const LENGTHS = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000];

let server: WebSocketServer | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('textFrame', () => {
  it('declares the payload length in the smallest header', () => {
    for (const n of LENGTHS) {
      const frame = textFrame(Buffer.alloc(n, 0x61));
      expect(frame[0]).toBe(0x81);
      expect(frame.length).toBe(frameHeaderBytes(n) + n);
      expect(framePayloadBytes(frame)).toBe(n);
    }
    expect([frameHeaderBytes(125), frameHeaderBytes(126), frameHeaderBytes(65_535), frameHeaderBytes(65_536)]).toEqual([
      2, 4, 4, 10,
    ]);
  });

  it('frames strings by their UTF-8 bytes, like a Buffer of the same text', () => {
    const text = 'héllo → 世界 🎉';
    expect(textFrame(text).equals(textFrame(Buffer.from(text)))).toBe(true);
    expect(framePayloadBytes(textFrame(text))).toBe(Buffer.byteLength(text));
  });

  it('is read back by a real WebSocket client, in order, sizes across every boundary', async () => {
    const messages = [...LENGTHS.map((n) => 'x'.repeat(n)), '{"event":"é"}'];
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise<void>((resolve) => server?.once('listening', () => resolve()));
    server.on('connection', (ws) => {
      const socket = (ws as unknown as { _socket: Socket })._socket;
      socket.cork();
      for (const m of messages) socket.write(textFrame(m));
      socket.uncork();
      // ws's own frames interleave with ours on the same socket.
      ws.send('via ws');
    });
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      client.on('message', (data, isBinary) => {
        expect(isBinary).toBe(false);
        got.push(data.toString());
        if (got.length === messages.length + 1) resolve();
      });
      client.on('error', reject);
      client.on('close', (code) => reject(new Error(`closed ${code}`)));
    });
    client.terminate();
    expect(got).toEqual([...messages, 'via ws']);
  });
});
