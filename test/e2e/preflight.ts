// What `make e2e-kind` needs before it builds or creates anything: the docker CLI with buildx and
// a reachable engine, and kind. Returns what is missing (empty: ready), each with how to fix it,
// so the suite fails at once and says everything that is wrong. helm and kubectl are not checked
// here: the suite builds them with scripts/k8s-tools.sh when they are not on PATH.
import { spawnSync } from 'node:child_process';

function runs(cmd: string, args: string[], env: NodeJS.ProcessEnv): boolean {
  const r = spawnSync(cmd, args, { env, stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

function onPath(cmd: string, env: NodeJS.ProcessEnv): boolean {
  return runs('sh', ['-c', 'command -v "$0" >/dev/null', cmd], env);
}

export function preflight(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  const docker = env.DOCKER ?? 'docker';
  const kind = env.KIND ?? 'kind';
  if (!onPath(docker, env)) out.push(`docker (looked for '${docker}'): install Docker, or set DOCKER`);
  else {
    if (!runs(docker, ['buildx', 'version'], env)) out.push(`docker buildx ('${docker} buildx version' failed)`);
    if (!runs(docker, ['info'], env)) out.push(`a reachable Docker engine ('${docker} info' failed): start the daemon`);
  }
  if (!onPath(kind, env)) out.push(`kind (looked for '${kind}'): install kind (sigs.k8s.io/kind), or set KIND`);
  return out;
}
