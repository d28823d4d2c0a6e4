// A token-streaming producer against a running node (`make run`): one AI turn on a channel —
// ai-run-start, an ai-output create (status=streaming), tokens appended at a steady rate, a
// terminal append (status=complete), ai-run-end — over signed REST, as an agent backend would.
//
//   node examples/demo/producer.ts [--channel private-ai-demo] [--tokens 200] [--rate 50] [--batch] [--print-text]
//
// --batch sends the tokens through POST /apps/{id}/appends (one request per 20 ms tick) instead of
// one POST …/append per token. --print-text ends with one JSON line {message_serial, text}: what a
// subscriber must have reduced (the demo page test compares it). Defaults match examples/config/dev.yaml.
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { signRequest } from '../../dataplane/src/auth/index.ts';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '6001' },
    app: { type: 'string', default: 'app-id' },
    key: { type: 'string', default: 'app-key' },
    secret: { type: 'string', default: 'app-secret' },
    channel: { type: 'string', default: 'private-ai-demo' },
    tokens: { type: 'string', default: '200' },
    rate: { type: 'string', default: '50' },
    batch: { type: 'boolean', default: false },
    'print-text': { type: 'boolean', default: false },
  },
});
const app = { key: values.key as string, secret: values.secret as string };
const channel = values.channel as string;

function call(method: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const text = JSON.stringify(body);
  const query = signRequest(app, method, path, {}, text, Date.now());
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: values.host,
        port: Number(values.port),
        method,
        path: `${path}?${query}`,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let data = '';
        res.on('data', (c) => {
          data += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: data ? JSON.parse(data) : {} }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const events = `/apps/${values.app}/events`;
const transport = (status: string, extra: Record<string, string> = {}) => ({
  ai: { transport: { 'run-id': 'run-demo', role: 'assistant', status, ...extra } },
});
const words = 'The quick brown fox jumps over the lazy dog while the model keeps streaming tokens '.split(' ');

await call('POST', events, { name: 'ai-run-start', channel, data: '', extras: transport('streaming') });
const created = await call('POST', events, { name: 'ai-output', channel, data: '', extras: transport('streaming') });
if (created.status !== 200) throw new Error(`create failed: ${JSON.stringify(created.json)}`);
const ms = (
  (created.json.channels as Record<string, { message_serial: string }>)[channel] as { message_serial: string }
).message_serial;
console.log(`created ${ms} on ${channel}`);
const append = `/apps/${values.app}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}/append`;
const total = Number(values.tokens);
const gapMs = 1000 / Number(values.rate);
const t0 = Date.now();
let text = '';
let pending: Array<{ channel: string; message_serial: string; data: string }> = [];
for (let i = 0; i < total; i++) {
  const token = `${words[i % words.length]} `;
  text += token;
  if (values.batch) {
    pending.push({ channel, message_serial: ms, data: token });
    if (pending.length * gapMs >= 20 || i === total - 1) {
      const r = await call('POST', `/apps/${values.app}/appends`, { appends: pending });
      if (r.status !== 200) console.error('batch', r.status, JSON.stringify(r.json).slice(0, 200));
      pending = [];
    }
  } else {
    const r = await call('POST', append, { data: token });
    if (r.status !== 200) console.error('append', r.status, JSON.stringify(r.json).slice(0, 200));
  }
  const due = t0 + (i + 1) * gapMs;
  await new Promise((res) => setTimeout(res, Math.max(0, due - Date.now())));
}
await call('POST', append, { data: '', extras: transport('complete') });
await call('POST', events, {
  name: 'ai-run-end',
  channel,
  data: '',
  extras: transport('complete', { 'run-reason': 'complete' }),
});
console.log(`streamed ${total} tokens in ${Date.now() - t0} ms`);
if (values['print-text']) console.log(JSON.stringify({ message_serial: ms, text }));
