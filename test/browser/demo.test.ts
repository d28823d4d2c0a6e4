// The demo page in a real browser (`make demo-test`): a data-plane node on the config `make demo`
// uses (examples/config/dev.yaml, on free loopback ports), the page's server, and Debian's
// Chromium driven headless by playwright-core. The page must show the streamed text as it grows,
// survive a reload mid-stream by resuming from its stored serial (sockudo:resume, not a fresh
// rewind), and end with exactly the text the producer sent.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type DemoServer, startDemoServer } from '../../examples/demo/server.ts';
import { repoRoot } from '../helpers/artifact-tools.ts';
import { freePort, probe, waitFor } from '../helpers/controlplane-process.ts';

const CHROMIUM = process.env.AIT_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const work = mkdtempSync(join(tmpdir(), 'ait-demo-'));
const children: ChildProcess[] = [];
let http = 0;
let server: DemoServer | undefined;
let browser: BrowserContext | undefined;

function node(args: string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, out: () => out, exited };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: make demo-test installs Debian's chromium (or set AIT_CHROMIUM)`);
  }
  // The config of `make demo`, moved to free ports.
  const config = parse(readFileSync(join(repoRoot, 'examples/config/dev.yaml'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  http = await freePort();
  const ops = await freePort();
  config.server = { ...config.server, port: http };
  config.ops = { ...config.ops, port: ops };
  const path = join(work, 'node.yaml');
  writeFileSync(path, stringify(config));
  const dp = node(['dataplane/src/main.ts', '--config', path]);
  await waitFor(async () => (await probe(`http://127.0.0.1:${ops}/readyz`)).status === 200, {
    what: 'the data-plane node',
    timeoutMs: 15_000,
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${dp.out().slice(-2000)}`);
  });
  server = await startDemoServer({
    port: 0,
    wsUrl: `ws://127.0.0.1:${http}`,
    key: 'app-key',
    secret: 'app-secret',
    channel: 'private-ai-demo',
  });
  browser = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  rmSync(work, { recursive: true, force: true });
});

const textOf = (page: Page) => page.locator('.message .text').last().textContent({ timeout: 5_000 });
const statusOf = (page: Page) => page.locator('.message').last().getAttribute('data-status', { timeout: 5_000 });

async function until(page: Page, what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) {
      const state = await page.locator('#state').textContent();
      throw new Error(`timed out waiting for ${what} (page state: ${state})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('demo page', () => {
  it('its auth endpoint signs only private-ai- channels and refuses malformed requests', async () => {
    const post = (body: string) =>
      fetch(`${server?.url}auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const ok = await post(JSON.stringify({ socket_id: '1.2', channel_name: 'private-ai-x' }));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { auth: string }).auth).toMatch(/^app-key:[0-9a-f]{64}$/);
    expect((await post(JSON.stringify({ socket_id: '1.2', channel_name: 'private-other' }))).status).toBe(403);
    expect((await post(JSON.stringify({ socket_id: 'x', channel_name: 'private-ai-x' }))).status).toBe(403);
    expect((await post('not json')).status).toBe(400);
  });

  it('shows the stream live, resumes after a reload mid-stream, and ends with the producer’s text', async () => {
    const channel = `private-ai-page-${process.pid}-${Date.now()}`;
    const page = await (browser as BrowserContext).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server?.url}?channel=${channel}`);
    await until(page, 'the subscription', async () => /live/.test((await page.locator('#state').textContent()) ?? ''));

    const producer = node([
      'examples/demo/producer.ts',
      '--port',
      String(http),
      '--channel',
      channel,
      '--tokens',
      '150',
      '--rate',
      '30',
      '--print-text',
    ]);
    await until(page, 'streamed text', async () => ((await textOf(page)) ?? '').length > 40);
    expect(await statusOf(page)).toBe('streaming');
    const before = (await textOf(page)) ?? '';

    await page.reload();
    await until(page, 'the resume', async () =>
      /resumed/.test((await page.locator('#state').getAttribute('data-state')) ?? ''),
    );
    const afterReload = (await textOf(page)) ?? '';
    expect(afterReload.startsWith(before), 'nothing shown before the reload is lost').toBe(true);

    expect(await producer.exited, producer.out()).toBe(0);
    const sent = JSON.parse(producer.out().trim().split('\n').at(-1) as string) as { text: string };
    await until(page, 'the terminal status', async () => (await statusOf(page)) === 'complete');
    expect(await textOf(page)).toBe(sent.text);
    expect(afterReload.length, 'the reload happened mid-stream').toBeLessThan(sent.text.length);
    expect(errors).toEqual([]);
    await page.close();
  });
});
