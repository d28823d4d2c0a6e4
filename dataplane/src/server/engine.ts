// The WebSocket socket engine of one node, in memory (GitHub issue "Data plane I"):
// upgrade → connection lifecycle → inbound dispatch → fanout, plus the Engine API the REST
// routes and the ops listener use. The pieces live beside it: ws-upgrade.ts (handshake),
// connection.ts (per-socket state and queue), fanout.ts (encode once, flush per tick),
// connection-index.ts (lookups), ws-dispatch.ts with ws-subscribe.ts / ws-identity.ts /
// ws-client-events.ts (inbound frames), ws-queries.ts (REST views), ws-sweep.ts (the single
// periodic timer), ws-drain.ts (drain).

import { randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { RevocationStore, VerifiedToken } from '../auth/index.ts';
import { ChannelCache } from '../channels/cache.ts';
import { OrderingGate } from '../channels/gate.ts';
import { ChannelRegistry } from '../channels/registry.ts';
import { ChannelSettingsResolver } from '../channels/settings.ts';
import type { ResolvedApp, ResolvedConfig } from '../config/load.ts';
import { SerialGenerator } from '../messages/serials.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { ChannelSignal } from '../pipeline/message.ts';
import { ChannelPublisher } from '../pipeline/publisher.ts';
import { ChannelReads } from '../pipeline/reads.ts';
import { type AitError, aitError } from '../protocol/errors.ts';
import { newMessageId, newSocketId } from '../protocol/ids.ts';
import { createWire, type Wire } from '../protocol/sender.ts';
import type { DrainRequest, DrainStatus } from './admin-types.ts';
import { Connection } from './connection.ts';
import { ConnectionIndex } from './connection-index.ts';
import { LocalDelivery } from './delivery.ts';
import type {
  ChannelInfo,
  ChannelSummary,
  OutboundEvent,
  SocketEngine,
  SocketIdentity,
  StreamServices,
} from './engine-api.ts';
import { Fanout } from './fanout.ts';
import { memoryStores, type StreamStores } from './streams.ts';
import { type AttachPoint, type EngineCore, errorType } from './ws-context.ts';
import { dispatchMessage } from './ws-dispatch.ts';
import { DrainController } from './ws-drain.ts';
import { applyToken, verifyToken } from './ws-identity.ts';
import { channelInfo, listChannels } from './ws-queries.ts';
import { removeSubscription } from './ws-subscribe.ts';
import { dueAction, nativePingIntervalMs, RoundRobin, type SweepSettings } from './ws-sweep.ts';
import { admissionError, type ConnectionParams, parseUpgradeRequest, rejectUpgrade } from './ws-upgrade.ts';

export interface EngineDeps {
  config: ResolvedConfig;
  metrics: Metrics;
  logger: Logger;
  revocations: RevocationStore;
  now?: () => number;
  /** Period of the single sweep timer (heartbeats, token expiry, auth deadline). Default 500 ms. */
  sweepIntervalMs?: number;
  /** Connections visited per sweep tick (STANDARDS C3). Default 10 000. */
  sweepBudget?: number;
  /** Time a V2 socket has to refresh an expired token before close 4009. Default 30 s. */
  tokenExpiryGraceMs?: number;
  /** Time a closing socket gets to finish the close handshake before it is destroyed. Default 5 s. */
  closeGraceMs?: number;
  /** Retry-After (seconds) of the 503 answered to upgrades while draining. Default 5. */
  drainRetryAfterSeconds?: number;
  /** The stores of the publish pipeline; default: every store in memory (single node). */
  stores?: StreamStores;
  /** Channel settings (policies hot-reload into it); default: from the config's inline policies. */
  settings?: ChannelSettingsResolver;
  /**
   * Where committed messages go: by default straight to this node's delivery; in a cluster the
   * horizontal transport, which hands every node's copy to `deliver`.
   */
  broadcast?: (signal: ChannelSignal) => void;
  /** Where subscribers attach (in a cluster: the bus orders their channels from there). */
  attachPoint?: (p: AttachPoint) => void;
}

export function createEngine(deps: EngineDeps): SocketEngine {
  return new WsEngine(deps);
}

/** Close reasons are at most 123 bytes (RFC 6455). */
function closeReason(text: string): string {
  return Buffer.byteLength(text) <= 123 ? text : Buffer.from(text).subarray(0, 120).toString('utf8');
}

class WsEngine implements SocketEngine, EngineCore {
  readonly config: ResolvedConfig;
  readonly streams: StreamServices;
  readonly delivery: LocalDelivery;
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly revocations: RevocationStore;
  readonly registry = new ChannelRegistry<Connection>();
  readonly cache = new ChannelCache();
  readonly wires: Readonly<Record<1 | 2, Wire>> = { 1: createWire(1, newMessageId), 2: createWire(2, newMessageId) };
  readonly fanout: Fanout;
  readonly #logger: Logger;
  readonly #attachPoint: ((p: AttachPoint) => void) | undefined;
  readonly #wss: WebSocketServer;
  readonly #appsByKey = new Map<string, ResolvedApp>();
  readonly #index = new ConnectionIndex();
  readonly #closing = new Set<Connection>();
  readonly #sweep: RoundRobin<string, Connection>;
  readonly #sweepTimer: NodeJS.Timeout;
  readonly #sweepBudget: number;
  readonly #sweepSettings: SweepSettings;
  readonly #closeGraceMs: number;
  readonly #retryAfter: number;
  readonly #drain: DrainController;
  #pendingUpgrades = 0;
  #closed = false;

  constructor(deps: EngineDeps) {
    this.config = deps.config;
    this.metrics = deps.metrics;
    this.now = deps.now ?? Date.now;
    this.revocations = deps.revocations;
    this.#logger = deps.logger;
    this.#attachPoint = deps.attachPoint;
    for (const app of deps.config.apps) this.#appsByKey.set(app.key, app);
    const ws = deps.config.websocket;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: ws.maxPayloadKb * 1024,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.fanout = new Fanout({
      metrics: deps.metrics,
      wires: this.wires,
      onSlowConsumer: (conn) => this.#closeConnection(conn, aitError('AIT_ERR_CLIENT_TOO_SLOW'), { errorFrame: false }),
    });
    this.#sweepSettings = {
      activityTimeoutMs: ws.activityTimeoutSeconds * 1000,
      pongTimeoutMs: ws.pongTimeoutSeconds * 1000,
      nativePingIntervalMs: nativePingIntervalMs(ws.pingIntervalSeconds, ws.activityTimeoutSeconds),
      tokenExpiryGraceMs: deps.tokenExpiryGraceMs ?? 30_000,
    };
    this.#closeGraceMs = deps.closeGraceMs ?? 5_000;
    this.#retryAfter = deps.drainRetryAfterSeconds ?? 5;
    this.#sweepBudget = deps.sweepBudget ?? 10_000;
    this.#sweep = new RoundRobin(this.#index.bySocketId);
    this.#sweepTimer = setInterval(() => this.#sweepTick(), deps.sweepIntervalMs ?? 500);
    this.#sweepTimer.unref();
    const stores = deps.stores ?? memoryStores(deps.config, this.now);
    const settings = deps.settings ?? new ChannelSettingsResolver(deps.config, deps.config.channelPolicies.policies);
    const cfg = deps.config;
    this.delivery = new LocalDelivery({
      core: this,
      settings,
      hot: stores.hot,
      metrics: deps.metrics,
      logger: deps.logger,
      options: {
        rollupEnabled: cfg.rollup.enabled,
        wheelTickMs: cfg.rollup.wheelTickMs,
        maxHeldBytes: cfg.rollup.maxHeldBytes,
        maxItemsPerTick: cfg.rollup.maxItemsPerTick,
        maxTrackedStreamsPerChannel: cfg.aiTransport.maxOpenStreamingMessagesPerChannel,
        attachMaxFrames: Math.max(1000, cfg.recovery.maxBufferSize * 4),
        attachMaxBytes: cfg.websocket.sendBufferMaxBytes,
      },
      onAttachOverflow: (conn) => this.#closeConnection(conn, aitError('AIT_ERR_CLIENT_TOO_SLOW')),
    });
    const broadcast = deps.broadcast ?? ((m: ChannelSignal) => this.deliver(m));
    const storeTimeoutMs = cfg.history.writeTimeoutMs;
    const publisher = new ChannelPublisher({
      nodeId: cfg.nodeId,
      now: this.now,
      settings,
      history: stores.history,
      versions: stores.versions,
      claims: stores.claims,
      activeStreams: stores.activeStreams,
      serials: new SerialGenerator({ node: cfg.nodeId, now: this.now, startCounter: randomInt(1, 2 ** 40) }),
      gate: new OrderingGate(cfg.history.maxPendingPerChannel),
      deliver: broadcast,
      metrics: deps.metrics,
      logger: deps.logger,
      storeTimeoutMs,
      orphanTtlMs: cfg.aiTransport.orphanTtlMs,
    });
    const reads = new ChannelReads({
      settings,
      history: stores.history,
      versions: stores.versions,
      metrics: deps.metrics,
      storeTimeoutMs,
    });
    this.streams = { settings, publisher, reads, stores };
    this.delivery.start();
    this.#drain = new DrainController({
      now: this.now,
      remaining: () => this.#index.size,
      closeBatch: (n, reason) => this.#closeBatch(n, reason),
      pendingFlushes: () => this.delivery.rollupStats.pendingWindows + this.streams.publisher.pending,
      defaults: {
        batchSize: deps.config.shutdown.drainBatchSize,
        batchIntervalMs: deps.config.shutdown.drainBatchIntervalMs,
      },
    });
  }

  // --- handshake -------------------------------------------------------------------------

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closed || this.#drain.draining) {
      const err = aitError('AIT_ERR_UNAVAILABLE', { reason: 'node is draining; reconnect to another node' });
      rejectUpgrade(socket, 503, err.httpBody(), { 'Retry-After': String(this.#retryAfter) });
      return;
    }
    const parsed = parseUpgradeRequest(req.url);
    if (!parsed.ok) {
      rejectUpgrade(socket, parsed.status, { error: parsed.message, code: parsed.code, status: parsed.status });
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws, req, parsed.params));
  }

  #onSocket(ws: WebSocket, req: IncomingMessage, params: ConnectionParams): void {
    ws.on('error', (err: Error & { code?: string }) => {
      this.#logger.debug({ err: err.message, code: err.code }, 'websocket error');
    });
    const wire = this.wires[params.version];
    const reject = (err: AitError, appId: string): void => {
      this.metrics.connectionErrorsTotal.inc({ app_id: appId, error_type: errorType(err.code) });
      this.#logger.debug({ appId, code: err.code }, 'connection refused');
      ws.send(wire.error({ code: err.wsCode, message: err.message }));
      ws.close(err.wsCode, closeReason(err.message));
    };
    const app = this.#appsByKey.get(params.appKey);
    const refusal = admissionError(app, params, req.headers.origin, {
      nodeConnections: this.#index.size + this.#pendingUpgrades,
      nodeMax: this.config.websocket.maxConnections,
      appConnections: app ? this.#index.countForApp(app.id) : 0,
    });
    if (refusal || !app) {
      reject(refusal ?? aitError('AIT_ERR_APP_NOT_FOUND', { key: params.appKey }), app?.id ?? 'unknown');
      return;
    }
    if (params.token === undefined) {
      this.#open(ws, app, params, undefined);
      return;
    }
    // The token is verified before connection_established (PROTOCOL.md 1.2).
    this.#pendingUpgrades++;
    verifyToken(app, params.token, this.revocations, this.now())
      .then((r) => {
        this.#pendingUpgrades--;
        if (ws.readyState !== ws.OPEN) return;
        if (!r.ok) {
          reject(aitError('AIT_ERR_TOKEN_INVALID', { reason: r.reason }), app.id);
          return;
        }
        if (this.#closed || this.#drain.draining) {
          reject(aitError('AIT_ERR_RECONNECT', { reason: 'node draining' }), app.id);
          return;
        }
        this.#open(ws, app, params, r.token);
      })
      .catch((err: unknown) => {
        this.#pendingUpgrades--;
        this.#logger.error({ err }, 'token verification failed');
        ws.terminate();
      });
  }

  #open(ws: WebSocket, app: ResolvedApp, params: ConnectionParams, token: VerifiedToken | undefined): void {
    const socketId = newSocketId();
    const conn = new Connection({
      socketId,
      app,
      ws,
      wire: this.wires[params.version],
      log: this.#logger.child({ socketId, appId: app.id }),
      params,
      nowMs: this.now(),
      maxBufferedBytes: this.config.websocket.sendBufferMaxBytes,
    });
    this.#index.add(conn);
    this.metrics.connected.inc({ app_id: app.id });
    this.metrics.newConnectionsTotal.inc({ app_id: app.id });
    if (token) applyToken(this, conn, token);
    ws.on('message', (data: RawData, isBinary: boolean) => dispatchMessage(this, conn, data, isBinary));
    ws.on('pong', () => conn.touch(this.now()));
    ws.on('ping', () => conn.touch(this.now()));
    ws.on('close', (code: number) => this.#onClose(conn, code));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.metrics.connectionErrorsTotal.inc({ app_id: app.id, error_type: 'payload_too_large' });
      }
    });
    this.send(conn, conn.wire.connectionEstablished(socketId, this.config.websocket.activityTimeoutSeconds));
    conn.log.debug({ version: params.version, token: token !== undefined }, 'connection opened');
  }

  // --- EngineCore ------------------------------------------------------------------------

  attachPoint(p: AttachPoint): void {
    this.#attachPoint?.(p);
  }

  send(conn: Connection, frame: string): void {
    this.fanout.send(conn, frame);
  }

  fail(conn: Connection, err: AitError): void {
    if (err.fatal) {
      this.#closeConnection(conn, err);
      return;
    }
    this.metrics.connectionErrorsTotal.inc({ app_id: conn.appId, error_type: errorType(err.code) });
    conn.log.debug({ code: err.code, wsCode: err.wsCode }, err.message);
    this.send(
      conn,
      conn.wire.error({ code: err.wsCode, message: err.message, aiCode: err.spec.aiCode, channel: err.channel }),
    );
  }

  setIdentity(conn: Connection, userId: string | undefined, jti: string | undefined): void {
    this.#index.setIdentity(conn, userId, jti);
  }

  // --- closing ---------------------------------------------------------------------------

  /**
   * Closes a socket: flushes what is queued, sends the error frame (unless `errorFrame:
   * false`), unsubscribes it everywhere, then starts the close handshake with the error's code.
   */
  #closeConnection(
    conn: Connection,
    err: AitError | undefined,
    opts: { code?: number; errorFrame?: boolean } = {},
  ): void {
    if (conn.state !== 'open') return;
    const code = opts.code ?? err?.wsCode ?? 1000;
    if (err) {
      this.metrics.connectionErrorsTotal.inc({ app_id: conn.appId, error_type: errorType(err.code) });
      conn.log.debug({ code: err.code, wsCode: code }, err.message);
      if (opts.errorFrame !== false) {
        conn.enqueue(conn.wire.error({ code: err.wsCode, message: err.message, aiCode: err.spec.aiCode }), 0);
      }
    }
    this.fanout.flushOne(conn);
    this.#detach(conn);
    try {
      conn.ws.close(code, closeReason(err?.message ?? ''));
    } catch {
      conn.ws.terminate();
    }
  }

  /** Forgets a connection (idempotent): subscriptions, presence, indexes, gauges. */
  #detach(conn: Connection): void {
    if (conn.state !== 'open') return;
    conn.state = 'closing';
    conn.closingSinceMs = this.now();
    conn.discardQueue();
    for (const channel of [...conn.channels]) removeSubscription(this, conn, channel);
    this.#index.remove(conn);
    this.#closing.add(conn);
    this.metrics.connected.dec({ app_id: conn.appId });
    this.metrics.newDisconnectionsTotal.inc({ app_id: conn.appId });
    this.#drain.notify();
  }

  #onClose(conn: Connection, code: number): void {
    this.#detach(conn);
    conn.state = 'closed';
    this.#closing.delete(conn);
    conn.log.debug({ code }, 'connection closed');
  }

  #closeBatch(n: number, reason: string): number {
    let closed = 0;
    for (const conn of this.#index.bySocketId.values()) {
      if (closed >= n) break;
      this.#closeConnection(conn, aitError('AIT_ERR_RECONNECT', { reason }));
      closed++;
    }
    return closed;
  }

  // --- sweep -----------------------------------------------------------------------------

  #sweepTick(): void {
    const now = this.now();
    this.#sweep.tick(this.#sweepBudget, (conn) => this.#sweepOne(conn, now));
    let seen = 0;
    for (const conn of this.#closing) {
      if (seen++ >= this.#sweepBudget || now - conn.closingSinceMs < this.#closeGraceMs) break;
      this.#closing.delete(conn);
      conn.ws.terminate();
    }
    this.cache.sweep(now);
  }

  #sweepOne(conn: Connection, now: number): void {
    switch (dueAction(conn, now, this.#sweepSettings)) {
      case 'none':
        return;
      case 'pong-timeout':
        this.#closeConnection(conn, aitError('AIT_ERR_PONG_TIMEOUT'));
        return;
      case 'token-expired-close':
        this.#closeConnection(conn, aitError('AIT_ERR_TOKEN_EXPIRED_CLOSE'));
        return;
      case 'user-auth-timeout':
        this.#closeConnection(
          conn,
          aitError('AIT_ERR_USER_AUTH_TIMEOUT', { seconds: conn.app.userAuthenticationTimeoutSeconds }),
        );
        return;
      case 'token-expired-notice':
        conn.tokenExpiredNoticeAtMs = now;
        this.send(conn, conn.wire.tokenExpired(40142, 'expired'));
        return;
      case 'send-ping':
        conn.pingSentAtMs = now;
        this.send(conn, conn.wire.ping());
        return;
      case 'send-native-ping':
        conn.pingSentAtMs = now;
        conn.lastNativePingMs = now;
        conn.ws.ping();
        return;
    }
  }

  // --- Engine API ------------------------------------------------------------------------

  /** An ephemeral server event straight to this node's subscribers (no history, no serial). */
  publish(ev: OutboundEvent): void {
    this.deliver({
      kind: 'event',
      appId: ev.appId,
      channel: ev.channel,
      event: ev.event,
      data: ev.data,
      ...(ev.excludeSocketId !== undefined && { excludeSocketId: ev.excludeSocketId }),
      ...(ev.messageId !== undefined && { messageId: ev.messageId }),
      ...(ev.userId !== undefined && { userId: ev.userId }),
      ...(ev.extras !== undefined && { extras: ev.extras }),
      ...(ev.tags !== undefined && { tags: ev.tags }),
    });
  }

  /** A committed message (from this node's publisher, or another node's over the transport). */
  deliver(signal: ChannelSignal): void {
    this.delivery.receive(signal);
  }

  hasFullModeSubscribers(appId: string, channel: string): boolean {
    return this.delivery.hasFullMode(appId, channel);
  }

  listChannels(appId: string, prefix?: string): ChannelSummary[] {
    return listChannels(this.registry, appId, prefix);
  }

  channelInfo(appId: string, channel: string): ChannelInfo {
    return channelInfo(this.registry, this.cache, appId, channel, this.now());
  }

  presenceUserIds(appId: string, channel: string): string[] | undefined {
    return this.registry.get(appId, channel)?.presence?.ids();
  }

  terminateUserConnections(appId: string, userId: string, closeCode?: number): number {
    const conns = this.#index.byUser(appId, userId);
    for (const conn of conns) {
      if (closeCode === 4200)
        this.#closeConnection(conn, aitError('AIT_ERR_RECONNECT', { reason: 'requested by the server' }));
      else this.#closeConnection(conn, aitError('AIT_ERR_TERMINATED'), { code: closeCode ?? 4009 });
    }
    return conns.length;
  }

  applyRevocation(appId: string, match: { jti?: string; clientId?: string }): number {
    const targets = new Set<Connection>();
    if (match.jti !== undefined) for (const c of this.#index.byJti(appId, match.jti)) targets.add(c);
    if (match.clientId !== undefined) for (const c of this.#index.byUser(appId, match.clientId)) targets.add(c);
    for (const conn of targets) {
      // V2: token_expired {40160, revoked} then close 4009 (PROTOCOL.md 2.4); V1: error frame then close.
      if (conn.version === 2) this.send(conn, conn.wire.tokenExpired(40160, 'revoked'));
      this.#closeConnection(conn, aitError('AIT_ERR_TOKEN_REVOKED_CLOSE'), { errorFrame: conn.version === 1 });
    }
    return targets.size;
  }

  socketIdentity(appId: string, socketId: string): SocketIdentity | undefined {
    const conn = this.#index.bySocketId.get(socketId);
    if (!conn || conn.appId !== appId) return undefined;
    return { version: conn.version, userId: conn.userId, capabilities: conn.capabilities };
  }

  connectionCount(appId?: string): number {
    return appId === undefined ? this.#index.size : this.#index.countForApp(appId);
  }

  connectionsByApp(): Record<string, number> {
    return this.#index.countsByApp();
  }

  channelCount(): number {
    return this.registry.count();
  }

  get draining(): boolean {
    return this.#drain.draining;
  }

  startDrain(req?: DrainRequest): DrainStatus {
    return this.#drain.start(req);
  }

  drainStatus(): DrainStatus | null {
    return this.#drain.status();
  }

  waitDrained(deadlineMs: number): Promise<void> {
    return this.#drain.wait(deadlineMs);
  }

  /** Delivers everything the rollup holds (graceful shutdown, before sockets close). */
  flushRollups(): number {
    return this.delivery.drain();
  }

  rollupStats(): { activeStreams: number; heldBytes: number; pendingWindows: number } {
    const s = this.delivery.rollupStats;
    return { activeStreams: s.activeStreams, heldBytes: s.heldBytes, pendingWindows: s.pendingWindows };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    this.delivery.drain();
    this.delivery.stop();
    this.#drain.stop();
    for (const conn of [...this.#index.bySocketId.values()]) this.#closeConnection(conn, undefined, { code: 1001 });
    const deadline = Date.now() + Math.min(this.#closeGraceMs, 2_000);
    while (this.#closing.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const conn of this.#closing) conn.ws.terminate();
    this.#closing.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
