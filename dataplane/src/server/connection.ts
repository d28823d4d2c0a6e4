// One client connection: its identity, protocol options, subscriptions, timers' state and
// its outbound queue. Frames due for a socket in the same tick are queued and written in
// one burst by the engine's flusher (one syscall per socket per tick); the queue is
// bounded by `sendBufferMaxBytes` together with what the socket already holds
// (STANDARDS C4): over it, `enqueue` refuses and the engine closes the socket with 4100.
//
// Data frames are written as ready-made RFC 6455 frames (ws-frame.ts) straight to the
// underlying net.Socket, so a broadcast's frame is built once, not once per recipient by
// `ws`. `ws` keeps the handshake, reading, ping/pong and the close handshake; its writes
// and ours go synchronously to the same socket, so their order is the call order. That
// holds because `ws` never queues a send without permessage-deflate (or Blob data, which
// we never send): the engine does not negotiate the extension, and the constructor checks.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { CapabilitySet } from '../auth/index.ts';
import { TokenBucket } from '../channels/rate-limit.ts';
import type { ResolvedApp } from '../config/load.ts';
import type { Wire } from '../protocol/sender.ts';
import type { AttachBuffer } from './attach.ts';
import { framePayloadBytes, textFrame } from './ws-frame.ts';
import type { SweepView } from './ws-sweep.ts';
import type { ConnectionParams } from './ws-upgrade.ts';

export interface TokenState {
  readonly clientId: string;
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly exp: number;
}

export type ConnectionState = 'open' | 'closing' | 'closed';

/** What flushes wrote, summed by the caller (one metric update per app per tick, not per socket). */
export interface FlushTally {
  frames: number;
  /** Payload bytes (without frame headers). */
  bytes: number;
}

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
  /** The queue: the first frame apart, so the usual one frame per tick allocates no array. */
  #head: Buffer | undefined;
  #tail: Buffer[] | undefined;
  #queuedFrames = 0;
  /** Frame bytes queued (what the socket will hold): the send budget counts these. */
  #queuedBytes = 0;
  /** Payload bytes queued (what `socket_transmitted_bytes` counts). */
  #queuedPayloadBytes = 0;
  readonly #socket: Socket;
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
    const socket = (init.ws as unknown as { _socket?: Socket | null })._socket;
    if (!socket) throw new TypeError('Connection needs an open WebSocket');
    if (init.ws.extensions !== '') {
      throw new TypeError(`WebSocket extensions are not supported by the direct writer: ${init.ws.extensions}`);
    }
    this.#socket = socket;
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

  get queuedFrames(): number {
    return this.#queuedFrames;
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
   * Queues one message (framed here). Returns false, queueing nothing, when the socket is over
   * its send budget (slow consumer) or no longer open; `true` means a flush is due.
   * `bytes` is what the budget check counts for it (0: only refuse when already over). The
   * budget bounds a backlog, not a frame: a frame larger than the budget still goes to a
   * socket that has nothing pending (message size has its own limits), else a full-mode
   * subscriber of a long message could never be served.
   */
  enqueue(message: string | Buffer, bytes: number): boolean {
    if (this.state !== 'open') return false;
    const pending = this.#socket.writableLength + this.#queuedBytes;
    if (pending > 0 && pending + bytes > this.#maxBufferedBytes) return false;
    const frame = textFrame(message);
    this.#push(frame, framePayloadBytes(frame));
    return true;
  }

  /**
   * Queues a frame built by `textFrame`, shared with other recipients (never modified).
   * Same contract as `enqueue`; the whole frame counts against the budget.
   */
  enqueueFrame(frame: Buffer, payloadBytes: number): boolean {
    if (this.state !== 'open') return false;
    if (this.#socket.writableLength + this.#queuedBytes + frame.length > this.#maxBufferedBytes) return false;
    this.#push(frame, payloadBytes);
    return true;
  }

  #push(frame: Buffer, payloadBytes: number): void {
    if (this.#head === undefined) this.#head = frame;
    else if (this.#tail === undefined) this.#tail = [frame];
    else this.#tail.push(frame);
    this.#queuedFrames++;
    this.#queuedBytes += frame.length;
    this.#queuedPayloadBytes += payloadBytes;
  }

  /**
   * Writes every queued frame, in order, in one burst (one write, or one corked writev), and
   * adds what it wrote to `tally`. Nothing is written once the socket is no longer open.
   */
  flush(tally: FlushTally): void {
    const head = this.#head;
    if (head === undefined) return;
    const tail = this.#tail;
    const frames = this.#queuedFrames;
    const payloadBytes = this.#queuedPayloadBytes;
    this.discardQueue();
    const socket = this.#socket;
    // A socket whose close handshake began (either side) gets no more data frames.
    if (this.state !== 'open' || this.ws.readyState !== this.ws.OPEN || socket.destroyed) return;
    if (tail === undefined) {
      socket.write(head);
    } else {
      socket.cork();
      try {
        socket.write(head);
        for (const frame of tail) socket.write(frame);
      } finally {
        socket.uncork();
      }
    }
    tally.frames += frames;
    tally.bytes += payloadBytes;
  }

  /** Drops queued frames (the socket is being closed). */
  discardQueue(): void {
    this.#head = undefined;
    this.#tail = undefined;
    this.#queuedFrames = 0;
    this.#queuedBytes = 0;
    this.#queuedPayloadBytes = 0;
  }
}
