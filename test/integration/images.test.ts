// The images without a Docker engine: each image's /app is laid out from its Dockerfile's COPY
// instructions (after .dockerignore) in a temporary directory, made read-only, and the image's
// ENTRYPOINT is run there as UID/GID 65532 (when the test runs as root) with HOME=/tmp — so a
// module missing from the image, or a write outside /tmp, fails here as it would in the pod.
// node_modules is the repository's (scripts/images/images.test.ts checks that only production
// dependencies are loaded).
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  envOf,
  execForm,
  isIgnored,
  last,
  parseCopy,
  parseDockerfile,
  parseDockerignore,
  type Stage,
} from '../../scripts/images/dockerfile.ts';
import { repoRoot as ROOT } from '../helpers/artifact-tools.ts';
import { freePort, probe, waitFor } from '../helpers/controlplane-process.ts';

const UID = 65532;
const asRoot = process.getuid?.() === 0;
const ignore = parseDockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'ait-image-'));
chmodSync(work, 0o755);
const children: ChildProcess[] = [];
let staged = 0;
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  // Restore write bits so the tree can be removed.
  const unlock = (p: string) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st?.isDirectory()) return;
    chmodSync(p, 0o755);
    for (const e of readdirSync(p, { withFileTypes: true })) if (e.isDirectory()) unlock(join(p, e.name));
  };
  unlock(work);
  rmSync(work, { recursive: true, force: true });
});

function filesUnder(abs: string): string[] {
  if (!statSync(abs).isDirectory()) return [abs];
  return readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

function lockDown(p: string): void {
  const st = statSync(p);
  if (!st.isDirectory()) {
    chmodSync(p, 0o444);
    return;
  }
  for (const e of readdirSync(p, { withFileTypes: true })) if (!e.isSymbolicLink()) lockDown(join(p, e.name));
  chmodSync(p, 0o555);
}

interface Staged {
  readonly app: string;
  readonly node: string;
  readonly entrypoint: string[];
  readonly env: Map<string, string>;
  readonly files: number;
}

/** Lays out the final stage's /app: local COPYs file by file, node_modules as a link, then read-only. */
function stage(image: string): Staged {
  const df = parseDockerfile(readFileSync(join(ROOT, `${image}/Dockerfile`), 'utf8'));
  const final = df.stages.at(-1) as Stage;
  const workdir = last(final, 'WORKDIR')?.args;
  expect(workdir).toBe('/app');
  const root = join(work, `${image}-${staged++}`);
  const app = join(root, 'app');
  mkdirSync(app, { recursive: true });
  let files = 0;
  for (const ins of final.instructions.filter((i) => i.keyword === 'COPY')) {
    const c = parseCopy(ins);
    const dest = join(app, c.dest);
    if (c.from !== undefined) {
      expect(c.dest).toBe('./node_modules');
      symlinkSync(join(ROOT, 'node_modules'), dest);
      continue;
    }
    for (const src of c.sources) {
      const abs = join(ROOT, src);
      const isDir = statSync(abs).isDirectory();
      for (const f of filesUnder(abs)) {
        const rel = relative(ROOT, f);
        if (isIgnored(ignore, rel)) continue;
        const target = isDir ? join(dest, relative(abs, f)) : c.dest.endsWith('/') ? join(dest, src) : dest;
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(f, target);
        files++;
      }
    }
  }
  lockDown(app);
  chmodSync(root, 0o755);
  // The test's node sits under /root (mode 0700) for root: give UID 65532 a copy it can run.
  const node = join(root, 'node');
  try {
    linkSync(process.execPath, node);
  } catch {
    cpSync(process.execPath, node);
  }
  chmodSync(node, 0o555);
  const ep = execForm(last(final, 'ENTRYPOINT')?.args ?? '');
  expect(ep?.[0]).toBe('node');
  return { app, node, entrypoint: (ep as string[]).slice(1), env: envOf(final), files };
}

function run(s: Staged, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(s.node, [...s.entrypoint, ...args], {
    cwd: s.app,
    env: { ...Object.fromEntries(s.env), PATH: '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asRoot ? { uid: UID, gid: UID } : {}),
  });
  children.push(child);
  return child;
}

function collect(child: ChildProcess): { out: () => string; exited: Promise<number | null> } {
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { out: () => out, exited };
}

describe('dataplane image layout', () => {
  it(`serves and drains from a read-only /app${asRoot ? ' as UID 65532' : ''}`, async () => {
    const s = stage('dataplane');
    expect(s.files).toBeGreaterThan(50);
    const [http, ops] = [await freePort(), await freePort()];
    const config = join(work, 'dataplane.yaml');
    writeFileSync(
      config,
      [
        `server: { host: 127.0.0.1, port: ${http} }`,
        `ops: { host: 127.0.0.1, port: ${ops}, adminToken: image-test-token }`,
        'apps: [{ id: app-id, key: app-key, secret: app-secret }]',
      ].join('\n'),
    );
    chmodSync(config, 0o444);
    const child = run(s, [], { AIT_CONFIG: config });
    const { out, exited } = collect(child);
    await waitFor(async () => (await probe(`http://127.0.0.1:${ops}/readyz`)).status === 200, {
      what: `the staged data plane to be ready (output: ${out().slice(-500)})`,
      timeoutMs: 15_000,
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${out()}`);
    });
    child.kill('SIGTERM');
    expect(await exited, out()).toBe(0);
    expect(out()).not.toMatch(/EACCES|EROFS|ERR_MODULE_NOT_FOUND/);
  });
});

describe('operator image layout', () => {
  it('loads every module of the operator from its staged /app', async () => {
    const s = stage('operator');
    const child = run(s, ['--help']);
    const { out, exited } = collect(child);
    expect(await exited, out()).toBe(0);
    expect(out()).toMatch(/--leader-elect/);
  });

  it('a module left out of the image fails to start (the check above can fail)', async () => {
    const s = stage('operator');
    // Remove the metric catalog the operator imports from the data plane.
    const catalog = join(s.app, 'dataplane/src/metrics/catalog.ts');
    chmodSync(dirname(catalog), 0o755);
    rmSync(catalog);
    const { out, exited } = collect(run(s, ['--help']));
    expect(await exited).not.toBe(0);
    expect(out()).toMatch(/ERR_MODULE_NOT_FOUND/);
  });
});
