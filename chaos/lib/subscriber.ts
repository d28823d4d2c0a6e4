// An audited subscriber: a real V2 WebSocket client that stays subscribed to one channel through
// whatever the scenario does — when its socket closes (drain 4200, node killed, slow-consumer
// 4100) it reconnects to another node, re-subscribes and `sockudo:resume`s from the last serial it
// applied, exactly as a client library would. It reduces every message by message_serial and
// records every delivery serial, so the audits can say: the transcript equals what the producer
// got acknowledged, and serials only went up, with no gap after a recovery (with window 0 every
// version is delivered, so the serials must be contiguous).
import { MessageReducer } from '../../dataplane/src/messages/reducer.ts';
import { channelAuth, type NodeProc } from '../../test/helpers/node-cluster.ts';
import type { Frame, TestWsClient } from '../../test/helpers/ws-client.ts';

export interface SubscriberOptions {
  readonly nodes: () => readonly NodeProc[];
  readonly channel: string;
  readonly mode?: 'delta' | 'full';
  /** append_rollup_window; 0 (default) delivers every version, so serials must be contiguous. */
  readonly window?: number;
  readonly startAt?: number;
  readonly name: string;
}

export interface Recovery {
  readonly atSerial: number;
  readonly node: string;
  readonly result: 'hot' | 'cold' | 'failed';
  readonly code?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class AuditedSubscriber {
  readonly o: SubscriberOptions;
  readonly reducer: MessageReducer;
  /** Delivery serials of messages, in arrival order, across every socket of this subscriber. */
  readonly serials: number[] = [];
  readonly recoveries: Recovery[] = [];
  readonly closes: number[] = [];
  /** One entry per recorded delivery (same index as `serials`): for the report's evidence. */
  readonly trace: Array<{
    readonly t: number;
    readonly socket: number;
    readonly node: string;
    readonly event: string;
  }> = [];
  #sockets = 0;
  #client: (TestWsClient & { socketId: string }) | undefined;
  #node: number;
  #streamId: string | undefined;
  #lastSerial = 0;
  #stopped = false;
  #reconnecting: Promise<void> | undefined;
  errors: string[] = [];

  constructor(opts: SubscriberOptions) {
    this.o = opts;
    this.reducer = new MessageReducer(opts.mode ?? 'delta');
    this.#node = opts.startAt ?? 0;
  }

  get lastSerial(): number {
    return this.#lastSerial;
  }

  async start(): Promise<void> {
    await this.#connect(false);
  }

  #query(): Record<string, string> {
    return {
      protocol: '2',
      append_mode: this.o.mode ?? 'delta',
      append_rollup_window: String(this.o.window ?? 0),
    };
  }

  async #connect(resume: boolean): Promise<void> {
    const nodes = this.o.nodes();
    let lastErr: unknown;
    for (let attempt = 0; attempt < nodes.length * 20 && !this.#stopped; attempt++) {
      const node = nodes[this.#node % nodes.length] as NodeProc;
      try {
        const c = await node.socket(this.#query());
        this.#client = c;
        const socket = ++this.#sockets;
        c.ws.on('message', (raw) => this.#onFrame(JSON.parse(raw.toString()) as Frame, node, socket));
        c.ws.on('close', (code) => {
          if (this.#client !== c) return;
          this.closes.push(code);
          if (!this.#stopped)
            this.#reconnecting = this.#connect(true).catch((err: unknown) => {
              this.errors.push(`reconnect failed: ${(err as Error).message}`);
            });
        });
        const channel = this.o.channel;
        // The position is what was applied before the disconnect; the resume goes right behind
        // the subscribe, so the server holds the channel's live frames until the replay is out.
        const position = { serial: this.#lastSerial, stream_id: this.#streamId };
        c.send({ event: 'sockudo:subscribe', data: { channel, auth: channelAuth(c.socketId, channel) } });
        if (resume) c.send({ event: 'sockudo:resume', data: { channel_positions: { [channel]: position } } });
        const ack = await c.waitForEvent('sockudo_internal:subscription_succeeded', 5000);
        if (!resume) {
          this.#streamId = ack.stream_id as string | undefined;
          return;
        }
        const done = await c.waitForEvent('sockudo:resume_success', 10_000);
        const data = JSON.parse(done.data as string) as {
          recovered: Array<{ source: 'hot' | 'cold' }>;
          failed: Array<{ code: string }>;
        };
        const rec = data.recovered[0];
        this.recoveries.push(
          rec
            ? { atSerial: position.serial, node: node.id, result: rec.source }
            : { atSerial: position.serial, node: node.id, result: 'failed', code: data.failed[0]?.code ?? 'unknown' },
        );
        return;
      } catch (err) {
        lastErr = err;
        this.#node++;
        await sleep(100);
      }
    }
    if (!this.#stopped) throw new Error(`${this.o.name}: no node accepted the subscription: ${String(lastErr)}`);
  }

  #onFrame(f: Frame, node: NodeProc, socket: number): void {
    if (typeof f.serial !== 'number' || f.event.endsWith('subscription_succeeded')) return;
    if (f.channel !== this.o.channel) return;
    if (typeof f.stream_id === 'string') this.#streamId = f.stream_id;
    this.serials.push(f.serial);
    this.trace.push({ t: Date.now(), socket, node: node.id, event: f.event });
    if (f.serial > this.#lastSerial) this.#lastSerial = f.serial;
    this.reducer.apply(f);
  }

  /** Waits until the subscriber applied `serial` (or the timeout). */
  async waitFor(serial: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#lastSerial >= serial) return true;
      await sleep(50);
    }
    return this.#lastSerial >= serial;
  }

  /** Stops reading its socket for `ms` (a slow consumer); the server's slow-consumer policy may close it. */
  pauseReading(ms: number): void {
    const socket = (this.#client?.ws as unknown as { _socket?: { pause(): void; resume(): void } })?._socket;
    socket?.pause();
    setTimeout(() => socket?.resume(), ms);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#reconnecting;
    this.#client?.close();
  }
}
