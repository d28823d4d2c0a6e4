// The files and packages a Node entry point loads at run time, found by reading the static and
// dynamic imports of our TypeScript sources. Type-only imports are left out: Node's type
// stripping erases them, so an image does not need the files they name.
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

export interface ImportClosure {
  /** Repository-relative paths of the local modules loaded, sorted. */
  readonly files: readonly string[];
  /** Bare specifiers (`ws`, `node:fs`, `@kubernetes/client-node`), sorted. */
  readonly packages: readonly string[];
}

const STATIC = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The module specifiers one source loads at run time. */
export function runtimeSpecifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(STATIC)) {
    if (m[2]) continue; // `import type …` / `export type … from`: erased
    out.push(m[3] as string);
  }
  for (const m of source.matchAll(DYNAMIC)) out.push(m[1] as string);
  return out;
}

/** The package name of a bare specifier: `@scope/name/sub` → `@scope/name`, `node:fs/x` → `node:fs`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

export function importClosure(
  root: string,
  entry: string,
  read = (p: string) => readFileSync(p, 'utf8'),
): ImportClosure {
  const files = new Set<string>();
  const packages = new Set<string>();
  const stack = [resolve(root, entry)];
  while (stack.length) {
    const file = stack.pop() as string;
    const rel = relative(root, file);
    if (files.has(rel)) continue;
    files.add(rel);
    for (const s of runtimeSpecifiers(read(file))) {
      if (s.startsWith('.') || s.startsWith('/')) stack.push(resolve(dirname(file), s));
      else packages.add(packageName(s));
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}
