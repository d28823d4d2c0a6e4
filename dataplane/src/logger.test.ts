import { describe, expect, it } from 'vitest';
import { createLogger, formatPretty } from './logger.ts';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (l: string) => void lines.push(l) } };
}

describe('createLogger', () => {
  it('writes JSON with a level label and redacts secrets, tokens and authorization headers', () => {
    const c = capture();
    const log = createLogger({ level: 'info', format: 'json' }, { destination: c.destination });
    log.info(
      {
        appId: 'a1',
        secret: 's1',
        app: { secret: 's2', key: 'k' },
        req: { headers: { authorization: 'Bearer t', host: 'h' } },
        token: 'jwt',
        config: { ops: { resolvedAdminToken: 'adm' }, apps: [{ secret: 's3' }] },
      },
      'hello',
    );
    const rec = JSON.parse(c.lines[0] as string);
    expect(rec).toMatchObject({ level: 'info', msg: 'hello', appId: 'a1' });
    const text = c.lines.join('');
    for (const s of ['s1', 's2', 's3', 'Bearer t', 'jwt', 'adm']) expect(text).not.toContain(`"${s}"`);
    expect(rec.app.key).toBe('k');
    expect(rec.req.headers.host).toBe('h');
  });

  it('honours the level', () => {
    const c = capture();
    const log = createLogger({ level: 'warn', format: 'json' }, { destination: c.destination });
    log.info('no');
    log.warn('yes');
    expect(c.lines).toHaveLength(1);
  });

  it('pretty-prints one line per record', () => {
    const c = capture();
    const log = createLogger({ level: 'info', format: 'pretty' }, { destination: c.destination });
    log.info({ appId: 'a1', secret: 'nope', n: 2 }, 'started up');
    expect(c.lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}started up appId=a1 secret=\[redacted\] n=2\n$/);
  });
});

describe('formatPretty', () => {
  it('quotes strings with spaces and indents error stacks', () => {
    const out = formatPretty(
      JSON.stringify({
        time: '2026-01-01T10:00:00.000Z',
        level: 'error',
        msg: 'x',
        path: 'a b',
        err: { stack: 'E\n at f' },
      }),
    );
    expect(out).toBe('10:00:00.000 ERROR x path="a b"\n    E\n     at f\n');
  });
});
