// A real redis-server for tests: a free loopback port, its own temp dir, bounded waits, killed
// when the test process exits (through the process helpers of controlplane-process.ts, which
// also sweep processes left behind by a crashed run). Plus a 3-master Redis Cluster on loopback.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { freePort, logTail, type ManagedProcess, startProcess, sweepStale, waitFor } from './controlplane-process.ts';

const REDIS_SERVER = process.env.AIT_TEST_REDIS_SERVER ?? '/usr/bin/redis-server';
const REDIS_CLI = process.env.AIT_TEST_REDIS_CLI ?? '/usr/bin/redis-cli';
const DIR_PREFIX = 'ait-redis-';
/** The name test certificates (`makeTestCertificates`) are issued for. */
export const TLS_TEST_SERVER_NAME = 'redis.test';

export interface RedisServerOptions {
  /** AOF persistence (default off). */
  readonly appendonly?: boolean;
  /** AOF fsync policy when appendonly (default `always`, so an acknowledged write is on disk). */
  readonly appendfsync?: 'always' | 'everysec' | 'no';
  /** RDB save points (default "": none). */
  readonly save?: string;
  /** Run as a Redis Cluster node. */
  readonly cluster?: boolean;
  /** requirepass. */
  readonly password?: string;
  /** Serve TLS only (the port is then a TLS port); client certificates are not required. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
  /** More redis-server arguments. */
  readonly args?: readonly string[];
  /** Deadline of start-up (default 10 s). */
  readonly startTimeoutMs?: number;
  /** Use this directory instead of a new temp dir (the cluster helper shares one parent). */
  readonly dir?: string;
}

export interface RedisServer {
  readonly port: number;
  readonly host: '127.0.0.1';
  readonly url: string;
  readonly dir: string;
  readonly logPath: string;
  /** SIGTERM (Redis saves/fsyncs what its config says, then exits); waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: no chance to flush anything. */
  kill(): Promise<void>;
  /** Starts again on the same port and directory (AOF/RDB files are reloaded if enabled). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that accepts TCP but never answers. */
  pause(): void;
  resume(): void;
  /** One command over a raw connection (for assertions and admin steps). */
  command(args: readonly string[], timeoutMs?: number): Promise<RespValue>;
  /** Stops the server and removes its directory. */
  cleanup(): Promise<void>;
}

export type RespValue = string | number | null | RespValue[] | Error;

/** Minimal RESP2 reply parser: enough for PING, INFO, CLUSTER INFO, DBSIZE, KEYS. */
function parseResp(buf: Buffer, at = 0): { value: RespValue; next: number } | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at] as number);
  const line = buf.toString('utf8', at + 1, eol);
  const after = eol + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new Error(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      if (buf.length < after + n + 2) return undefined;
      return { value: buf.toString('utf8', after, after + n), next: after + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let pos = after;
      for (let i = 0; i < n; i++) {
        const r = parseResp(buf, pos);
        if (!r) return undefined;
        items.push(r.value);
        pos = r.next;
      }
      return { value: items, next: pos };
    }
    default:
      throw new Error(`unexpected RESP type ${type}`);
  }
}

export function redisCommand(
  port: number,
  args: readonly string[],
  opts: { password?: string; timeoutMs?: number; tls?: { ca: string; servername: string } } = {},
): Promise<RespValue> {
  const all = opts.password === undefined ? [args] : [['AUTH', opts.password], args];
  const wire = all
    .map((a) => `*${a.length}\r\n${a.map((s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`).join('')}`)
    .join('');
  return new Promise((resolve, reject) => {
    const sock = opts.tls
      ? tlsConnect({ host: '127.0.0.1', port, ca: opts.tls.ca, servername: opts.tls.servername })
      : connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis ${args[0]} on :${port}: no reply within ${opts.timeoutMs ?? 2000}ms`));
    }, opts.timeoutMs ?? 2000);
    sock.on(opts.tls ? 'secureConnect' : 'connect', () => sock.write(wire));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let pos = 0;
      const replies: RespValue[] = [];
      for (let i = 0; i < all.length; i++) {
        const r = parseResp(buf, pos);
        if (!r) return;
        replies.push(r.value);
        pos = r.next;
      }
      clearTimeout(timer);
      sock.destroy();
      resolve(replies[replies.length - 1] as RespValue);
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function serverArgs(port: number, dir: string, o: RedisServerOptions): string[] {
  const listen = o.tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        o.tls.certFile,
        '--tls-key-file',
        o.tls.keyFile,
        '--tls-ca-cert-file',
        o.tls.caFile,
        '--tls-auth-clients',
        'no',
      ]
    : ['--port', String(port)];
  const args = [
    ...listen,
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--save',
    o.save ?? '',
    '--appendonly',
    o.appendonly ? 'yes' : 'no',
    '--appendfsync',
    o.appendfsync ?? 'always',
    '--logfile',
    '',
  ];
  if (o.cluster) {
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000');
  }
  if (o.password !== undefined) args.push('--requirepass', o.password);
  args.push(...(o.args ?? []));
  return args;
}

let swept = false;

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  if (!swept) {
    swept = true;
    sweepStale(tmpdir(), DIR_PREFIX);
  }
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), DIR_PREFIX));
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  const pass = {
    ...(opts.password === undefined ? {} : { password: opts.password }),
    // The certificate names whatever its SAN says; the probe only needs the CA to trust it.
    ...(opts.tls === undefined
      ? {}
      : { tls: { ca: readFileSync(opts.tls.caFile, 'utf8'), servername: TLS_TEST_SERVER_NAME } }),
  };
  let proc: ManagedProcess | undefined;
  let port = 0;

  const launch = async (): Promise<void> => {
    proc = startProcess('redis-server', REDIS_SERVER, serverArgs(port, dir, opts), { logDir: dir, ownerDir: dir });
    const p = proc;
    await waitFor(
      async () => {
        const r = await redisCommand(port, ['PING'], { timeoutMs: 500, ...pass });
        if (r instanceof Error && !/NOAUTH|LOADING/.test(r.message)) throw r;
        return r === 'PONG';
      },
      { what: `redis-server on :${port}`, timeoutMs, intervalMs: 50, process: p },
    );
  };

  // Port 0 is not supported by redis-server: take a port the OS had free, retry on a bind race.
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    port = await freePort();
    try {
      await launch();
      lastErr = undefined;
      break;
    } catch (err) {
      lastErr = err;
      const log = proc ? logTail(proc.logPath, 20) : '';
      await proc?.stop(0);
      if (!/Address already in use|bind/i.test(log)) break;
    }
  }
  if (lastErr !== undefined) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw lastErr;
  }

  const current = (): ManagedProcess => proc as ManagedProcess;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(current().pid, sig);
    } catch {
      // already gone
    }
  };
  const server: RedisServer = {
    port,
    host: '127.0.0.1',
    url: `redis://127.0.0.1:${port}`,
    dir,
    get logPath() {
      return current().logPath;
    },
    async stop() {
      signal('SIGCONT');
      await current().stop(10_000);
    },
    async kill() {
      signal('SIGCONT');
      await current().stop(0);
    },
    async restart() {
      if (!current().hasExited()) await server.stop();
      await launch();
    },
    pause() {
      signal('SIGSTOP');
    },
    resume() {
      signal('SIGCONT');
    },
    command(args, timeoutMs = 2000) {
      return redisCommand(port, args, { timeoutMs, ...pass });
    },
    async cleanup() {
      await server.kill();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

// ---------------------------------------------------------------------------------------------
// Redis Cluster

export interface RedisClusterHandle {
  readonly nodes: readonly RedisServer[];
  /** Seed addresses for the ioredis Cluster client. */
  readonly seeds: readonly { host: string; port: number }[];
  /** FLUSHALL on every master: the cluster restarted empty. */
  flushAll(): Promise<void>;
  cleanup(): Promise<void>;
}

function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} timed out after ${timeoutMs}ms:\n${out}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`));
    });
  });
}

/** Three masters (no replicas) on loopback, all 16384 slots assigned, cluster_state:ok. */
export async function startRedisCluster(
  opts: { masters?: number; timeoutMs?: number } = {},
): Promise<RedisClusterHandle> {
  const count = opts.masters ?? 3;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const parent = mkdtempSync(path.join(tmpdir(), DIR_PREFIX));
  const nodes: RedisServer[] = [];
  const cleanup = async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    rmSync(parent, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const dir = mkdtempSync(path.join(parent, `node-${i}-`));
      nodes.push(await startRedisServer({ cluster: true, dir }));
    }
    await run(
      REDIS_CLI,
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      timeoutMs,
    );
    for (const n of nodes) {
      await waitFor(
        async () => {
          const info = await n.command(['CLUSTER', 'INFO']);
          return (
            typeof info === 'string' &&
            info.includes('cluster_state:ok') &&
            info.includes(`cluster_known_nodes:${count}`)
          );
        },
        { what: `cluster_state:ok on :${n.port}`, timeoutMs, intervalMs: 100 },
      );
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    nodes,
    seeds: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    async flushAll() {
      for (const n of nodes) {
        const r = await n.command(['FLUSHALL']);
        if (r instanceof Error) throw r;
      }
    },
    cleanup,
  };
}

// ---------------------------------------------------------------------------------------------
// TLS test certificates

export interface TestCertificates {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** A throwaway CA and a server certificate for TLS_TEST_SERVER_NAME (openssl, EC P-256). */
export async function makeTestCertificates(dir: string, timeoutMs = 20_000): Promise<TestCertificates> {
  const f = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(
    'openssl',
    ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=ait-test-ca'],
    timeoutMs,
  );
  await run(
    'openssl',
    ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${TLS_TEST_SERVER_NAME}`],
    timeoutMs,
  );
  writeFileSync(f('san.ext'), `subjectAltName=DNS:${TLS_TEST_SERVER_NAME}\n`);
  await run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      f('server.csr'),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f('server.crt'),
      '-days',
      '1',
      '-extfile',
      f('san.ext'),
    ],
    timeoutMs,
  );
  return { caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key') };
}
