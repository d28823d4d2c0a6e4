// The process logger: pino JSON by default (STANDARDS O1), or a minimal human format for a
// terminal (`logging.format: pretty`, no pino-pretty needed). Secrets, tokens, signatures
// and authorization headers are redacted wherever they appear in a log object (I4).
import { type DestinationStream, type Logger, pino } from 'pino';
import type { NodeConfig } from './config/schema.ts';

export type { Logger } from 'pino';

/** Keys censored at the top level and one or two levels down. */
const SENSITIVE = [
  'secret',
  'token',
  'adminToken',
  'resolvedAdminToken',
  'authorization',
  'cookie',
  'password',
  'auth_signature',
];

export const REDACT_PATHS: string[] = [
  ...SENSITIVE,
  ...SENSITIVE.map((k) => `*.${k}`),
  ...SENSITIVE.map((k) => `*.*.${k}`),
  'apps[*].secret',
  'config.apps[*].secret',
  'headers["x-pusher-signature"]',
  '*.headers["x-pusher-signature"]',
];

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

function show(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/** One pino JSON line → `HH:MM:SS.mmm LEVEL message key=value …` (+ an error stack). */
export function formatPretty(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const { time, level, msg, err, ...rest } = rec;
  const stamp = typeof time === 'string' ? time.slice(11, 23) : new Date(Number(time)).toISOString().slice(11, 23);
  const name = typeof level === 'string' ? level.toUpperCase() : (LEVEL_NAMES[Number(level)] ?? String(level));
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(' ');
  let out = `${stamp} ${name.padEnd(5)} ${String(msg ?? '')}${fields ? ` ${fields}` : ''}\n`;
  const stack = (err as { stack?: unknown } | undefined)?.stack;
  if (typeof stack === 'string') out += `${stack.replace(/^/gm, '    ')}\n`;
  return out;
}

/** A pino destination that rewrites each JSON line in the pretty format. */
export function prettyDestination(out: { write(chunk: string): unknown }): DestinationStream {
  return { write: (line: string) => void out.write(formatPretty(line)) };
}

export interface LoggerOptions {
  /** Where lines go (tests pass a capture stream); defaults to stdout. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(logging: NodeConfig['logging'], opts: LoggerOptions = {}): Logger {
  const raw = opts.destination ?? pino.destination({ dest: 1, sync: true });
  const destination = logging.format === 'pretty' ? prettyDestination(raw) : raw;
  return pino(
    {
      level: logging.level,
      base: opts.base ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}
