// A tiny Sockudo Protocol V2 client for one history channel, in plain ES modules (no build step):
// connect with protocol=2, subscribe with an HMAC signature from the page's auth endpoint, rewind,
// reduce versioned messages by message_serial (the rules of dataplane/src/messages/reducer.ts,
// delta mode), and after a reload resume from the last serial and stream_id kept in
// sessionStorage (`sockudo:resume`, docs/protocol.md 3.3).

/** One reduction step (reducer.ts reduceFrame): undefined when the frame changes nothing. */
export function reduce(prev, frame) {
  const h = frame.extras?.headers ?? {};
  const action = typeof h.sockudo_action === 'string' ? h.sockudo_action.replace(/^message\./, '') : undefined;
  const ms = h.sockudo_message_serial ?? frame.message_serial;
  const vs = h.sockudo_version_serial ?? frame.version?.serial;
  if (!action || action === 'summary' || typeof ms !== 'string' || typeof vs !== 'string') return undefined;
  if (prev && vs <= prev.version_serial) return undefined; // a duplicate or an older version
  // Read shapes (rewind) always carry the aggregate; live deltas append to it.
  const delta = action === 'append' && frame.message_serial === undefined;
  if (delta && (!prev || typeof frame.data !== 'string')) return undefined; // no base: needs a seed
  const data = delta ? (prev.data ?? '') + frame.data : (frame.data ?? null);
  const status = frame.extras?.ai?.transport?.status ?? prev?.status;
  return { message_serial: ms, version_serial: vs, data, status, name: prev?.name ?? frame.name ?? frame.event };
}

export class V2Channel {
  /** @param {{wsUrl: string, key: string, channel: string, authUrl: string, storage: Storage, onChange: Function, onState: Function}} o */
  constructor(o) {
    this.o = o;
    this.storageKey = `ait-demo:${o.channel}`;
    const saved = JSON.parse(o.storage.getItem(this.storageKey) ?? 'null');
    this.messages = new Map(Object.entries(saved?.messages ?? {}));
    this.position = saved?.position; // { serial, stream_id, last_message_id }
    this.pending = undefined; // frames held until resume_success (sorted by serial then)
  }

  connect() {
    const url = `${this.o.wsUrl}/app/${this.o.key}?protocol=2&append_mode=delta&append_rollup_window=40`;
    this.ws = new WebSocket(url);
    this.ws.onmessage = (e) => this.#onFrame(JSON.parse(e.data));
    this.ws.onclose = (e) => this.o.onState(`closed (${e.code})`);
  }

  #send(event, data) {
    this.ws.send(JSON.stringify({ event, data }));
  }

  async #subscribe(socketId) {
    const { channel } = this.o;
    const r = await fetch(this.o.authUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ socket_id: socketId, channel_name: channel }),
    });
    if (!r.ok) throw new Error(`auth failed: ${r.status}`);
    const { auth } = await r.json();
    if (this.position) {
      // Resume: subscribe (an attach), then ask for everything after our last serial at once.
      this.pending = [];
      this.#send('sockudo:subscribe', { channel, auth });
      this.#send('sockudo:resume', { channel_positions: { [channel]: this.position } });
      this.o.onState(`resuming after serial ${this.position.serial}`);
    } else {
      this.#send('sockudo:subscribe', { channel, auth, rewind: 10 });
      this.o.onState('subscribing (rewind 10)');
    }
  }

  #onFrame(f) {
    switch (f.event) {
      case 'sockudo:connection_established':
        this.#subscribe(JSON.parse(f.data).socket_id).catch((err) => this.o.onState(String(err)));
        return;
      case 'sockudo_internal:subscription_succeeded':
        if (!this.position && f.stream_id) this.position = { serial: f.serial ?? 0, stream_id: f.stream_id };
        if (!this.pending) this.o.onState('live');
        return;
      case 'sockudo:rewind_complete':
        this.o.onState('live (rewound)');
        return;
      case 'sockudo:resume_failed':
      case 'sockudo:stream_reset':
        // The position cannot be continued (reset stream, expired position): start over from history.
        this.#restart(`${f.event}: ${f.data}`);
        return;
      case 'sockudo:resume_success': {
        const held = this.pending ?? [];
        this.pending = undefined;
        held.sort((a, b) => a.serial - b.serial);
        for (const frame of held) this.#apply(frame);
        this.o.onState(`live (resumed, ${JSON.parse(f.data).recovered?.[0]?.replayed ?? 0} replayed)`);
        return;
      }
      case 'sockudo:error':
        this.o.onState(`error: ${JSON.stringify(f.data)}`);
        return;
    }
    // Channel events: messages (`ai-output`, …) and their mutations (`sockudo:message.append`, …).
    if (f.channel !== this.o.channel || typeof f.event !== 'string') return;
    if (f.event.startsWith('sockudo') && !f.event.startsWith('sockudo:message.')) return;
    if (this.pending) this.pending.push(f);
    else this.#apply(f);
  }

  #apply(f) {
    // Deliveries are ordered by serial: anything at or below our position was applied already.
    if (typeof f.serial === 'number' && !f.message_serial && this.position && f.serial <= this.position.serial) return;
    const ms = f.extras?.headers?.sockudo_message_serial ?? f.message_serial;
    const next = reduce(this.messages.get(ms), f);
    if (next) this.messages.set(ms, next);
    const serial = f.delivery_serial ?? f.serial;
    if (typeof serial === 'number' && f.stream_id) {
      this.position = { serial: Math.max(serial, this.position?.serial ?? 0), stream_id: f.stream_id };
      if (f.message_id) this.position.last_message_id = f.message_id;
    }
    this.#save();
    if (next) this.o.onChange(this.messages);
  }

  #save() {
    const messages = Object.fromEntries(this.messages);
    this.o.storage.setItem(this.storageKey, JSON.stringify({ position: this.position, messages }));
  }

  #restart(why) {
    this.o.onState(`restarting: ${why}`);
    this.o.storage.removeItem(this.storageKey);
    this.messages.clear();
    this.position = undefined;
    this.pending = undefined;
    this.o.onChange(this.messages);
    this.ws.onclose = null;
    this.ws.close();
    this.connect();
  }
}
