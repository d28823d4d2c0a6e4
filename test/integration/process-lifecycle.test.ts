// The real process: `node dataplane/src/main.ts --config <file>` on free ports. Start-up
// readiness, SIGTERM drain and a clean exit inside the grace period, a second signal, and
// fail-fast on bad config (STANDARDS F6).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { APP, http } from './rest-helpers.ts';

const MAIN = new URL('../../dataplane/src/main.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ait-process-'));
const running: ChildProcess[] = [];

afterEach(() => {
  for (const p of running.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, config: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

function baseConfig(shutdown: Record<string, number> = {}) {
  return {
    server: { host: '127.0.0.1', port: 0 },
    ops: { host: '127.0.0.1', port: 0 },
    logging: { level: 'info', format: 'json' },
    shutdown: { gracePeriodSeconds: 5, ...shutdown },
    apps: [APP],
  };
}

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function listening(p: Proc): Promise<{ public: number; ops: number }> {
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    for (const line of p.stdout().split('\n')) {
      if (!line.includes('data plane listening')) continue;
      const rec = JSON.parse(line) as { public: string; ops: string };
      return { public: Number(new URL(rec.public).port), ops: Number(new URL(rec.ops).port) };
    }
    if (p.child.exitCode !== null) throw new Error(`exited early: ${p.stderr()}${p.stdout()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no startup line: ${p.stdout()}`);
}

function connect(port: number): Promise<{ closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${APP.key}?protocol=7`);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('message', () => resolve({ closed }));
    ws.once('error', reject);
  });
}

describe('data-plane process', () => {
  it('becomes ready, drains on SIGTERM (4200) and exits 0 within the grace period', async () => {
    const p = run(['--config', writeConfig('ok.json', baseConfig())]);
    const ports = await listening(p);
    expect((await http({ port: ports.ops, path: '/readyz' })).status).toBe(200);
    expect((await http({ port: ports.public, path: '/up' })).text).toBe('OK');
    const client = await connect(ports.public);
    const started = Date.now();
    p.child.kill('SIGTERM');
    expect(await client.closed).toBe(4200);
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5_000);
    const lines = p.stdout().trim().split('\n');
    expect(lines.every((l) => JSON.parse(l).level !== undefined)).toBe(true);
    expect(p.stdout()).toContain('data plane stopped');
  });

  it('reads the config path from AIT_CONFIG', async () => {
    const p = run([], { AIT_CONFIG: writeConfig('env.json', baseConfig()) });
    await listening(p);
    p.child.kill('SIGINT');
    expect((await p.exited).code).toBe(0);
  });

  it('stays within a short grace period even when the drain is slow', async () => {
    // Grace 4 s: 3.2 s of drain (margin 20 %), then close; the watchdog would exit 1 at 3.75 s.
    const slow = baseConfig({ gracePeriodSeconds: 4, drainBatchSize: 1, drainBatchIntervalMs: 10_000 });
    const p = run(['--config', writeConfig('slow.json', slow)]);
    const ports = await listening(p);
    const clients = await Promise.all([connect(ports.public), connect(ports.public), connect(ports.public)]);
    const started = Date.now();
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(4_000);
    const codes = await Promise.all(clients.map((c) => c.closed));
    expect(codes).toContain(4200);
  });

  it('exits at once on a second signal', async () => {
    const slow = baseConfig({ gracePeriodSeconds: 30, drainBatchSize: 1, drainBatchIntervalMs: 10_000 });
    const p = run(['--config', writeConfig('second.json', slow)]);
    const ports = await listening(p);
    await Promise.all([connect(ports.public), connect(ports.public)]);
    const started = Date.now();
    p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(p.stdout()).toContain('second signal');
  });

  it('fails fast with exit 1 naming every bad field', async () => {
    const bad = { ...baseConfig(), server: { port: 'eighty' }, apps: [{ id: 'a b', key: 'k', secret: 's' }] };
    const p = run(['--config', writeConfig('bad.json', bad)]);
    expect((await p.exited).code).toBe(1);
    expect(p.stderr()).toContain('server.port');
    expect(p.stderr()).toContain('apps.0.id');
  });

  it('explains a missing config', async () => {
    const none = run([]);
    expect((await none.exited).code).toBe(1);
    expect(none.stderr()).toContain('pass --config <path> or set AIT_CONFIG');
    const missing = run(['--config', join(dir, 'does-not-exist.yaml')]);
    expect((await missing.exited).code).toBe(1);
    expect(missing.stderr()).toContain('cannot read config file');
  });
});
