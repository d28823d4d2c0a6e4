// Child processes of a benchmark run: every server and client process is registered here and
// killed when the run ends, whether it finishes, throws or is interrupted, so a failed run
// never leaves a node or 1000 sockets behind on a shared machine.
import { type ChildProcess, type ForkOptions, fork, type SpawnOptions, spawn } from 'node:child_process';

const live = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!hooked) {
    hooked = true;
    process.once('exit', killAll);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        killAll();
        process.exit(130);
      });
    }
  }
  return child;
}

export function spawnChild(file: string, args: string[], opts: SpawnOptions): ChildProcess {
  return track(spawn(file, args, opts));
}

export function forkChild(module: string, args: string[], opts: ForkOptions): ChildProcess {
  return track(fork(module, args, opts));
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Sends `cmd` to a forked child over IPC and resolves with its first reply of type `expect`;
 * rejects on a reply `{type:'error', message}`, when the child exits, or after `timeoutMs`.
 */
export function ask<R extends { type: string }>(
  child: ChildProcess,
  cmd: object,
  expect: R['type'],
  timeoutMs = 60_000,
): Promise<R> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMsg);
      child.off('exit', onExit);
    };
    const onMsg = (m: R | { type: 'error'; message: string }): void => {
      if (m.type === 'error') {
        done();
        reject(new Error(`child process: ${(m as { message: string }).message}`));
      } else if (m.type === expect) {
        done();
        resolve(m as R);
      }
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`child process exited (${code}) before answering ${JSON.stringify(cmd)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`child process did not answer ${JSON.stringify(cmd)} within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMsg);
    child.once('exit', onExit);
    child.send(cmd);
  });
}
