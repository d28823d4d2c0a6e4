// One client connection: its identity, protocol options, subscriptions, timers' state and
// its outbound queue. Frames due for a socket in the same tick are queued and written in
// one corked burst by the engine's flusher (one syscall per socket per tick); the queue is
// bounded by `sendBufferMaxBytes` together with what `ws` and the kernel already hold
// (STANDARDS C4): over it, `enqueue` refuses and the engine closes the socket with 4100.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { CapabilitySet } from '../auth/index.ts';
import { TokenBucket } from '../channels/rate-limit.ts';
import type { ResolvedApp } from '../config/load.ts';
import type { Wire } from '../protocol/sender.ts';
import type { AttachBuffer } from './attach.ts';
import type { SweepView } from './ws-sweep.ts';
import type { ConnectionParams } from './ws-upgrade.ts';

export interface TokenState {
  readonly clientId: string;
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly exp: number;
}

export type ConnectionState = 'open' | 'closing' | 'closed';

export class Connection implements SweepView {
  readonly socketId: string;
  readonly app: ResolvedApp;
  readonly appId: string;
  readonly version: 1 | 2;
  readonly ws: WebSocket;
  readonly wire: Wire;
  readonly log: Logger;
  readonly params: ConnectionParams;
  readonly connectedAtMs: number;
  readonly clientEvents: TokenBucket;
  readonly userAuthTimeoutMs: number | undefined;
  /** Channels this socket is subscribed to. */
  readonly channels = new Set<string>();
  /** V2 history channels being attached (subscribe, rewind, resume): live frames wait here. */
  readonly attaching = new Map<string, AttachBuffer>();
  /** The attach serial recorded per channel when it was subscribed (for `until_attach`). */
  readonly attachSerials = new Map<string, number>();
  /** `sockudo:channel_history` requests in flight (at most 2; PROTOCOL.md 6.3). */
  historyRequests = 0;

  state: ConnectionState = 'open';
  closingSinceMs = 0;
  lastActivityMs: number;
  pingSentAtMs: number | undefined;
  lastNativePingMs: number;

  /** Verified identity: the sign-in user id, else the token client id. */
  userId: string | undefined;
  userInfo: unknown;
  signedIn = false;
  capabilities: CapabilitySet | undefined;
  token: TokenState | undefined;
  tokenExpiredNoticeAtMs: number | undefined;
  authenticated = false;
  /** The identity keys the engine indexed this socket under (terminate / revoke lookups). */
  indexKeys: { userId: string | undefined; jti: string | undefined } = { userId: undefined, jti: undefined };

  /** Stateful async frame handlers (subscribe attach, history, resume) run one after another. */
  #ops: Promise<void> = Promise.resolve();
  #pendingOps = 0;
  #queue: Array<string | Buffer> = [];
  #queuedBytes = 0;
  readonly #maxBufferedBytes: number;

  constructor(init: {
    socketId: string;
    app: ResolvedApp;
    ws: WebSocket;
    wire: Wire;
    log: Logger;
    params: ConnectionParams;
    nowMs: number;
    maxBufferedBytes: number;
  }) {
    this.socketId = init.socketId;
    this.app = init.app;
    this.appId = init.app.id;
    this.version = init.params.version;
    this.ws = init.ws;
    this.wire = init.wire;
    this.log = init.log;
    this.params = init.params;
    this.connectedAtMs = init.nowMs;
    this.lastActivityMs = init.nowMs;
    this.lastNativePingMs = init.nowMs;
    this.#maxBufferedBytes = init.maxBufferedBytes;
    this.clientEvents = new TokenBucket(init.app.limits.maxClientEventsPerSecond, init.nowMs);
    this.userAuthTimeoutMs = init.app.enableUserAuthentication
      ? init.app.userAuthenticationTimeoutSeconds * 1000
      : undefined;
  }

  get tokenExpMs(): number | undefined {
    return this.token ? this.token.exp * 1000 : undefined;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /**
   * Runs `op` after every earlier op of this socket settled, so a `sockudo:resume` or an
   * `until_attach` history request sent right after a subscribe sees the subscribe's attach.
   */
  runInOrder(op: () => Promise<void>): Promise<void> {
    this.#pendingOps++;
    const next = this.#ops.then(op, op).finally(() => {
      this.#pendingOps--;
    });
    this.#ops = next.catch(() => undefined);
    return next;
  }

  /** Ops queued or running (bounded by the callers: a flood of requests must not queue forever). */
  get pendingOps(): number {
    return this.#pendingOps;
  }

  /** Any inbound traffic: the peer is alive. */
  touch(nowMs: number): void {
    this.lastActivityMs = nowMs;
    this.pingSentAtMs = undefined;
  }

  /**
   * Queues one frame. Returns false, queueing nothing, when the socket is over its send
   * budget (slow consumer) or no longer open; `true` means a flush is due. The budget bounds
   * a backlog, not a frame: a frame larger than the budget still goes to a socket that has
   * nothing pending (message size has its own limits), else a full-mode subscriber of a long
   * message could never be served.
   */
  enqueue(frame: string | Buffer, bytes: number): boolean {
    if (this.state !== 'open') return false;
    const pending = this.ws.bufferedAmount + this.#queuedBytes;
    if (pending > 0 && pending + bytes > this.#maxBufferedBytes) return false;
    this.#queue.push(frame);
    this.#queuedBytes += bytes;
    return true;
  }

  /** Writes every queued frame in one corked burst; returns frames and bytes written. */
  flush(): { frames: number; bytes: number } {
    const queue = this.#queue;
    const bytes = this.#queuedBytes;
    if (queue.length === 0) return { frames: 0, bytes: 0 };
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.state !== 'open' || this.ws.readyState !== this.ws.OPEN) return { frames: 0, bytes: 0 };
    const socket = (this.ws as unknown as { _socket?: Socket })._socket;
    socket?.cork();
    try {
      for (const frame of queue) this.ws.send(frame, { binary: false });
    } finally {
      socket?.uncork();
    }
    return { frames: queue.length, bytes };
  }

  /** Drops queued frames (the socket is being closed). */
  discardQueue(): void {
    this.#queue = [];
    this.#queuedBytes = 0;
  }
}
