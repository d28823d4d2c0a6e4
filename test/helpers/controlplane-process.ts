// Child processes for the local control plane: logged to files, bounded waits, killed on stop and
// when the test process exits, and swept after a crashed run (test/helpers/controlplane.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import path from 'node:path';

export interface ManagedProcess {
  readonly name: string;
  readonly logPath: string;
  readonly pid: number;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  readonly hasExited: () => boolean;
  /** SIGTERM, then SIGKILL after `graceMs` (at once when <= 0); resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' handlers run synchronously: SIGKILL is the only thing that can be done there.
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllNow();
      // Let the default action (or the test runner's own handler) take over.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** Records which processes a control-plane directory owns, so a later run can sweep them. */
export interface OwnerRecord {
  ownerPid: number;
  pids: number[];
}
const OWNER_FILE = 'owner.json';

export function recordChild(dir: string, pid: number): void {
  const file = path.join(dir, OWNER_FILE);
  const rec: OwnerRecord = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as OwnerRecord)
    : { ownerPid: process.pid, pids: [] };
  rec.pids.push(pid);
  writeFileSync(file, JSON.stringify(rec));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Kills processes left behind by a test process that died without cleaning up (SIGKILL, OOM):
 * for each `<parent>/<prefix>*` directory whose owner pid is gone, SIGKILL the recorded pids whose
 * command line still mentions that directory (so a reused pid is never touched), then remove
 * the directory unless it holds a `keep` marker.
 */
export function sweepStale(parent: string, prefix: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent).filter((e) => e.startsWith(prefix));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(parent, entry);
    let rec: OwnerRecord;
    try {
      rec = JSON.parse(readFileSync(path.join(dir, OWNER_FILE), 'utf8')) as OwnerRecord;
    } catch {
      continue;
    }
    if (alive(rec.ownerPid)) continue;
    for (const pid of rec.pids) {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmdline.includes(dir)) process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    if (!existsSync(path.join(dir, 'keep'))) rmSync(dir, { recursive: true, force: true });
  }
}

export interface StartOptions {
  /** Directory for `<name>.log` (appended, so restarts accumulate in one file). */
  logDir: string;
  /** Directory recorded as owner of the process (see sweepStale). */
  ownerDir: string;
  env?: NodeJS.ProcessEnv;
}

export function startProcess(name: string, command: string, args: string[], opts: StartOptions): ManagedProcess {
  installExitHooks();
  const logPath = path.join(opts.logDir, `${name}.log`);
  const fd = openSync(logPath, 'a');
  writeFileSync(fd, `\n==== ${new Date().toISOString()} ${command} ${args.join(' ')}\n`);
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ['ignore', fd, fd], env: opts.env ?? process.env });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`while starting ${name}: no pid (${command})`);
  live.add(child);
  recordChild(opts.ownerDir, child.pid);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      live.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      done = true;
      live.delete(child);
      resolve(`spawn error: ${err.message}`);
    });
  });
  return {
    name,
    logPath,
    pid: child.pid,
    exited,
    hasExited: () => done,
    async stop(graceMs = 10_000) {
      if (done) return;
      child.kill(graceMs <= 0 ? 'SIGKILL' : 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(graceMs, 0));
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export function logTail(logPath: string, lines = 40): string {
  try {
    const all = readFileSync(logPath, 'utf8').trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A port the OS had free on 127.0.0.1 a moment ago (callers retry on a bind race). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface HttpResult {
  status: number;
  body: string;
}

/**
 * One GET with a hard timeout. TLS is not verified: only for loopback health probes of processes
 * we started ourselves, before their self-signed serving certificate exists.
 */
export function probe(url: string, headers: Record<string, string> = {}, timeoutMs = 2_000): Promise<HttpResult> {
  const u = new URL(url);
  const req = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const r = req(u, { method: 'GET', headers, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error(`timeout after ${timeoutMs}ms`)));
    r.on('error', reject);
    r.end();
  });
}

export interface WaitOptions {
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Fail at once, with its log, when this process exits while we wait. */
  process?: ManagedProcess;
}

/** Polls `check` until it returns true; throws with the last error and the process log otherwise. */
export async function waitFor(check: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = '';
  for (;;) {
    if (opts.process?.hasExited()) {
      const code = await opts.process.exited;
      throw new Error(
        `while waiting for ${opts.what}: ${opts.process.name} exited (${code}); log ${opts.process.logPath}:\n` +
          logTail(opts.process.logPath),
      );
    }
    try {
      if (await check()) return;
      last = 'not yet';
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) {
      const log = opts.process ? `\nlog ${opts.process.logPath}:\n${logTail(opts.process.logPath)}` : '';
      throw new Error(`timed out after ${opts.timeoutMs}ms waiting for ${opts.what} (last: ${last})${log}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}
