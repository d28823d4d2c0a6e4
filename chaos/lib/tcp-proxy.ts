// A small fault-injecting TCP proxy on loopback, put between one node and Redis: `pass` relays,
// `delay` holds every chunk for `delayMs` (a slow link), `drop` resets every connection and refuses
// new ones (Redis gone for that node), `blackhole` accepts and swallows everything without
// answering (a partition: the node's commands time out). `freezeExisting` silently kills the
// connections open now — no FIN, no RST, nothing relayed ever again — while new ones pass: a
// peer that vanished (its host died) with the service reachable again elsewhere. Bounded: at
// most `maxConnections`.
import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'delay' | 'drop' | 'blackhole';

export class FaultProxy {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #pairs = new Set<[Socket, Socket | undefined]>();
  readonly #frozen = new WeakSet<Socket>();
  #mode: ProxyMode = 'pass';
  #delayMs = 0;
  port = 0;
  readonly maxConnections: number;

  constructor(target: { host: string; port: number }, maxConnections = 256) {
    this.#target = target;
    this.maxConnections = maxConnections;
    this.#server = createServer((client) => this.#accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const addr = this.#server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  set(mode: ProxyMode, delayMs = 0): void {
    this.#mode = mode;
    this.#delayMs = delayMs;
    if (mode === 'drop') {
      for (const [a, b] of this.#pairs) {
        a.destroy();
        b?.destroy();
      }
      this.#pairs.clear();
    }
  }

  /** The connections open now go silent forever (both ways); later ones are relayed. */
  freezeExisting(): number {
    for (const [a] of this.#pairs) this.#frozen.add(a);
    return this.#pairs.size;
  }

  #accept(client: Socket): void {
    if (this.#mode === 'drop' || this.#pairs.size >= this.maxConnections) {
      client.destroy();
      return;
    }
    client.on('error', () => undefined);
    if (this.#mode === 'blackhole') {
      const pair: [Socket, Socket | undefined] = [client, undefined];
      this.#pairs.add(pair);
      client.on('data', () => undefined);
      client.on('close', () => this.#pairs.delete(pair));
      return;
    }
    const upstream = connect(this.#target.port, this.#target.host);
    upstream.on('error', () => client.destroy());
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const relay = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (this.#mode === 'blackhole' || this.#frozen.has(client)) return;
        if (this.#mode === 'delay' && this.#delayMs > 0) setTimeout(() => to.write(chunk), this.#delayMs);
        else to.write(chunk);
      });
    relay(client, upstream);
    relay(upstream, client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on('close', close);
    upstream.on('close', close);
  }

  async close(): Promise<void> {
    this.set('drop');
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
