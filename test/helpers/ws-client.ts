// A raw WebSocket client for protocol tests: collects every frame, lets a test wait for one
// that matches, and records how the socket closed. Also `tryUpgrade`, which reports the HTTP
// answer of a refused handshake (400/404/503).
import { request } from 'node:http';
import WebSocket from 'ws';

export interface Frame {
  event: string;
  channel?: string;
  data?: unknown;
  message_id?: string;
  user_id?: string;
  [key: string]: unknown;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export class TestWsClient {
  readonly ws: WebSocket;
  /** Every text frame received, parsed. */
  readonly frames: Frame[] = [];
  /** Raw text of every frame, in order. */
  readonly raw: string[] = [];
  readonly closed: Promise<CloseInfo>;
  #consumed = new Set<number>();
  #listeners = new Set<() => void>();
  #closeInfo: CloseInfo | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      this.raw.push(text);
      try {
        this.frames.push(JSON.parse(text) as Frame);
      } catch {
        this.frames.push({ event: '<unparseable>', data: text });
      }
      for (const l of [...this.#listeners]) l();
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.#closeInfo = { code, reason: reason.toString() };
        resolve(this.#closeInfo);
        for (const l of [...this.#listeners]) l();
      });
    });
  }

  /** Opens a socket; resolves once the WebSocket is open (before any frame). */
  static connect(
    url: string,
    opts: { origin?: string; headers?: Record<string, string>; autoPong?: boolean } = {},
  ): Promise<TestWsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { origin: opts.origin, headers: opts.headers, autoPong: opts.autoPong ?? true });
      const client = new TestWsClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Connects and waits for connection_established; returns the client and its socket id. */
  static async established(
    url: string,
    opts: { origin?: string; autoPong?: boolean } = {},
  ): Promise<TestWsClient & { socketId: string }> {
    const c = await TestWsClient.connect(url, opts);
    const f = await c.waitForEvent(/^(pusher|sockudo):connection_established$/);
    const socketId = (JSON.parse(f.data as string) as { socket_id: string }).socket_id;
    return Object.assign(c, { socketId });
  }

  get closeInfo(): CloseInfo | undefined {
    return this.#closeInfo;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /**
   * Resolves with the first frame (received before or after the call) that matches and
   * was not returned by an earlier waitFor. Rejects after `timeoutMs` or when the socket closes.
   */
  waitFor(pred: (f: Frame) => boolean, timeoutMs = 3000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (let i = 0; i < this.frames.length; i++) {
          const f = this.frames[i] as Frame;
          if (!this.#consumed.has(i) && pred(f)) {
            this.#consumed.add(i);
            done();
            resolve(f);
            return true;
          }
        }
        if (this.#closeInfo) {
          done();
          reject(new Error(`socket closed (${this.#closeInfo.code}) before a matching frame; got ${this.events()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${this.events()}`));
      }, timeoutMs);
      const listener = (): void => {
        check();
      };
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      this.#listeners.add(listener);
      check();
    });
  }

  waitForEvent(event: string | RegExp, timeoutMs?: number): Promise<Frame> {
    return this.waitFor((f) => (typeof event === 'string' ? f.event === event : event.test(f.event)), timeoutMs);
  }

  /** Waits for the socket to close; rejects after `timeoutMs`. */
  async waitClose(timeoutMs = 3000): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a subscribe frame and waits for its ack or an error. */
  async subscribe(channel: string, extra: Record<string, unknown> = {}, prefix = 'pusher'): Promise<Frame> {
    this.send({ event: `${prefix}:subscribe`, data: { channel, ...extra } });
    return this.waitFor(
      (f) =>
        (f.event.endsWith('internal:subscription_succeeded') && f.channel === channel) || f.event.endsWith(':error'),
    );
  }

  events(): string {
    return JSON.stringify(this.frames.map((f) => f.event));
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }
}

export interface UpgradeAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends a WebSocket handshake and reports a non-101 answer (resolves with 101 when upgraded). */
export function tryUpgrade(url: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url.replace(/^ws:/, 'http:'), {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
