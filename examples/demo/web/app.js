// The demo page: one V2Channel on the channel of /config.json (or ?channel=…), rendering each
// reduced `ai-output` message (the model's text) as it grows. The newest messages are shown last.
import { V2Channel } from './v2-client.js';

const SHOWN = 5;
const config = await (await fetch('./config.json')).json();
const channel = new URLSearchParams(location.search).get('channel') ?? config.channel;
const list = document.getElementById('messages');
const state = document.getElementById('state');

function render(messages) {
  const newest = [...messages.values()]
    .filter((m) => m.name === 'ai-output' && typeof m.data === 'string')
    .sort((a, b) => (a.message_serial < b.message_serial ? -1 : 1))
    .slice(-SHOWN);
  list.replaceChildren(
    ...newest.map((m) => {
      const el = document.createElement('div');
      el.className = 'message';
      el.dataset.messageSerial = m.message_serial;
      el.dataset.status = m.status ?? '';
      const meta = document.createElement('span');
      meta.className = 'meta';
      meta.textContent = `${m.name ?? 'message'} · ${m.message_serial} · ${m.status ?? ''}`;
      const text = document.createElement('span');
      text.className = 'text';
      text.textContent = m.data;
      el.append(meta, text);
      return el;
    }),
  );
}

const client = new V2Channel({
  wsUrl: config.wsUrl,
  key: config.key,
  channel,
  authUrl: './auth',
  storage: sessionStorage,
  onChange: render,
  onState: (s) => {
    state.textContent = `${channel}: ${s}`;
    state.dataset.state = s;
  },
});
render(client.messages);
client.connect();
