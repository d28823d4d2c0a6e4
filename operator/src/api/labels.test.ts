import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ANNOTATION, KEY_DOCS, LABEL, POD_CONDITION } from './labels.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'testdata' ? [] : tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('labels.ts', () => {
  const keys = [...Object.values(LABEL), ...Object.values(ANNOTATION), ...Object.values(POD_CONDITION)];

  it('is the only TypeScript file of the operator and scripts holding a key literal', () => {
    const self = fileURLToPath(new URL('./labels.ts', import.meta.url));
    const offenders: string[] = [];
    for (const file of [...tsFiles(join(ROOT, 'operator')), ...tsFiles(join(ROOT, 'scripts'))]) {
      if (file === self) continue;
      const text = readFileSync(file, 'utf8');
      for (const key of keys) {
        if (text.includes(`'${key}'`) || text.includes(`"${key}"`) || text.includes(`\`${key}\``)) {
          offenders.push(`${file.slice(ROOT.length)}: ${key}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('has no duplicate key and documents each one', () => {
    expect(new Set(keys).size).toBe(keys.length);
    for (const doc of [
      ...Object.values(KEY_DOCS.label),
      ...Object.values(KEY_DOCS.annotation),
      ...Object.values(KEY_DOCS.podCondition),
    ]) {
      expect(doc.doc.length).toBeGreaterThan(10);
    }
  });
});
