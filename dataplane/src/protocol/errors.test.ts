// docs/errors.md documents every catalogue entry, with the same wire codes (STYLE.md 11).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AitError, ERRORS, type ErrorCode, type ErrorSpec } from './errors.ts';

interface DocRow {
  ws: string;
  http: string;
}

function documentedRows(): Map<string, DocRow> {
  const text = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, DocRow>();
  for (const line of text.split('\n')) {
    // Cells may be padded (the formatter aligns tables).
    const m = /^\|\s*`(AIT_ERR_[A-Z0-9_]+)`\s*\|([^|]+)\|([^|]+)\|/.exec(line);
    if (m?.[1] && m[2] && m[3]) rows.set(m[1], { ws: m[2].trim(), http: m[3].trim() });
  }
  return rows;
}

describe('error catalogue', () => {
  const rows = documentedRows();
  const codes = Object.keys(ERRORS) as ErrorCode[];

  it('docs/errors.md has a row for every code', () => {
    expect(codes.filter((c) => !rows.has(c))).toEqual([]);
  });

  it('docs/errors.md has no row for an unknown code', () => {
    expect([...rows.keys()].filter((c) => !(c in ERRORS))).toEqual([]);
  });

  it('documents the same ws code, fatality and HTTP status', () => {
    for (const code of codes) {
      const spec: ErrorSpec = ERRORS[code];
      const row = rows.get(code);
      if (!row) continue;
      const ws = spec.wsCode === undefined ? '—' : `${spec.wsCode}${spec.fatal ? ' fatal' : ''}`;
      const http = spec.httpStatus === undefined ? '—' : `${spec.httpStatus} \`${spec.httpCode}\``;
      expect(row, code).toEqual({ ws, http });
    }
  });

  it('fills message templates and exposes the wire codes', () => {
    const e = new AitError('AIT_ERR_INVALID_CHANNEL', { reason: 'too long' });
    expect(e.message).toBe('Invalid channel name: too long');
    expect(e.wsCode).toBe(4300);
    expect(e.fatal).toBe(false);
    expect(new AitError('AIT_ERR_PONG_TIMEOUT').fatal).toBe(true);
    expect(new AitError('AIT_ERR_PAYLOAD_TOO_LARGE', { reason: 'big' }).httpBody()).toEqual({
      error: 'big',
      code: 'payload_too_large',
      status: 413,
      ai_code: 40009,
    });
  });

  it('uses only the wire codes of PROTOCOL.md 1.4', () => {
    const allowed = [4000, 4001, 4003, 4004, 4009, 4100, 4200, 4201, 4202, 4300, 4301, 4302, 4303];
    for (const code of codes) {
      const ws = (ERRORS[code] as ErrorSpec).wsCode;
      if (ws !== undefined) expect(allowed, code).toContain(ws);
    }
  });
});
