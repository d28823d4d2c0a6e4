// What the inbound-frame handlers (ws-subscribe.ts, ws-identity.ts, ws-client-events.ts)
// need from the engine. The engine (engine.ts) implements it; handlers stay free of the
// upgrade, sweep and drain machinery.
import type { RevocationStore } from '../auth/index.ts';
import type { ChannelCache } from '../channels/cache.ts';
import type { ChannelRegistry } from '../channels/registry.ts';
import type { ResolvedConfig } from '../config/load.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { AitError } from '../protocol/errors.ts';
import type { Wire } from '../protocol/sender.ts';
import type { Connection } from './connection.ts';
import type { LocalDelivery } from './delivery.ts';
import type { StreamServices } from './engine-api.ts';
import type { Fanout } from './fanout.ts';

/** Where a subscriber attached: the stream and the next serial it expects live. */
export interface AttachPoint {
  readonly appId: string;
  readonly channel: string;
  readonly kind: 'event' | 'version';
  readonly streamId: string;
  readonly next: number;
}

export interface EngineCore {
  readonly config: ResolvedConfig;
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly registry: ChannelRegistry<Connection>;
  readonly cache: ChannelCache;
  readonly fanout: Fanout;
  /** One encoder per protocol version (for frames fanned out to mixed V1/V2 subscribers). */
  readonly wires: Readonly<Record<1 | 2, Wire>>;
  readonly revocations: RevocationStore;
  /** The publish pipeline (AI events over WebSocket, history, recovery). */
  readonly streams: StreamServices;
  /** This node's delivery (attach gates of subscribing sockets). */
  readonly delivery: LocalDelivery;
  /** Queues a frame for one socket. */
  send(conn: Connection, frame: string): void;
  /** A subscriber attached at this store position (the cluster bus orders the channel from it). */
  attachPoint(p: AttachPoint): void;
  /** Sends the error frame (counted in connection_errors_total); closes the socket when the error is fatal. */
  fail(conn: Connection, err: AitError): void;
  /** Records a verified identity (sign-in or token) so terminate/revoke can find the socket. */
  setIdentity(conn: Connection, userId: string | undefined, jti: string | undefined): void;
}

/** `error_type` label of connection_errors_total: the code without AIT_ERR_, lower-cased. */
export function errorType(code: string): string {
  return code.replace(/^AIT_ERR_/, '').toLowerCase();
}
