// Static checks of the two images, without a Docker engine: each Dockerfile is parsed and
// held to what the cluster needs (non-root UID 65532, exec-form entry point, Node 24 pinned,
// only production dependencies, every file the entry point loads copied in and nothing the
// .dockerignore drops), and `scripts/images.sh` tags what the chart and the CRD expect and
// stops early, with a clear message, when docker, buildx or the engine is missing.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_IMAGE_REPOSITORY } from '../../operator/src/api/v1alpha1/cluster.ts';
import {
  envOf,
  execForm,
  instructions,
  isIgnored,
  last,
  parseCopy,
  parseDockerfile,
  parseDockerignore,
  type Stage,
} from './dockerfile.ts';
import { importClosure, packageName, runtimeSpecifiers } from './imports.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const ignore = parseDockerignore(read('.dockerignore'));
const NODE_VERSION = /NODE_VERSION="\$\{AIT_NODE_VERSION:-([0-9.]+)\}"/.exec(read('scripts/ensure-node.sh'))?.[1];

describe('Dockerfile reader', () => {
  it('joins continuations, drops comments and substitutes global ARGs', () => {
    const df = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        'ARG V=1.2',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile ARG syntax
        'FROM img:${V}-slim AS build',
        'RUN a \\',
        '  # a comment inside',
        '  && b',
        'FROM img:$V',
        'COPY --from=build --chown=1:1 /x /y',
      ].join('\n'),
    );
    expect(df.stages.map((s) => [s.image, s.name])).toEqual([
      ['img:1.2-slim', 'build'],
      ['img:1.2', undefined],
    ]);
    expect(df.stages[0]?.instructions[0]).toMatchObject({ keyword: 'RUN', args: 'a && b', line: 4 });
    const copy = parseCopy(df.stages[1]?.instructions[0] as never);
    expect(copy).toMatchObject({ from: 'build', sources: ['/x'], dest: '/y' });
  });

  it('rejects an ARG without default, a dangling continuation and instructions before FROM', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile ARG syntax
    expect(() => parseDockerfile('ARG V\nFROM img:${V}')).toThrow(/\$V has no default/);
    expect(() => instructions('RUN a \\')).toThrow(/ends inside a line continuation/);
    expect(() => parseDockerfile('RUN x\nFROM a:1')).toThrow(/RUN before the first FROM/);
  });

  it('tells exec form from shell form', () => {
    expect(execForm('["node", "a.ts"]')).toEqual(['node', 'a.ts']);
    expect(execForm('node a.ts')).toBeUndefined();
    expect(execForm('[node a.ts]')).toBeUndefined();
  });

  it('applies .dockerignore rules in order, parents included', () => {
    const rules = parseDockerignore('*\n!src\n**/*.test.ts\n!src/keep.test.ts\n');
    expect(isIgnored(rules, 'src/a.ts')).toBe(false);
    expect(isIgnored(rules, 'src/deep/a.test.ts')).toBe(true);
    expect(isIgnored(rules, 'src/keep.test.ts')).toBe(false);
    expect(isIgnored(rules, 'docs/a.md')).toBe(true);
  });

  it('finds runtime imports and leaves type-only ones out', () => {
    const src = [
      "import type { A } from './types.ts';",
      "import { type B, c } from './c.ts';",
      "import {\n  d,\n  e,\n} from '@scope/pkg/sub';",
      "export { f } from './f.ts';",
      "export type { G } from './g.ts';",
      "const h = await import('./h.ts');",
    ].join('\n');
    expect(runtimeSpecifiers(src).sort()).toEqual(['./c.ts', './f.ts', './h.ts', '@scope/pkg/sub']);
    expect(packageName('@scope/pkg/sub')).toBe('@scope/pkg');
    expect(packageName('node:fs/promises')).toBe('node:fs');
  });
});

/** The paths (repository-relative) a stage's local COPYs bring in, after .dockerignore. */
function copiedFrom(stage: Stage): string[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .map(parseCopy)
    .filter((c) => c.from === undefined)
    .flatMap((c) => c.sources);
}

describe.each([
  ['dataplane', 'dataplane/src/main.ts'],
  ['operator', 'operator/src/main.ts'],
])('%s/Dockerfile', (image, entry) => {
  const df = parseDockerfile(read(`${image}/Dockerfile`));
  const final = df.stages.at(-1) as Stage;

  it('pins Node 24 (the version scripts/ensure-node.sh uses), never a latest or untagged image', () => {
    expect(NODE_VERSION).toMatch(/^24\.\d+\.\d+$/);
    expect(df.args.get('NODE_VERSION')).toBe(NODE_VERSION);
    for (const s of df.stages) {
      const m = /^([^:@]+)(?::([^@]+))?(@sha256:[0-9a-f]{64})?$/.exec(s.image);
      expect(m, s.image).not.toBeNull();
      const [, repo, tag, digest] = m as RegExpExecArray;
      expect(tag ?? digest, `${s.image} has a tag or digest`).toBeTruthy();
      expect(tag, s.image).not.toMatch(/latest/);
      expect(repo).toBe('node');
      expect(tag?.split('.')[0], `${s.image}: Node major`).toBe('24');
      expect(tag, 'a pinned x.y.z version').toMatch(/^\d+\.\d+\.\d+-/);
    }
  });

  it('runs as UID/GID 65532 with an exec-form `node <entry>` entry point', () => {
    expect(last(final, 'USER')?.args).toBe('65532:65532');
    const ep = last(final, 'ENTRYPOINT');
    expect(ep && execForm(ep.args), 'ENTRYPOINT is a JSON array').toEqual(['node', entry]);
    expect(last(final, 'CMD'), 'no CMD: the pod gives flags as args').toBeUndefined();
    expect(existsSync(join(ROOT, entry))).toBe(true);
  });

  it('writes nowhere but /tmp at run time: HOME=/tmp, no VOLUME, no RUN in the final stage', () => {
    expect(envOf(final).get('HOME')).toBe('/tmp');
    expect(envOf(final).get('NODE_ENV')).toBe('production');
    expect(final.instructions.filter((i) => ['VOLUME', 'RUN'].includes(i.keyword))).toEqual([]);
  });

  it('copies only existing paths that the build context keeps', () => {
    const sources = copiedFrom(final).concat(df.stages.slice(0, -1).flatMap(copiedFrom));
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) {
      expect(existsSync(join(ROOT, s)), `${s} exists`).toBe(true);
      expect(isIgnored(ignore, s), `${s} is in the build context`).toBe(false);
    }
  });

  it('gets every module the entry point loads, and nothing it does not need', () => {
    const copied = copiedFrom(final);
    const inImage = (f: string) =>
      !isIgnored(ignore, f) && copied.some((c) => f === c || f.startsWith(`${c.replace(/\/$/, '')}/`));
    const closure = importClosure(ROOT, entry);
    const missing = closure.files.filter((f) => !inImage(f));
    expect(missing, 'modules loaded at run time but not copied').toEqual([]);
    // Each copied source directory is needed by the entry point (no whole-repo copies).
    for (const c of copied.filter((c) => statSync(join(ROOT, c)).isDirectory())) {
      expect(
        closure.files.some((f) => f.startsWith(`${c}/`)),
        `${c} is loaded by ${entry}`,
      ).toBe(true);
    }
  });

  it('installs production dependencies only, exactly as locked', () => {
    const deps = df.stages.slice(0, -1);
    const install = deps.flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN')).map((i) => i.args);
    expect(install.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    const modules = final.instructions
      .filter((i) => i.keyword === 'COPY')
      .map(parseCopy)
      .find((c) => c.dest.includes('node_modules'));
    expect(modules?.from, 'node_modules come from the install stage').toBe(deps.at(-1)?.name);
    const external = importClosure(ROOT, entry).packages.filter((p) => !p.startsWith('node:'));
    for (const p of external) expect(Object.keys(pkg.dependencies), `${p} is a production dependency`).toContain(p);
  });
});

// ---------------------------------------------------------------- scripts/images.sh

const tmp = mkdtempSync(join(tmpdir(), 'ait-images-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function images(env: Record<string, string>, args: string[] = []) {
  const r = spawnSync('bash', [join(ROOT, 'scripts/images.sh'), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A docker CLI double: answers `buildx version` and `info` with the given exit codes, records calls. */
function fakeDocker(name: string, buildx: number, info: number): string {
  const p = join(tmp, name);
  writeFileSync(
    p,
    `#!/usr/bin/env bash\necho "$*" >> ${p}.calls\ncase "$1 $2" in\n  "buildx version") exit ${buildx};;\n  "info "*|"info") exit ${info};;\nesac\nexit 0\n`,
  );
  chmodSync(p, 0o755);
  return p;
}

describe('scripts/images.sh', () => {
  it('tags both images with the package.json version, as the chart and the CRD default expect', () => {
    const r = images({}, ['--dry-run']);
    expect(r.code, r.err).toBe(0);
    const tags = [...r.out.matchAll(/--tag (\S+)/g)].map((m) => m[1]);
    const chart = parseYaml(read('charts/aitransport-operator/Chart.yaml')) as { appVersion: string };
    const values = parseYaml(read('charts/aitransport-operator/values.yaml')) as { image: { repository: string } };
    expect(chart.appVersion).toBe(pkg.version);
    expect(tags).toEqual([`${DEFAULT_IMAGE_REPOSITORY}:${pkg.version}`, `${values.image.repository}:${pkg.version}`]);
    expect(r.out).toMatch(/--file dataplane\/Dockerfile .* --load \.$/m);
    expect(r.out).not.toMatch(/--platform/);
  });

  it('builds multi-arch only when pushing, and refuses non-semver versions such as latest', () => {
    const multi = { PLATFORMS: 'linux/amd64,linux/arm64' };
    const refused = images(multi, ['--dry-run']);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/multi-platform: set PUSH=1/);
    const pushed = images({ ...multi, PUSH: '1', VERSION: '1.2.3' }, ['--dry-run']);
    expect(pushed.code, pushed.err).toBe(0);
    expect(pushed.out).toContain('--platform linux/amd64,linux/arm64 --push .');
    expect(pushed.out).toContain(':1.2.3 ');
    const latest = images({ VERSION: 'latest' }, ['--dry-run']);
    expect(latest.code).toBe(2);
    expect(latest.err).toMatch(/not a semantic version/);
  });

  it('fails early and loudly when docker, buildx or the engine is missing', () => {
    const none = images({ DOCKER: join(tmp, 'no-such-docker') });
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/docker is not installed/);

    const noBuildx = fakeDocker('docker-no-buildx', 1, 0);
    const a = images({ DOCKER: noBuildx });
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/buildx plugin is missing/);

    const noEngine = fakeDocker('docker-no-engine', 0, 1);
    const b = images({ DOCKER: noEngine });
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/engine is not reachable/);
    // Nothing was built: only the probes ran.
    expect(readFileSync(`${noEngine}.calls`, 'utf8').trim().split('\n')).toEqual(['buildx version', 'info']);
  });
});
