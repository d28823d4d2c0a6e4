// The socket engine as the REST routes, the ops listener and main.ts see it. The engine
// (server/engine.ts) implements it; keeping it an interface lets routes be tested in-process.
import type { CapabilitySet } from '../auth/index.ts';
import type { ChannelSettingsResolver } from '../channels/settings.ts';
import type { ChannelSignal } from '../pipeline/message.ts';
import type { ChannelPublisher } from '../pipeline/publisher.ts';
import type { ChannelReads } from '../pipeline/reads.ts';
import type { DrainRequest, DrainStatus } from './admin-types.ts';
import type { StreamStores } from './streams.ts';

/** The publish pipeline of the node: settings, durable writes, reads, and their stores. */
export interface StreamServices {
  readonly settings: ChannelSettingsResolver;
  readonly publisher: ChannelPublisher;
  readonly reads: ChannelReads;
  readonly stores: StreamStores;
}

/** A server-originated event to fan out to one channel's local subscribers. */
export interface OutboundEvent {
  appId: string;
  channel: string;
  event: string;
  /** Already a string on the wire: REST publish stringifies object data (PROTOCOL.md 3.1). */
  data: string;
  /** Socket that must not receive it (REST `socket_id`, or the client-event sender). */
  excludeSocketId?: string;
  /** V2-only fields; stripped for protocol-7 sockets. */
  messageId?: string;
  userId?: string;
  extras?: Record<string, unknown>;
  tags?: Record<string, string>;
}

export interface ChannelSummary {
  name: string;
  subscriptionCount: number;
  /** Presence channels only. */
  userCount?: number;
}

export interface ChannelInfo {
  occupied: boolean;
  subscriptionCount: number;
  /** Presence channels only. */
  userCount?: number;
  /** Cache channels: the last event published, if any. */
  cache?: { event: string; data: string } | null;
}

/** The verified identity of a connected socket (the actor of a REST mutation with socket_id). */
export interface SocketIdentity {
  readonly version: 1 | 2;
  readonly userId: string | undefined;
  readonly capabilities: CapabilitySet | undefined;
}

export interface Engine {
  /** The publish pipeline (REST publish, mutations, history). */
  readonly streams: StreamServices;
  /** An ephemeral event to this node's subscribers at once (no history, no serial). */
  publish(event: OutboundEvent): void;
  /** A committed message to this node's subscribers (rollup, attach gates, hot buffer). */
  deliver(signal: ChannelSignal): void;
  /** Whether full-mode (aggregate) sockets are subscribed to the channel on this node. */
  hasFullModeSubscribers(appId: string, channel: string): boolean;
  listChannels(appId: string, prefix?: string): ChannelSummary[];
  channelInfo(appId: string, channel: string): ChannelInfo;
  /** Presence member ids of a channel, or undefined when it is not an occupied presence channel. */
  presenceUserIds(appId: string, channel: string): string[] | undefined;
  /** Closes every local socket signed in (or token-authenticated) as userId; returns how many. */
  terminateUserConnections(appId: string, userId: string, closeCode?: number): number;
  /** Applies a revocation to live sockets (token_expired 40160 then close 4009); returns closed count. */
  applyRevocation(appId: string, match: { jti?: string; clientId?: string }): number;
  /** The identity of one open socket of the app on this node, if any. */
  socketIdentity(appId: string, socketId: string): SocketIdentity | undefined;
  connectionCount(appId?: string): number;
  connectionsByApp(): Record<string, number>;
  channelCount(): number;
  readonly draining: boolean;
  /** Refuses new upgrades (503) and closes connections in batches with 4200. Idempotent. */
  startDrain(req?: DrainRequest): DrainStatus;
  drainStatus(): DrainStatus | null;
  /** Resolves when every connection is closed or the deadline passes. */
  waitDrained(deadlineMs: number): Promise<void>;
}

/** What main.ts holds: the engine plus its I/O entry points. */
export interface SocketEngine extends Engine {
  /** Handles an HTTP upgrade on the public listener for /app/{key}; answers 400/404/503 itself. */
  handleUpgrade(req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void;
  /** Delivers every held rollup append now (graceful shutdown); returns how many deliveries. */
  flushRollups(): number;
  /** The rollup engine's counters (tracked streams, held bytes, windows holding appends). */
  rollupStats(): { activeStreams: number; heldBytes: number; pendingWindows: number };
  /** Stops timers and closes every socket (1001); used after a drain or in tests. */
  close(): Promise<void>;
}
