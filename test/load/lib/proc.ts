// Reads another process's CPU time and memory from /proc (Linux), so a benchmark measures
// the server under test without instrumenting it.
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: sysconf(_SC_CLK_TCK) is 100 on mainstream Linux kernels.
const PAGE_BYTES = 4096;

export interface ProcSample {
  /** user + system CPU time in milliseconds since the process started. */
  cpuMs: number;
  /** The user-space and kernel parts of cpuMs (socket writes are mostly kernel time). */
  userMs: number;
  sysMs: number;
  rssBytes: number;
  /** Open file descriptors, or -1 when /proc/<pid>/fd cannot be read. */
  openFds: number;
}

export function sampleProcess(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const rssPages = Number(fields[21]);
  let openFds = -1;
  try {
    openFds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {}
  const ms = (ticks: number) => (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  return { cpuMs: ms(utime + stime), userMs: ms(utime), sysMs: ms(stime), rssBytes: rssPages * PAGE_BYTES, openFds };
}
