// What the REST layer needs from the rest of the node, as narrow structural types: the
// signed-request verifier and revocation store of auth/, the engine, the idempotency store,
// metrics. node.ts wires the real ones; unit tests pass fakes.
import type { IncomingHttpHeaders } from 'node:http';
import type { ControlSignal } from '../../cluster/envelope.ts';
import type { ResolvedApp, ResolvedConfig } from '../../config/load.ts';
import type { Engine } from '../engine-api.ts';
import type { HttpResponse } from '../http-util.ts';
import type { IdempotencyStore } from './idempotency.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { RouteName, RouteParams } from './routes.ts';

/** A REST request once its body has been read (bounded) by the listener. */
export interface RestRequest {
  method: string;
  /** Path exactly as received, percent-encoding kept (the signature covers it). */
  rawPath: string;
  /** Query string without the `?`, as received. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  requestId: string;
}

export interface AuthApp {
  id: string;
  key: string;
  secret: string;
  enabled: boolean;
}

export type VerifyResult =
  | { ok: true; app: AuthApp }
  | { ok: false; status: 400 | 401 | 403; code: string; message: string };

/** auth/index.ts `verifySignedRequest` (PROTOCOL.md 2.5). */
export type VerifySignedRequest = (
  req: { method: string; rawPath: string; rawQuery: string; body: Buffer },
  expectedAppId: string,
  lookupByKey: (key: string) => AuthApp | undefined,
  nowMs: number,
) => VerifyResult;

/** auth/ `RevocationStore` as the revocation route uses it. */
export interface RevocationSink {
  revoke(entry: { appId: string; jti?: string; clientId?: string; ttlMs: number }, nowMs: number): unknown;
}

/** auth/ `revocationTtlMs`: TTL from `ttl_seconds`, else `expires_at - now`, else 24 h. */
export type RevocationTtl = (body: { ttl_seconds?: number; expires_at?: number }, nowMs: number) => number;

/** Counters the REST layer reports; labels are the verified app id only (O2: no channel labels). */
export interface RestMetrics {
  request(appId: string, bytesIn: number, bytesOut: number): void;
  rateLimitCheck(appId: string, triggered: boolean): void;
  /** A publish carrying an idempotency key; `duplicate` when answered from the cache. */
  idempotentPublish(appId: string, duplicate: boolean): void;
}

export interface RestDeps {
  config: ResolvedConfig;
  engine: Engine;
  /**
   * Cluster-wide socket effects (revocations, terminations): applied on this node and sent to the
   * others; returns how many local sockets closed. Absent: this node only.
   */
  control?: (c: ControlSignal) => number;
  verify: VerifySignedRequest;
  revocations: RevocationSink;
  revocationTtlMs: RevocationTtl;
  idempotency: IdempotencyStore;
  rateLimiter: RateLimiter;
  metrics?: RestMetrics;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** What a route handler gets once the request is routed, signed and rate-checked. */
export interface RouteContext {
  route: RouteName;
  app: ResolvedApp;
  params: RouteParams;
  query: URLSearchParams;
  /** The parsed JSON body, or undefined for an empty body. */
  body: unknown;
  headers: IncomingHttpHeaders;
  deps: RestDeps;
}

export type RouteHandler = (ctx: RouteContext) => Promise<HttpResponse> | HttpResponse;

/** The outcome of one REST request, for the listener to write, log and meter. */
export interface RestResult {
  response: HttpResponse;
  /** The verified app, when the signature checked out. */
  appId?: string;
  route?: RouteName;
  /** An unexpected failure behind a 5xx, for the error log (never sent to the client). */
  fault?: unknown;
}
