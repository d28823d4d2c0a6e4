// Watches a channel as a V2 client would: subscribes (HMAC auth for private channels), rewinds
// the last messages, then reduces live frames by message_serial and prints each message's text as
// it grows. Shows what rollup does: one line per delivered frame.
//
//   node examples/demo/watch.ts [--channel private-ai-demo] [--mode delta|full] [--window 40] [--rewind 10]
import { createHmac } from 'node:crypto';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { MessageReducer } from '../../dataplane/src/messages/reducer.ts';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '6001' },
    key: { type: 'string', default: 'app-key' },
    secret: { type: 'string', default: 'app-secret' },
    channel: { type: 'string', default: 'private-ai-demo' },
    mode: { type: 'string', default: 'delta' },
    window: { type: 'string', default: '40' },
    rewind: { type: 'string', default: '10' },
  },
});
const mode = values.mode === 'full' ? 'full' : 'delta';
const channel = values.channel as string;
const url = `ws://${values.host}:${values.port}/app/${values.key}?protocol=2&append_mode=${mode}&append_rollup_window=${values.window}`;
const ws = new WebSocket(url);
const reducer = new MessageReducer(mode);

ws.on('message', (raw) => {
  const frame = JSON.parse(raw.toString()) as Record<string, unknown> & { event: string; data?: unknown };
  if (frame.event === 'sockudo:connection_established') {
    const socketId = (JSON.parse(frame.data as string) as { socket_id: string }).socket_id;
    const auth = channel.startsWith('private-')
      ? `${values.key}:${createHmac('sha256', values.secret as string)
          .update(`${socketId}:${channel}`)
          .digest('hex')}`
      : undefined;
    ws.send(JSON.stringify({ event: 'sockudo:subscribe', data: { channel, auth, rewind: Number(values.rewind) } }));
    return;
  }
  if (frame.event === 'sockudo_internal:subscription_succeeded') {
    console.log(`subscribed to ${channel}: ${frame.data as string}`);
    return;
  }
  if (frame.event === 'sockudo:rewind_complete') {
    console.log(`rewind complete: ${frame.data as string}`);
    return;
  }
  if (frame.event === 'sockudo:error') {
    console.error('error', JSON.stringify(frame.data));
    return;
  }
  const outcome = frame.message_serial ? reducer.seed(frame) : reducer.apply(frame);
  if (outcome !== 'applied') return;
  const ms = (frame.extras as { headers?: { sockudo_message_serial?: string } } | undefined)?.headers
    ?.sockudo_message_serial;
  const msg = ms ? reducer.get(ms) : undefined;
  if (msg) console.log(`[${frame.serial as number}] ${msg.name ?? ''} ${JSON.stringify(msg.data)}`);
});
ws.on('close', (code) => console.log(`closed ${code}`));
