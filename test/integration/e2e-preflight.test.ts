// `make e2e-kind` cannot run here (no Docker engine, no kind): what it must do then is fail
// early and loudly — exit code 2 and a list of everything missing, before it builds an image,
// creates a cluster or a temp dir. The docker doubles below answer the preflight probes only.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { preflight } from '../e2e/preflight.ts';
import { repoRoot } from '../helpers/artifact-tools.ts';

const dir = mkdtempSync(join(tmpdir(), 'ait-e2e-pre-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fake(name: string, script: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${script}\n`);
  chmodSync(p, 0o755);
  return p;
}
const e2eDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('ait-e2e-') && !f.startsWith('ait-e2e-pre-'));

describe('make e2e-kind preflight', () => {
  it('exits 2 at once, naming docker and kind, when neither is installed', () => {
    const before = e2eDirs();
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['test/e2e/kind.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', DOCKER: join(dir, 'no-docker'), KIND: join(dir, 'no-kind') },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/cannot run, missing:/);
    expect(r.stderr).toMatch(/docker \(looked for '.*no-docker'\)/);
    expect(r.stderr).toMatch(/kind \(looked for '.*no-kind'\)/);
    expect(r.stderr).not.toMatch(/^\+ /m); // no command was run
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(e2eDirs()).toEqual(before);
  });

  it('reports a docker without buildx or engine, and passes when everything answers', () => {
    const kind = fake('kind', 'exit 0');
    const noEngine = fake('docker-no-engine', '[ "$1" = info ] && exit 1; exit 0');
    expect(preflight({ ...process.env, DOCKER: noEngine, KIND: kind })).toEqual([
      `a reachable Docker engine ('${noEngine} info' failed): start the daemon`,
    ]);
    const noBuildx = fake('docker-no-buildx', '[ "$1" = buildx ] && exit 1; exit 0');
    expect(preflight({ ...process.env, DOCKER: noBuildx, KIND: kind })).toEqual([
      `docker buildx ('${noBuildx} buildx version' failed)`,
    ]);
    expect(preflight({ ...process.env, DOCKER: fake('docker-ok', 'exit 0'), KIND: kind })).toEqual([]);
  });
});
