// The generated CRDs are structural (Kubernetes "Specifying a structural schema" rules), carry
// the list-maps, CEL rules, subresources and columns we rely on, and the committed files are
// fresh. A real API server also checks them in test/k8s (CRD install).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CRD_FILES, channelPolicyCrd, clusterCrd, type Schema, toStructural } from './crds.ts';

type Node = Schema & { properties?: Record<string, Node>; items?: Node; additionalProperties?: Node | boolean };

function rootOf(crd: Schema): Node {
  const v = ((crd.spec as Schema).versions as Schema[])[0] as Schema;
  return (v.schema as Schema).openAPIV3Schema as Node;
}

/** Every schema node with its path. */
function walk(node: Node, path: string, visit: (n: Node, path: string) => void): void {
  visit(node, path);
  for (const [k, p] of Object.entries(node.properties ?? {})) walk(p, `${path}.${k}`, visit);
  if (node.items) walk(node.items, `${path}[]`, visit);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    walk(node.additionalProperties, `${path}[*]`, visit);
  }
}

/** The structural-schema rules, as problems (empty = structural). */
function structuralProblems(root: Node): string[] {
  const problems: string[] = [];
  walk(root, '', (n, path) => {
    const intOrString = n['x-kubernetes-int-or-string'] === true;
    const preserve = n['x-kubernetes-preserve-unknown-fields'] === true;
    if (!intOrString && !preserve && typeof n.type !== 'string') problems.push(`${path}: no type`);
    for (const bad of ['$ref', '$defs', 'definitions', '$schema', 'oneOf', 'allOf', 'not', 'const', 'nullable']) {
      if (bad in n) problems.push(`${path}: ${bad}`);
    }
    if (n.anyOf && !intOrString) problems.push(`${path}: anyOf outside int-or-string`);
    if (n.properties && n.additionalProperties !== undefined)
      problems.push(`${path}: properties + additionalProperties`);
    if (n.additionalProperties === false) problems.push(`${path}: additionalProperties false`);
    if (preserve && path !== '.spec.configOverrides') problems.push(`${path}: preserve-unknown-fields`);
    if (n.type === 'array' && !n.items) problems.push(`${path}: array without items`);
    // The API server validates a default against the node's CEL rules before nested defaults
    // apply, so a rule may only use a field the default holds, or guard it with has().
    if (n.default !== undefined && typeof n.default === 'object') {
      for (const v of (n['x-kubernetes-validations'] as Array<{ rule: string }>) ?? []) {
        for (const [, field] of v.rule.matchAll(/self\.(\w+)/g)) {
          const inDefault = field !== undefined && field in (n.default as object);
          if (!inDefault && !v.rule.includes(`has(self.${field})`)) {
            problems.push(`${path}: rule uses self.${field}, absent from the default, without has()`);
          }
        }
      }
    }
    if (n['x-kubernetes-list-type'] === 'map') {
      const keys = n['x-kubernetes-list-map-keys'] as string[] | undefined;
      const required = (n.items?.required as string[] | undefined) ?? [];
      for (const k of keys ?? ['(none)']) {
        const defaulted = n.items?.properties?.[k]?.default !== undefined;
        if (!required.includes(k) && !defaulted)
          problems.push(`${path}: map key ${k} is neither required nor defaulted`);
      }
    }
  });
  return problems;
}

describe.each([
  ['AITransportCluster', clusterCrd],
  ['ChannelPolicy', channelPolicyCrd],
])('%s CRD', (_kind, make) => {
  const crd = make();
  const root = rootOf(crd);

  it('is a structural schema', () => {
    expect(structuralProblems(root)).toEqual([]);
  });

  it('keys conditions by type and serves the status subresource', () => {
    const conditions = root.properties?.status?.properties?.conditions as Node;
    expect(conditions['x-kubernetes-list-type']).toBe('map');
    expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
    const version = ((crd.spec as Schema).versions as Schema[])[0] as Schema;
    expect((version.subresources as Schema).status).toEqual({});
  });
});

describe('AITransportCluster specifics', () => {
  const crd = clusterCrd();
  const root = rootOf(crd);
  const spec = root.properties?.spec as Node;

  it('has the scale subresource, short name and printer columns', () => {
    const version = ((crd.spec as Schema).versions as Schema[])[0] as Schema;
    expect((version.subresources as Schema).scale).toEqual({
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    });
    expect(((crd.spec as Schema).names as Schema).shortNames).toEqual(['aitc']);
    const columns = (version.additionalPrinterColumns as Schema[]).map((c) => c.name);
    expect(columns).toEqual(['Ready', 'Version', 'Replicas', 'Ready Replicas', 'Phase', 'Reason', 'Age']);
  });

  it('keys apps by id, carries the CEL rules and defaults', () => {
    expect(spec.properties?.apps?.['x-kubernetes-list-map-keys']).toEqual(['id']);
    const rules = (n: Node | undefined) => ((n?.['x-kubernetes-validations'] as Schema[]) ?? []).map((r) => r.rule);
    expect(rules(spec.properties?.redis)[0]).toContain("self.mode == 'Managed'");
    expect(rules(spec.properties?.image)[0]).toBe('!(has(self.tag) && has(self.digest))');
    expect(spec.properties?.replicas?.default).toBe(1);
    expect(spec.properties?.configOverrides?.['x-kubernetes-preserve-unknown-fields']).toBe(true);
  });
});

describe('ChannelPolicy specifics', () => {
  it('makes clusterRef immutable and needs a selector', () => {
    const spec = rootOf(channelPolicyCrd()).properties?.spec as Node;
    expect(spec.properties?.clusterRef?.['x-kubernetes-validations']).toEqual([
      { rule: 'self == oldSelf', message: 'clusterRef is immutable: create a new ChannelPolicy instead' },
    ]);
    const channelRules = (spec.properties?.channels?.['x-kubernetes-validations'] ?? []) as Schema[];
    expect(channelRules[0]?.rule).toContain('size(self.names)');
  });
});

describe('toStructural', () => {
  it('refuses what the API server would reject', () => {
    expect(() => toStructural({ anyOf: [{ type: 'string' }, { type: 'number' }] })).toThrow(/anyOf/);
    expect(() => toStructural({ $ref: '#/x' })).toThrow(/\$ref/);
    expect(() => toStructural({ type: 'object', additionalProperties: {} }, '.spec.x')).toThrow(/untyped/);
  });
});

describe('committed generated files', () => {
  it.each(CRD_FILES.map(([path, render]) => [path, render] as const))(
    '%s is fresh (run npm run generate)',
    (path, render) => {
      const committed = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
      expect(committed).toBe(render());
    },
  );

  it('writes YAML that parses back to the same CRD', () => {
    const committed = parse(
      readFileSync(new URL('../../crds/aitransport.io_aitransportclusters.yaml', import.meta.url), 'utf8'),
    );
    expect(committed).toEqual(clusterCrd());
  });
});
