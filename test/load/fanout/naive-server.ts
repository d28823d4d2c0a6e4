// The "raw naive floor": the smallest broadcaster one would write with `ws` — JSON.stringify
// and ws.send per recipient, no batching, no shared encoding. It speaks just enough of the
// Pusher protocol for the benchmark's subscribers. Started as its own process by the bench.
//
// With `--prebuilt` it is instead the write floor of Node itself: the message is encoded and
// framed once and the same Buffer is written to every recipient's net.Socket — nothing but one
// socket write per recipient, which no broadcaster on Node can go below. Its efficiency over
// the naive floor is the most any implementation can reach on the machine.
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { textFrame } from '../../../dataplane/src/server/ws-frame.ts';

const prebuilt = process.argv.includes('--prebuilt');

const channels = new Map<string, Set<WebSocket>>();
let nextId = 1;
const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/publish') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const { channel, event, data } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      channel: string;
      event: string;
      data: string;
    };
    if (prebuilt) {
      const frame = textFrame(JSON.stringify({ event, channel, data }));
      for (const ws of channels.get(channel) ?? []) (ws as unknown as { _socket: Socket })._socket.write(frame);
    } else {
      for (const ws of channels.get(channel) ?? []) ws.send(JSON.stringify({ event, channel, data }));
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  const id = `${nextId++}.${process.pid}`;
  const joined = new Set<string>();
  ws.send(
    JSON.stringify({
      event: 'pusher:connection_established',
      data: JSON.stringify({ socket_id: id, activity_timeout: 120 }),
    }),
  );
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString()) as { event: string; data?: { channel?: string } };
    const channel = frame.data?.channel;
    if (frame.event === 'pusher:subscribe' && channel) {
      let set = channels.get(channel);
      if (!set) {
        set = new Set();
        channels.set(channel, set);
      }
      set.add(ws);
      joined.add(channel);
      ws.send(JSON.stringify({ event: 'pusher_internal:subscription_succeeded', channel, data: '{}' }));
    } else if (frame.event === 'pusher:ping') {
      ws.send('{"event":"pusher:pong"}');
    }
  });
  ws.on('close', () => {
    for (const c of joined) channels.get(c)?.delete(ws);
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ listening: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
