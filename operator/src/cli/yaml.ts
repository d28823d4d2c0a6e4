// Multi-document YAML in and out, the way the operator's goldens are written: YAML 1.1 output
// (so `yes`/`on` stay strings for kubectl and GitOps tools), no line folding, no anchors.
import { parseAllDocuments, stringify } from 'yaml';
import type { KubeObject } from '../render/meta.ts';

export function toYamlDocuments(objects: readonly KubeObject[]): string {
  return objects
    .map((o) => `---\n${stringify(o, { lineWidth: 0, aliasDuplicateObjects: false, version: '1.1' })}`)
    .join('');
}

export interface SourceDocument {
  readonly source: string;
  readonly index: number;
  readonly value: unknown;
}

/** Every non-empty document of a YAML stream; a syntax error names the file and document. */
export function parseDocuments(text: string, source: string): SourceDocument[] {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const out: SourceDocument[] = [];
  list.forEach((d, index) => {
    if (d.errors.length) {
      throw new Error(`${source}: document ${index + 1}: ${d.errors[0]?.message ?? 'invalid YAML'}`);
    }
    const value = d.toJS() as unknown;
    if (value !== null && value !== undefined) out.push({ source, index, value });
  });
  return out;
}
