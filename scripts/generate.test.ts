import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigReference } from './generate/config-reference.ts';

describe('generated files', () => {
  it('docs/reference/configuration.md matches the schema (run npm run generate)', () => {
    const committed = readFileSync(new URL('../docs/reference/configuration.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderConfigReference());
  });

  it('documents every option with its default', () => {
    const text = renderConfigReference();
    expect(text).toContain('| `websocket.maxPayloadKb` | integer | `64` |');
    expect(text).toContain('| `apps[].limits.maxEventBatchSize` | integer | `10` |');
  });
});
