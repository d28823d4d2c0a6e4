// The shared Redis client of every Redis store: one ioredis connection (standalone or Cluster)
// built from a typed options object, with the failure behaviour chosen once, here:
//
// - Every command has a deadline: ioredis `commandTimeout`, plus our own guard around each call
//   (the Cluster client queues commands internally while it refreshes slots, where ioredis arms
//   no timer) — STANDARDS F1.
// - No offline queue: while Redis is unreachable a command fails at once with the retryable
//   error instead of waiting in an unbounded queue (`enableOfflineQueue: false`); commands in
//   flight when the socket drops fail at once too (`maxRetriesPerRequest: 0`) and are never
//   re-sent later behind the caller's back (`autoResendUnfulfilledCommands: false`): a late
//   re-send would apply a write the caller already saw fail and may have retried. The number of
//   commands in flight is capped (`maxPendingCommands`); past it calls fail fast.
// - Reconnects forever, with exponential backoff and full jitter capped at `maxDelayMs`, so
//   the stores recover by themselves when Redis returns (F3).
// - Connection, timeout and "server busy" errors become StoreUnavailableError (retryable);
//   everything else (a script bug, WRONGTYPE) propagates as a plain Error with context.
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../errors.ts';
import { checkKeyPrefix, DEFAULT_KEY_PREFIX, type RedisKeys } from './keys.ts';
import { ConnectionLiveness } from './liveness.ts';

export interface RedisTlsOptions {
  /** PEM CA bundle that signs the server certificate (default: the system roots). */
  readonly ca?: string | Buffer;
  /** SNI / certificate name to verify, when it differs from the host. */
  readonly serverName?: string;
}

export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

export interface RedisReconnectOptions {
  /** First backoff ceiling in ms (default 100). */
  readonly baseDelayMs?: number;
  /** Largest backoff ceiling in ms (default 5000). */
  readonly maxDelayMs?: number;
}

export interface RedisConnectionOptions {
  /** Standalone server (ignored when `clusterNodes` is set). Default 127.0.0.1:6379. */
  readonly host?: string;
  readonly port?: number;
  /** Database index, standalone only (default 0). */
  readonly db?: number;
  readonly username?: string;
  /** The password itself (resolve it from an env var or a file first: `resolveRedisConfig`). */
  readonly password?: string;
  /** TLS on when present. */
  readonly tls?: RedisTlsOptions;
  /** Seed nodes of a Redis Cluster; when non-empty the client is a Cluster client. */
  readonly clusterNodes?: readonly RedisNodeAddress[];
  /** Prefix of every key (default `ait:`; no braces). */
  readonly keyPrefix?: string;
  /** Deadline of one command in ms (default 1000). */
  readonly commandTimeoutMs?: number;
  /** Deadline of one connection attempt in ms (default 5000). */
  readonly connectTimeoutMs?: number;
  /** Commands allowed in flight at once; more fail fast as unavailable (default 10 000). */
  readonly maxPendingCommands?: number;
  readonly reconnect?: RedisReconnectOptions;
  /** CLIENT SETNAME, to tell our connections apart in CLIENT LIST. */
  readonly connectionName?: string;
  readonly logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Jitter source (tests); default Math.random. */
  readonly random?: () => number;
}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 6379,
  db: 0,
  commandTimeoutMs: 1000,
  connectTimeoutMs: 5000,
  maxPendingCommands: 10_000,
  baseDelayMs: 100,
  maxDelayMs: 5000,
} as const;

/** Full-jitter exponential backoff: uniform in [0, min(max, base·2^(attempt-1))). Pure. */
export function fullJitterDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const n = Math.max(1, Math.floor(attempt));
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(n - 1, 30));
  return Math.floor(random() * ceiling);
}

const TRANSIENT_MESSAGES = [
  'Command timed out',
  "Stream isn't writeable",
  'Connection is closed',
  "Cluster isn't ready",
  'Too many Cluster redirections',
  'Failed to refresh slots cache',
  'None of startup nodes is available',
];
/** Reply prefixes of a server that is up but cannot serve now (or cannot let us in). */
const TRANSIENT_REPLIES = [
  'LOADING',
  'BUSY',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'MASTERDOWN',
  'READONLY',
  'NOREPLICAS',
  'OOM',
  'NOAUTH',
  'WRONGPASS',
];
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);
const TRANSIENT_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError', 'AbortError']);

/**
 * Whether an error from ioredis means "Redis could not serve this now" (retry later) rather
 * than a bug or bad data. Pure; table-tested in client.test.ts.
 */
export function isTransientRedisError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof StoreUnavailableError) return true;
  if (TRANSIENT_NAMES.has(err.name)) return true;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  const msg = err.message ?? '';
  if (TRANSIENT_MESSAGES.some((m) => msg.includes(m))) return true;
  // ReplyError texts start with the error code; inside a script Redis reports the failing
  // call's reply ("ERR Error running script …: -OOM …" on 7.0, "OOM …" on 7.2).
  return TRANSIENT_REPLIES.some((p) => msg.startsWith(`${p} `) || msg.includes(`-${p} `) || msg === p);
}

/** An error Redis itself sent (ioredis ReplyError): the server answered. */
function isRedisReply(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

type AnyClient = Redis | Cluster;
type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/** A Lua script bound to a connection: `run(keys, args)` is EVALSHA (EVAL on NOSCRIPT). */
export type BoundScript = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

/** The scripts each client already has, to catch two stores defining one name differently. */
const definedScripts = new WeakMap<AnyClient, Map<string, string>>();

export class RedisConnection {
  readonly client: AnyClient;
  readonly mode: 'standalone' | 'cluster';
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  readonly #guardMs: number;
  readonly #maxPending: number;
  #pending = 0;
  #closed = false;
  readonly #liveness: ConnectionLiveness;
  readonly #log: Pick<Logger, 'warn'> | undefined;

  constructor(opts: RedisConnectionOptions = {}) {
    this.keyPrefix = checkKeyPrefix(opts.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.commandTimeoutMs = positive('commandTimeoutMs', opts.commandTimeoutMs, DEFAULTS.commandTimeoutMs);
    const connectTimeout = positive('connectTimeoutMs', opts.connectTimeoutMs, DEFAULTS.connectTimeoutMs);
    this.#maxPending = positive('maxPendingCommands', opts.maxPendingCommands, DEFAULTS.maxPendingCommands);
    // Our guard only catches what ioredis' own timer cannot (see the header).
    this.#guardMs = this.commandTimeoutMs * 2 + 100;
    const base = positive('reconnect.baseDelayMs', opts.reconnect?.baseDelayMs, DEFAULTS.baseDelayMs);
    const max = positive('reconnect.maxDelayMs', opts.reconnect?.maxDelayMs, DEFAULTS.maxDelayMs);
    const random = opts.random ?? Math.random;
    const backoff = (times: number): number => fullJitterDelay(times, base, max, random);
    const tls =
      opts.tls === undefined
        ? undefined
        : {
            ...(opts.tls.ca === undefined ? {} : { ca: opts.tls.ca }),
            ...(opts.tls.serverName === undefined ? {} : { servername: opts.tls.serverName }),
          };
    const common: RedisOptions = {
      commandTimeout: this.commandTimeoutMs,
      connectTimeout: connectTimeout,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      enableReadyCheck: true,
      enableAutoPipelining: true,
      // After a failover the old master answers READONLY: reconnect so DNS finds the new one.
      reconnectOnError: (err) => err.message.startsWith('READONLY'),
      ...(opts.username === undefined ? {} : { username: opts.username }),
      ...(opts.password === undefined ? {} : { password: opts.password }),
      ...(opts.connectionName === undefined ? {} : { connectionName: opts.connectionName }),
      ...(tls === undefined ? {} : { tls }),
    };
    const nodes = opts.clusterNodes ?? [];
    if (nodes.length > 0) {
      this.mode = 'cluster';
      const clusterOpts: ClusterOptions = {
        enableOfflineQueue: false,
        enableReadyCheck: true,
        enableAutoPipelining: true,
        scaleReads: 'master',
        maxRedirections: 16,
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        slotsRefreshTimeout: connectTimeout,
        clusterRetryStrategy: backoff,
        // TLS endpoints (e.g. managed services) must be dialled by the name they present.
        ...(tls === undefined ? {} : { dnsLookup: (address, cb) => cb(null, address) }),
        redisOptions: common,
      };
      this.client = new Cluster(
        nodes.map((n) => ({ host: n.host, port: n.port })),
        clusterOpts,
      );
    } else {
      this.mode = 'standalone';
      this.client = new Redis({
        ...common,
        host: opts.host ?? DEFAULTS.host,
        port: opts.port ?? DEFAULTS.port,
        db: opts.db ?? DEFAULTS.db,
        enableOfflineQueue: false,
        retryStrategy: backoff,
      });
    }
    const log = opts.logger;
    this.#log = log;
    this.#liveness = new ConnectionLiveness({ silenceMs: this.commandTimeoutMs * 3 }, Date.now());
    // An 'error' listener is mandatory (an unhandled 'error' event would kill the process);
    // ioredis emits one per failed reconnect, which the backoff already rate-limits.
    this.client.on('error', (err: Error) => log?.warn({ err: { message: err.message } }, 'redis connection error'));
    this.client.on('ready', () => log?.info({ mode: this.mode }, 'redis ready'));
    this.client.on('reconnecting', (ms: number) => log?.info({ delayMs: ms }, 'redis reconnecting'));
  }

  /** Commands in flight now (for a gauge). */
  get pending(): number {
    return this.#pending;
  }

  /** Whether the client is connected and ready for commands. */
  get isReady(): boolean {
    return this.client.status === 'ready';
  }

  /**
   * Runs one call against Redis with the in-flight cap and the deadline; transient failures
   * become StoreUnavailableError (with the original as `cause`), others an Error naming `label`.
   */
  async exec<T>(label: string, fn: (client: AnyClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError(`redis ${label}: connection closed`);
    if (this.#pending >= this.#maxPending) {
      throw new StoreUnavailableError(`redis ${label}: ${this.#pending} commands already in flight`);
    }
    this.#pending++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new StoreUnavailableError(`redis ${label}: no answer within ${this.#guardMs}ms`)),
          this.#guardMs,
        );
      });
      const out = await Promise.race([fn(this.client), deadline]);
      this.#liveness.answered(Date.now());
      return out;
    } catch (err) {
      this.#noteFailure(err);
      if (err instanceof StoreUnavailableError) throw err;
      if (isTransientRedisError(err)) {
        throw new StoreUnavailableError(`redis ${label}: ${(err as Error).message}`, { cause: err });
      }
      throw new Error(`while running redis ${label}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      this.#pending--;
    }
  }

  /** A reply that is an error still proves the connection alive; a timeout may not. */
  #noteFailure(err: unknown): void {
    const message = (err as Error | undefined)?.message ?? '';
    const timeout = /timed out|no answer within/i.test(message);
    if (!timeout) {
      if (isRedisReply(err)) this.#liveness.answered(Date.now());
      return;
    }
    if (this.#closed || !this.#liveness.timedOut(Date.now())) return;
    this.#log?.warn({ mode: this.mode }, 'redis connection unresponsive (timeouts only); reconnecting');
    this.client.disconnect(true);
  }

  /**
   * Defines a Lua script once per client (ioredis `defineCommand`: EVALSHA, and EVAL when the
   * server does not have it, e.g. after a restart) and returns a runner that goes through `exec`.
   */
  script(name: string, lua: string, numberOfKeys: number): BoundScript {
    let defined = definedScripts.get(this.client);
    if (!defined) {
      defined = new Map();
      definedScripts.set(this.client, defined);
    }
    const prior = defined.get(name);
    if (prior === undefined) {
      this.client.defineCommand(name, { numberOfKeys, lua });
      defined.set(name, lua);
    } else if (prior !== lua) {
      throw new Error(`redis script ${name} is already defined with another body`);
    }
    return (keys, args) =>
      this.exec(name, (c) => {
        const fn = (c as unknown as Record<string, ScriptFn>)[name] as ScriptFn;
        return fn.call(c, ...keys, ...args);
      });
  }

  /** Resolves once the client is ready; StoreUnavailableError after `timeoutMs`. */
  async ready(timeoutMs = 10_000): Promise<void> {
    if (this.isReady) return;
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new StoreUnavailableError(`redis not ready within ${timeoutMs}ms`));
      }, timeoutMs);
      this.client.once('ready', onReady);
    });
  }

  /** PING round trip in ms (readiness probe). */
  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.exec('ping', (c) => c.ping());
    return performance.now() - t0;
  }

  /** Every master: the client itself, or each Cluster master (for fan-out admin work). */
  masters(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
  }

  /** QUIT within the command timeout, then drop the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.quit(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, this.commandTimeoutMs);
        }),
      ]);
    } catch {
      // not connected: nothing to say goodbye to
    } finally {
      clearTimeout(timer);
      this.client.disconnect();
    }
  }
}

function positive(label: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`redis ${label} must be a positive integer`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Layout marker: the bucket counts decide where keys live, so they are part of the data. A node
// started with other counts would read empty buckets and report every channel as lost.

export const LAYOUT_VERSION = 1;

/**
 * Records the key layout on first use and refuses a different one later (call it at start-up,
 * after `ready()`). Throws an Error naming both layouts on a mismatch.
 */
export async function ensureLayout(conn: RedisConnection, keys: RedisKeys): Promise<void> {
  const want = JSON.stringify({
    version: LAYOUT_VERSION,
    historyBuckets: keys.historyBuckets,
    activeStreamBuckets: keys.activeStreamBuckets,
  });
  const key = keys.layout;
  const set = await conn.exec('layout', (c) => c.set(key, want, 'NX'));
  if (set === 'OK') return;
  const have = await conn.exec('layout', (c) => c.get(key));
  if (have !== null && have !== want) {
    throw new Error(
      `redis key layout mismatch under prefix "${keys.prefix}": stored ${have}, configured ${want}; ` +
        'bucket counts cannot change on existing data (use a new keyPrefix)',
    );
  }
}

/**
 * Settings on the server(s) that put acknowledged data at risk, as readable warnings (empty
 * when all is well, or when INFO is not permitted): an eviction policy other than noeviction
 * silently drops keys; no AOF means a restart loses everything since the last snapshot.
 */
export async function serverWarnings(conn: RedisConnection): Promise<string[]> {
  const out: string[] = [];
  for (const node of conn.masters()) {
    let info: string;
    try {
      info = await conn.exec('info', () => node.info('memory').then(async (m) => m + (await node.info('persistence'))));
    } catch {
      continue;
    }
    const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
    const where = `${node.options.host}:${node.options.port}`;
    const policy = field('maxmemory_policy');
    if (policy !== undefined && policy !== 'noeviction') {
      out.push(`${where}: maxmemory-policy is ${policy}; use noeviction or stored data can vanish`);
    }
    if (field('aof_enabled') === '0') out.push(`${where}: appendonly is off; a restart loses recent writes`);
  }
  return out;
}
