// The conformance harness: one scenario drives a real data-plane node over signed REST (the
// agent) and raw WebSockets (the user's devices), records everything both sides exchange, checks
// the protocol's semantic properties on the raw frames, and compares the normalised transcript
// with its golden file (test/conformance/golden/<scenario>.json; UPDATE_GOLDEN=1 rewrites it).
//
// Determinism: every commit is awaited before the next one, client publishes wait for their echo,
// and the golden subscribers use append_rollup_window=0, so the frames do not depend on timing. A
// subscriber with a real window has its appends collapsed (normalize.ts `collapseAppends`).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { MessageReducer } from '../../dataplane/src/messages/reducer.ts';
import { APP, parseData, type StreamNode, signin } from '../helpers/stream-node.ts';
import type { Frame, TestWsClient } from '../helpers/ws-client.ts';
import { collapseAppends, Normalizer } from './normalize.ts';

export const GOLDEN_DIR = new URL('./golden/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';

type Client = TestWsClient & { socketId: string };
type Transport = Record<string, string>;

export interface SubscriberOptions {
  readonly protocol: 2 | 7;
  readonly mode?: 'delta' | 'full';
  /** append_rollup_window; 0 unless said otherwise. */
  readonly window?: 0 | 20 | 40 | 100 | 500;
  /** pusher:signin as this user id (the device that publishes ai-input / ai-cancel). */
  readonly user?: string;
  /** Extra subscribe data, e.g. { rewind: 10 }. */
  readonly subscribe?: Record<string, unknown>;
}

interface Segment {
  readonly client: Client;
  readonly query: string;
  /** Frames this client sent after connecting, with the number of frames received before. */
  readonly sent: Array<{ at: number; frame: Record<string, unknown> }>;
  /** Index into `Scenario.creates` at subscribe time and at disconnect. */
  readonly createsFrom: number;
  /** The last delivery serial committed when it subscribed (it is owed only what follows). */
  readonly serialAtJoin: number;
  createsTo?: number;
  closed: boolean;
}

export class Subscriber {
  readonly name: string;
  readonly opts: SubscriberOptions;
  readonly segments: Segment[] = [];

  constructor(name: string, opts: SubscriberOptions) {
    this.name = name;
    this.opts = opts;
  }

  get v2(): boolean {
    return this.opts.protocol === 2;
  }

  get mode(): 'delta' | 'full' {
    return this.opts.mode ?? 'delta';
  }

  get client(): Client {
    const s = this.segments.at(-1);
    if (!s) throw new Error(`${this.name} never connected`);
    return s.client;
  }

  get live(): Segment | undefined {
    const s = this.segments.at(-1);
    return s && !s.closed ? s : undefined;
  }

  /** Every frame received, over every connection, in order. */
  received(): Frame[] {
    return this.segments.flatMap((s) => s.client.frames);
  }

  send(frame: Record<string, unknown>): void {
    const s = this.segments.at(-1);
    if (!s || s.closed) throw new Error(`${this.name} is not connected`);
    s.sent.push({ at: s.client.frames.length, frame });
    s.client.send(frame);
  }

  /** The transcript: received frames with `{"$sent": …}` and `{"$connect": …}` entries between. */
  entries(): unknown[] {
    const out: Array<Record<string, unknown>> = [];
    this.segments.forEach((s, i) => {
      out.push({ $connect: s.query, ...(i > 0 && { $reconnect: true }) });
      let k = 0;
      s.client.frames.forEach((f, at) => {
        for (; k < s.sent.length && (s.sent[k] as { at: number }).at <= at; k++) out.push({ $sent: s.sent[k]?.frame });
        out.push(f);
      });
      for (; k < s.sent.length; k++) out.push({ $sent: s.sent[k]?.frame });
    });
    // A real window: runs of appends collapse (a `$sent` entry between two breaks the run).
    return this.opts.window ? collapseAppends(out) : out;
  }
}

interface Step {
  readonly op: string;
  readonly [k: string]: unknown;
}

const channelOf = (r: { json: () => Record<string, unknown> }, channel: string) =>
  (r.json().channels as Record<string, Record<string, unknown>>)[channel] as Record<string, unknown>;

export class Scenario {
  readonly sn: StreamNode;
  readonly name: string;
  readonly channel: string;
  readonly steps: Step[] = [];
  /** message serial → the aggregate text the producer built. */
  readonly texts = new Map<string, string>();
  /** version serial → the message's text as of that version, and an append's own fragment. */
  readonly versions = new Map<string, { text: string; fragment?: string }>();
  /** Every create, in commit order: what a protocol-7 subscriber must see. */
  readonly creates: Array<{ event: string; data: unknown }> = [];
  readonly subscribers: Subscriber[] = [];
  lastSerial = 0;

  constructor(sn: StreamNode, name: string) {
    this.sn = sn;
    this.name = name;
    this.channel = `private-ai-conformance-${name}`;
  }

  sub(name: string): Subscriber {
    const s = this.subscribers.find((x) => x.name === name);
    if (!s) throw new Error(`no subscriber ${name}`);
    return s;
  }

  /** Connects (and signs in) a subscriber and subscribes it; returns the subscription ack. */
  async join(name: string, opts: SubscriberOptions): Promise<Frame> {
    let s = this.subscribers.find((x) => x.name === name);
    if (!s) {
      s = new Subscriber(name, opts);
      this.subscribers.push(s);
    }
    const query: Record<string, string> = { protocol: String(opts.protocol) };
    if (opts.protocol === 2) {
      query.append_rollup_window = String(opts.window ?? 0);
      if (opts.mode) query.append_mode = opts.mode;
    }
    const client = await this.sn.socket(query);
    const segment: Segment = {
      client,
      query: `/app/<key>?${new URLSearchParams(query).toString()}`,
      sent: [],
      createsFrom: this.creates.length,
      serialAtJoin: this.lastSerial,
      closed: false,
    };
    s.segments.push(segment);
    if (opts.user) {
      await signin(client, opts.user);
      const userData = JSON.stringify({ id: opts.user });
      segment.sent.push({ at: 1, frame: { event: 'sockudo:signin', data: { user_data: userData, auth: '<hmac>' } } });
    }
    const prefix = opts.protocol === 2 ? 'sockudo' : 'pusher';
    const data = { channel: this.channel, auth: '<hmac>', ...opts.subscribe };
    segment.sent.push({ at: client.frames.length, frame: { event: `${prefix}:subscribe`, data } });
    const ack = await client.subscribe(
      this.channel,
      { auth: this.sn.auth(client.socketId, this.channel), ...opts.subscribe },
      prefix,
    );
    expect(ack.event, `${name} subscribed`).toBe(`${prefix}_internal:subscription_succeeded`);
    return ack;
  }

  /** Closes the subscriber's socket and waits until the server saw it go. */
  async disconnect(name: string): Promise<void> {
    const seg = this.sub(name).live;
    if (!seg) return;
    seg.createsTo = this.creates.length;
    seg.closed = true;
    seg.client.close();
    await seg.client.waitClose();
  }

  #record(step: Step): void {
    this.steps.push(step);
  }

  #committed(serial: unknown): void {
    if (typeof serial === 'number') {
      expect(serial, 'delivery serials strictly increase').toBeGreaterThan(this.lastSerial);
      this.lastSerial = serial;
    }
  }

  /** POST /apps/{id}/events of an AI event; returns the message serial. */
  async publish(event: string, data: string, transport: Transport, more: Record<string, unknown> = {}) {
    const body = { name: event, channel: this.channel, data, extras: { ai: { transport } }, ...more };
    const r = await this.sn.publish(body);
    this.#record({ op: 'publish', body, status: r.status, response: r.json() });
    expect(r.status, r.text).toBe(200);
    const ack = channelOf(r, this.channel);
    const ms = ack.message_serial as string;
    this.#committed(ack.delivery_serial);
    this.texts.set(ms, data);
    this.versions.set(ack.version_serial as string, { text: data });
    this.creates.push({ event, data });
    return ms;
  }

  /** POST …/messages/{ms}/{action}; the producer's text follows what the server accepted. */
  async mutate(action: 'append' | 'update' | 'delete', ms: string, body: Record<string, unknown>, want = 200) {
    const r = await this.sn.mutate(this.channel, ms, action, body);
    this.#record({ op: action, message: ms, body, status: r.status, response: r.json() });
    expect(r.status, r.text).toBe(want);
    if (r.status === 200) {
      this.#committed(r.json().delivery_serial);
      const before = this.texts.get(ms) ?? '';
      if (action === 'append') this.texts.set(ms, before + String(body.data));
      else if ('data' in body) this.texts.set(ms, String(body.data));
      const fragment = action === 'append' ? String(body.data) : undefined;
      this.versions.set(r.json().version_serial as string, { text: this.texts.get(ms) ?? '', fragment });
    }
    return r.json();
  }

  append(ms: string, data: string, transport?: Transport, want = 200) {
    return this.mutate('append', ms, transport ? { data, extras: { ai: { transport } } } : { data }, want);
  }

  /** A client publish (ai-input, ai-cancel) from a subscriber's socket; waits for its echo. */
  async clientPublish(from: string, event: string, data: string, transport: Transport, messageId?: string) {
    const frame = {
      event,
      channel: this.channel,
      data,
      ...(messageId && { message_id: messageId }),
      extras: { ai: { transport } },
    };
    const s = this.sub(from);
    await this.settle(from);
    const seen = s.client.frames.length;
    s.send(frame);
    this.#record({ op: 'ws', from, frame });
    const echo = await s.client.waitFor((f) => s.client.frames.indexOf(f) >= seen && f.event === event);
    const headers = (echo.extras as { headers: Record<string, unknown> }).headers;
    this.#committed(echo.serial);
    this.texts.set(headers.sockudo_message_serial as string, data);
    this.versions.set(headers.sockudo_version_serial as string, { text: data });
    this.creates.push({ event, data });
    return headers.sockudo_message_serial as string;
  }

  /**
   * A frame from a subscriber's socket (resume, channel_history, …), sent once the socket has
   * everything committed so far: where it sits in the transcript must not depend on timing.
   */
  async send(name: string, frame: Record<string, unknown>): Promise<void> {
    await this.settle(name);
    this.sub(name).send(frame);
  }

  /** Waits until every connected subscriber (or the one named) has everything committed so far. */
  async settle(only?: string): Promise<void> {
    for (const s of this.subscribers) {
      const seg = s.live;
      if (!seg || (only !== undefined && s.name !== only)) continue;
      if (s.v2) {
        const frames = seg.client.frames;
        const want = this.lastSerial;
        if (want <= seg.serialAtJoin) continue;
        await waitUntil(
          () => frames.some((f) => f.serial === want && !f.event.endsWith('subscription_succeeded')),
          `${s.name}: serial ${want}`,
        );
      } else {
        const want = this.creates.length - seg.createsFrom;
        await waitUntil(() => broadcasts(seg.client.frames).length >= want, `${s.name}: ${want} creates`);
      }
    }
  }

  /** GET latest of every message; each must equal what the producer built. */
  async verifyLatest(): Promise<void> {
    for (const [ms, text] of this.texts) {
      const path = `/apps/${APP.id}/channels/${encodeURIComponent(this.channel)}/messages/${encodeURIComponent(ms)}`;
      const r = await this.sn.rest('GET', path);
      this.#record({ op: 'get', message: ms, status: r.status, response: r.json() });
      expect(r.status, r.text).toBe(200);
      expect((r.json().item as { data: unknown }).data, `GET latest of ${ms}`).toBe(text);
    }
  }

  /**
   * The semantic properties, on the raw frames: every V2 subscriber's reduction equals the
   * producer's text; delivery serials strictly increase per subscriber (and have no gaps for
   * window-0 subscribers, across a resume too); protocol 7 sees each create once, as a plain
   * event, and never a mutation or a V2 field.
   */
  assertSemantics(opts: { framesCarryTheirVersion?: boolean } = {}): void {
    for (const s of this.subscribers) {
      if (s.v2) this.#assertV2(s);
      else this.#assertV1(s);
      if (s.v2 && opts.framesCarryTheirVersion !== false) this.assertFramesCarryTheirVersion(s.name);
    }
  }

  /**
   * Every live mutation frame of a window-0 subscriber carries its own version: in full mode the
   * aggregate as of that version (docs/versioned-messages.md), in delta mode the append's fragment.
   */
  assertFramesCarryTheirVersion(name: string): void {
    const s = this.sub(name);
    if (s.opts.window) return;
    for (const f of s.received()) {
      if (typeof f.message_serial === 'string' || !/^sockudo:message\.(append|update)$/.test(f.event)) continue;
      const vs = (f.extras as { headers: Record<string, string> }).headers.sockudo_version_serial as string;
      const v = this.versions.get(vs);
      expect(v, `${name}: ${vs} is a version the producer made`).toBeDefined();
      const want = s.mode === 'delta' && f.event === 'sockudo:message.append' ? v?.fragment : v?.text;
      expect(
        f.data,
        `${name}: serial ${String(f.serial)} carries ${s.mode === 'delta' ? 'its fragment' : 'the aggregate as of its version'}`,
      ).toBe(want);
    }
  }

  #assertV2(s: Subscriber): void {
    const reducer = new MessageReducer(s.mode);
    const untilAttach = s.segments.some((seg) => seg.sent.some((x) => x.frame.event === 'sockudo:channel_history'));
    let buffered: Frame[] | undefined = untilAttach ? [] : undefined;
    for (const f of s.received()) {
      if (f.event === 'sockudo:channel_history') {
        // until_attach: seed from the page, then apply what arrived meanwhile.
        for (const item of (parseData(f).items as Array<{ message: Frame }>).slice().reverse())
          reducer.seed(item.message);
        for (const b of buffered ?? []) reducer.apply(b);
        buffered = undefined;
      } else if (typeof f.message_serial === 'string') {
        reducer.seed(f); // a rewound read shape
      } else if (buffered && typeof f.serial === 'number' && !f.event.endsWith('subscription_succeeded')) {
        buffered.push(f);
      } else {
        reducer.apply(f);
      }
    }
    expect(reducer.counts.missing_base, `${s.name}: appends without a base`).toBe(0);
    expect(reducer.counts.invalid, `${s.name}: invalid frames`).toBe(0);
    for (const [ms, text] of this.texts) {
      expect(reducer.get(ms)?.data, `${s.name}: reduced text of ${ms}`).toBe(text);
    }
    const delivered = s
      .received()
      .filter((f) => typeof f.serial === 'number' && !f.event.endsWith('subscription_succeeded'));
    const serials = delivered.map((f) => f.serial as number);
    for (let i = 1; i < serials.length; i++) {
      expect(serials[i], `${s.name}: serials strictly increase (${serials.join(',')})`).toBeGreaterThan(
        serials[i - 1] as number,
      );
    }
    if (!s.opts.window) {
      // Window 0: every commit after the first delivered one, none skipped — live, replayed after
      // a resume, or after a rewind's snapshot.
      const live = delivered.filter((f) => typeof f.message_serial !== 'string').map((f) => f.serial as number);
      for (let i = 1; i < live.length; i++) {
        expect(live[i], `${s.name}: no gap in ${live.join(',')}`).toBe((live[i - 1] as number) + 1);
      }
    }
  }

  #assertV1(s: Subscriber): void {
    for (const seg of s.segments) {
      const got = broadcasts(seg.client.frames);
      const want = this.creates.slice(seg.createsFrom, seg.createsTo);
      expect(
        got.map((f) => ({ event: f.event, data: f.data })),
        `${s.name}: the creates, once each`,
      ).toEqual(want);
      for (const f of seg.client.frames) {
        expect(f.event, `${s.name}: no V2 frame`).not.toMatch(/^sockudo/);
        for (const k of ['serial', 'message_id', 'stream_id', 'extras', 'name', 'user_id']) {
          expect(k in f, `${s.name}: ${f.event} has no ${k}`).toBe(false);
        }
      }
    }
  }

  /** The normalised transcript. */
  transcript(): unknown {
    const subscribers = Object.fromEntries(this.subscribers.map((s) => [s.name, s.entries()]));
    const n = new Normalizer().collect(this.steps, subscribers);
    return {
      scenario: this.name,
      channel: this.channel,
      producer: n.normalize(this.steps),
      subscribers: n.normalize(subscribers),
    };
  }

  /** Compares the transcript with the golden file, or writes it with UPDATE_GOLDEN=1. */
  checkGolden(): void {
    const file = new URL(`${this.name}.json`, GOLDEN_DIR);
    const actual = this.transcript();
    if (UPDATE) {
      mkdirSync(GOLDEN_DIR, { recursive: true });
      writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
      return;
    }
    if (!existsSync(file)) throw new Error(`no golden ${file.pathname}: run UPDATE_GOLDEN=1 make conformance`);
    expect(actual, `transcript of ${this.name} (UPDATE_GOLDEN=1 rewrites the golden)`).toEqual(
      JSON.parse(readFileSync(file, 'utf8')),
    );
  }

  close(): void {
    for (const s of this.subscribers) for (const seg of s.segments) seg.client.close();
  }
}

/** Broadcast frames of a protocol-7 socket: everything but pusher:* and pusher_internal:*. */
function broadcasts(frames: readonly Frame[]): Frame[] {
  return frames.filter((f) => !/^pusher(_internal)?:/.test(f.event));
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
