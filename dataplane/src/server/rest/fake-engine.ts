// An in-memory Engine for route and ops tests: records what is delivered, answers channel
// queries from a table the test fills, and drains instantly. The publish pipeline behind it is
// the real one on memory stores, so routes are tested against real history and versions. Not
// used by the running node.
import { pino } from 'pino';
import { OrderingGate } from '../../channels/gate.ts';
import { ChannelSettingsResolver } from '../../channels/settings.ts';
import { type ResolvedConfig, resolveConfig } from '../../config/load.ts';
import { SerialGenerator } from '../../messages/serials.ts';
import { createMetrics, type Metrics } from '../../metrics/registry.ts';
import type { ChannelSignal } from '../../pipeline/message.ts';
import { ChannelPublisher } from '../../pipeline/publisher.ts';
import { ChannelReads } from '../../pipeline/reads.ts';
import type { DrainRequest, DrainStatus } from '../admin-types.ts';
import type {
  ChannelInfo,
  ChannelSummary,
  OutboundEvent,
  SocketEngine,
  SocketIdentity,
  StreamServices,
} from '../engine-api.ts';
import { memoryStores } from '../streams.ts';

const DEFAULT_CONFIG = { apps: [{ id: 'app-id', key: 'app-key', secret: 'app-secret' }] };

export interface FakeChannel {
  subscriptionCount: number;
  users?: string[];
  cache?: { event: string; data: string } | null;
}

export class FakeEngine implements SocketEngine {
  /** Plain events delivered (REST publishes to channels without history, `publish` calls). */
  readonly published: OutboundEvent[] = [];
  /** Everything the pipeline delivered, in order. */
  readonly delivered: ChannelSignal[] = [];
  readonly streams: StreamServices;
  readonly metrics: Metrics;
  /** appId → channel → state. */
  readonly channels = new Map<string, Map<string, FakeChannel>>();
  readonly terminated: Array<{ appId: string; userId: string; closeCode?: number }> = [];
  readonly revoked: Array<{ appId: string; jti?: string; clientId?: string }> = [];
  connections: Record<string, number> = {};
  upgrades = 0;
  closed = false;
  drainRequests: DrainRequest[] = [];
  #drain: DrainStatus | null = null;

  constructor(config: ResolvedConfig = resolveConfig(DEFAULT_CONFIG, { env: {} }), now: () => number = Date.now) {
    this.metrics = createMetrics('ait', { defaultMetrics: false });
    const stores = memoryStores(config, now);
    const settings = new ChannelSettingsResolver(config, config.channelPolicies.policies);
    const logger = pino({ level: 'silent' });
    const common = { settings, history: stores.history, versions: stores.versions, metrics: this.metrics };
    this.streams = {
      settings,
      stores,
      reads: new ChannelReads({ ...common, storeTimeoutMs: 2000 }),
      publisher: new ChannelPublisher({
        ...common,
        nodeId: config.nodeId,
        now,
        claims: stores.claims,
        activeStreams: stores.activeStreams,
        serials: new SerialGenerator({ node: config.nodeId, now }),
        gate: new OrderingGate(1000),
        deliver: (m) => this.deliver(m),
        logger,
        storeTimeoutMs: 2000,
        orphanTtlMs: 60_000,
      }),
    };
  }

  setChannel(appId: string, name: string, state: FakeChannel): this {
    let app = this.channels.get(appId);
    if (!app) {
      app = new Map();
      this.channels.set(appId, app);
    }
    app.set(name, state);
    return this;
  }

  publish(event: OutboundEvent): void {
    this.published.push(event);
  }

  deliver(signal: ChannelSignal): void {
    this.delivered.push(signal);
    if (signal.kind !== 'event') return;
    const { kind: _k, serial: _s, streamId: _i, ...rest } = signal;
    this.published.push(rest as OutboundEvent);
  }

  flushRollups(): number {
    return 0;
  }

  hasFullModeSubscribers(): boolean {
    return false;
  }

  rollupStats(): { activeStreams: number; heldBytes: number; pendingWindows: number } {
    return { activeStreams: 0, heldBytes: 0, pendingWindows: 0 };
  }

  listChannels(appId: string, prefix?: string): ChannelSummary[] {
    const out: ChannelSummary[] = [];
    for (const [name, ch] of this.channels.get(appId) ?? []) {
      if (prefix && !name.startsWith(prefix)) continue;
      const summary: ChannelSummary = { name, subscriptionCount: ch.subscriptionCount };
      if (ch.users) summary.userCount = ch.users.length;
      out.push(summary);
    }
    return out;
  }

  channelInfo(appId: string, channel: string): ChannelInfo {
    const ch = this.channels.get(appId)?.get(channel);
    if (!ch) return { occupied: false, subscriptionCount: 0 };
    const info: ChannelInfo = { occupied: ch.subscriptionCount > 0, subscriptionCount: ch.subscriptionCount };
    if (ch.users) info.userCount = ch.users.length;
    if (ch.cache !== undefined) info.cache = ch.cache;
    return info;
  }

  presenceUserIds(appId: string, channel: string): string[] | undefined {
    return this.channels.get(appId)?.get(channel)?.users;
  }

  terminateUserConnections(appId: string, userId: string, closeCode?: number): number {
    this.terminated.push(closeCode === undefined ? { appId, userId } : { appId, userId, closeCode });
    return 1;
  }

  applyRevocation(appId: string, match: { jti?: string; clientId?: string }): number {
    this.revoked.push({ appId, ...match });
    return 2;
  }

  /** socketId → identity, for mutation actors. */
  readonly sockets = new Map<string, SocketIdentity & { appId: string }>();

  socketIdentity(appId: string, socketId: string): SocketIdentity | undefined {
    const s = this.sockets.get(socketId);
    return s && s.appId === appId ? s : undefined;
  }

  connectionCount(appId?: string): number {
    if (appId !== undefined) return this.connections[appId] ?? 0;
    return Object.values(this.connections).reduce((a, b) => a + b, 0);
  }

  connectionsByApp(): Record<string, number> {
    return { ...this.connections };
  }

  channelCount(): number {
    let n = 0;
    for (const app of this.channels.values()) n += app.size;
    return n;
  }

  get draining(): boolean {
    return this.#drain !== null;
  }

  startDrain(req: DrainRequest = {}): DrainStatus {
    this.drainRequests.push(req);
    if (!this.#drain) {
      const closed = this.connectionCount();
      this.connections = {};
      this.#drain = {
        state: 'drained',
        startedAtMs: 0,
        remainingConnections: 0,
        closedConnections: closed,
        pendingFlushes: 0,
      };
    }
    return this.#drain;
  }

  drainStatus(): DrainStatus | null {
    return this.#drain;
  }

  async waitDrained(_deadlineMs: number): Promise<void> {}

  handleUpgrade(_req: unknown, socket: import('node:stream').Duplex): void {
    this.upgrades++;
    socket.end('HTTP/1.1 501 Not Implemented\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
