// Generates the CRDs in crds/ from the operator's zod schemas (operator/src/api/v1alpha1), plus
// docs/crds.md and docs/labels-annotations.md. The zod → JSON Schema output of z.toJSONSchema is
// turned into a Kubernetes *structural* schema here: no $ref, a type on every node (int-or-string
// and preserve-unknown-fields excepted), no additionalProperties beside properties, OpenAPI v3.0
// keywords only. Anything we do not know how to express fails the generation instead of
// producing a schema the API server would reject or silently prune.
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { z } from 'zod';
import { ANNOTATION, KEY_DOCS, type KeyDoc, LABEL, POD_CONDITION } from '../../operator/src/api/labels.ts';
import { CEL_META_KEY } from '../../operator/src/api/v1alpha1/cel.ts';
import {
  CHANNEL_POLICY_RESOURCE,
  ChannelPolicySchema,
  ChannelPolicySpecSchema,
  ChannelPolicyStatusSchema,
} from '../../operator/src/api/v1alpha1/channelpolicy.ts';
import {
  AITransportClusterSchema,
  CLUSTER_RESOURCE,
  ClusterSpecSchema,
  ClusterStatusSchema,
} from '../../operator/src/api/v1alpha1/cluster.ts';
import { GROUP, VERSION } from '../../operator/src/api/v1alpha1/meta.ts';

export type Schema = { [key: string]: unknown };

/** Keyword order of every emitted node (deterministic, readable output). */
const KEY_ORDER = [
  'description',
  'type',
  'format',
  'enum',
  'default',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'anyOf',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
] as const;

const DROPPED = new Set(['$schema', 'propertyNames', 'id']);
const SAFE = Number.MAX_SAFE_INTEGER;

function fail(path: string, why: string): never {
  throw new Error(`while generating the structural schema at ${path || '(root)'}: ${why}`);
}

function ordered(node: Schema, path: string): Schema {
  const out: Schema = {};
  for (const key of KEY_ORDER) if (node[key] !== undefined) out[key] = node[key];
  for (const key of Object.keys(node))
    if (!(KEY_ORDER as readonly string[]).includes(key)) fail(path, `keyword ${key}`);
  return out;
}

/** Converts one z.toJSONSchema node (draft 2020-12) into a structural OpenAPI v3 node. */
export function toStructural(input: Schema, path = ''): Schema {
  const node: Schema = {};
  for (const [k, v] of Object.entries(input)) if (!DROPPED.has(k)) node[k] = v;
  if (node.$ref || node.$defs || node.definitions) fail(path, '$ref/$defs are not allowed');
  if (node.const !== undefined || node.oneOf || node.allOf || node.not) fail(path, 'const/oneOf/allOf/not');
  if (typeof node.exclusiveMinimum === 'number' || typeof node.exclusiveMaximum === 'number') {
    fail(path, 'exclusive bounds (use min/max)');
  }

  if (node['x-kubernetes-int-or-string'] === true) {
    const out: Schema = {
      ...node,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      'x-kubernetes-int-or-string': true,
    };
    delete out.type;
    return ordered(out, path);
  }
  if (node.anyOf) fail(path, 'anyOf (unions) other than int-or-string');

  if (node['x-kubernetes-preserve-unknown-fields'] === true) {
    if (path !== '.spec.configOverrides')
      fail(path, 'x-kubernetes-preserve-unknown-fields is only for configOverrides');
    delete node.additionalProperties;
    return ordered(node, path);
  }

  if (typeof node.type !== 'string') fail(path, `type ${JSON.stringify(node.type)} (every node needs one type)`);
  if (node.type === 'null') fail(path, 'null type (nullable)');

  if (node.type === 'integer' || node.type === 'number') {
    if (node.minimum === -SAFE) delete node.minimum;
    if (node.maximum === SAFE) delete node.maximum;
  }
  if (node.format === 'date-time') delete node.pattern;

  if (node.type === 'object') {
    const props = node.properties as Record<string, Schema> | undefined;
    const extra = node.additionalProperties;
    if (props) {
      if (extra !== undefined && extra !== false) fail(path, 'properties together with additionalProperties');
      delete node.additionalProperties;
      node.properties = Object.fromEntries(
        Object.entries(props).map(([name, prop]) => [name, toStructural(prop, `${path}.${name}`)]),
      );
    } else if (extra && typeof extra === 'object') {
      if (Object.keys(extra).length === 0) fail(path, 'untyped map values (give the record a value schema)');
      node.additionalProperties = toStructural(extra as Schema, `${path}[*]`);
    } else if (extra === false) {
      delete node.additionalProperties;
    }
  } else if (node.properties || node.additionalProperties !== undefined) {
    fail(path, 'properties on a non-object');
  }

  if (node.type === 'array') {
    if (!node.items || typeof node.items !== 'object') fail(path, 'array without items');
    node.items = toStructural(node.items as Schema, `${path}[]`);
  }
  return ordered(node, path);
}

function jsonSchemaOf(schema: z.ZodType): Schema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw', reused: 'inline' }) as Schema;
}

interface ResourceFacts {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  categories: readonly string[];
  printerColumns: ReadonlyArray<{ name: string; type: string; jsonPath: string; priority?: number }>;
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
}

/** The openAPIV3Schema of a kind: standard apiVersion/kind/metadata, then spec and status from zod. */
export function openAPISchema(root: z.ZodType, spec: z.ZodType, status: z.ZodType): Schema {
  const rootMeta = (z.globalRegistry.get(root) ?? {}) as Schema;
  const specNode = toStructural(jsonSchemaOf(spec), '.spec');
  const statusNode = toStructural(jsonSchemaOf(status), '.status');
  return ordered(
    {
      description: rootMeta.description,
      type: 'object',
      required: ['spec'],
      properties: {
        apiVersion: {
          description: 'APIVersion defines the versioned schema of this representation of an object.',
          type: 'string',
        },
        kind: {
          description: 'Kind is a string value representing the REST resource this object represents.',
          type: 'string',
        },
        metadata: { type: 'object' },
        spec: specNode,
        status: statusNode,
      },
      'x-kubernetes-validations': rootMeta[CEL_META_KEY],
    },
    '',
  );
}

export function crdObject(facts: ResourceFacts, schema: Schema): Schema {
  const subresources: Schema = { status: {} };
  if (facts.scale) subresources.scale = { ...facts.scale };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${facts.plural}.${GROUP}`,
      labels: { [LABEL.name]: 'aitransport', [LABEL.partOf]: 'aitransport' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: facts.kind,
        listKind: facts.listKind,
        plural: facts.plural,
        singular: facts.singular,
        shortNames: [...facts.shortNames],
        categories: [...facts.categories],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources,
          additionalPrinterColumns: facts.printerColumns.map((c) => ({ ...c })),
          schema: { openAPIV3Schema: schema },
        },
      ],
    },
  };
}

const HEADER =
  '# Generated by `npm run generate` (scripts/generate/crds.ts) from operator/src/api/v1alpha1. Do not edit by hand.\n';

function yamlDoc(obj: unknown): string {
  return HEADER + stringify(obj, { lineWidth: 0, aliasDuplicateObjects: false, version: '1.1' });
}

export function clusterCrd(): Schema {
  return crdObject(CLUSTER_RESOURCE, openAPISchema(AITransportClusterSchema, ClusterSpecSchema, ClusterStatusSchema));
}

export function channelPolicyCrd(): Schema {
  return crdObject(
    CHANNEL_POLICY_RESOURCE,
    openAPISchema(ChannelPolicySchema, ChannelPolicySpecSchema, ChannelPolicyStatusSchema),
  );
}

export function renderClusterCrd(): string {
  return yamlDoc(clusterCrd());
}

export function renderChannelPolicyCrd(): string {
  return yamlDoc(channelPolicyCrd());
}

// ---------------------------------------------------------------- docs/crds.md

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function typeOf(s: Schema): string {
  if (s['x-kubernetes-int-or-string']) return 'int or string';
  if (s['x-kubernetes-preserve-unknown-fields']) return 'object (free form)';
  if (s.enum) return (s.enum as unknown[]).map((v) => `\`${String(v)}\``).join(', ');
  if (s.type === 'array') {
    const items = s.items as Schema;
    const kind =
      s['x-kubernetes-list-type'] === 'map'
        ? ` (map by ${(s['x-kubernetes-list-map-keys'] as string[]).join(', ')})`
        : '';
    return `[]${items.type === 'object' ? 'object' : typeOf(items)}${kind}`;
  }
  if (s.type === 'object' && s.additionalProperties) return `map[string]${typeOf(s.additionalProperties as Schema)}`;
  return String(s.type);
}

function constraintsOf(s: Schema): string {
  const parts: string[] = [];
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.minLength !== undefined && (s.minLength as number) > 1) parts.push(`length ≥ ${s.minLength}`);
  if (s.maxLength !== undefined) parts.push(`length ≤ ${s.maxLength}`);
  if (s.minItems !== undefined) parts.push(`≥ ${s.minItems} items`);
  if (s.maxItems !== undefined) parts.push(`≤ ${s.maxItems} items`);
  if (s.pattern !== undefined && !s['x-kubernetes-int-or-string']) parts.push(`\`${s.pattern}\``);
  for (const v of (s['x-kubernetes-validations'] as Array<{ rule: string; message: string }>) ?? []) {
    parts.push(`CEL: ${v.message}`);
  }
  return parts.join('; ');
}

/** Fields documented in one row (Kubernetes types, repetitive maps): path → what they are. */
const COLLAPSED: Record<string, string> = {
  'spec.pod.tolerations': 'core/v1 Toleration list.',
  'spec.pod.affinity': 'core/v1 Affinity (node affinity, pod affinity, pod anti-affinity).',
  'spec.pod.topologySpreadConstraints': 'core/v1 TopologySpreadConstraint list.',
  'spec.pod.extraEnv': 'core/v1 EnvVar list (value or valueFrom).',
  'spec.pod.extraEnvFrom': 'core/v1 EnvFromSource list.',
  'spec.pod.extraVolumes': 'core/v1 Volume list (secret, configMap, emptyDir, persistentVolumeClaim, csi, projected).',
  'spec.pod.extraVolumeMounts': 'core/v1 VolumeMount list.',
  'spec.pod.securityContext.seccompProfile': 'core/v1 SeccompProfile.',
  'spec.pod.containerSecurityContext.seccompProfile': 'core/v1 SeccompProfile.',
  'spec.networkPolicy.metricsFrom':
    'NetworkPolicyPeer list: namespaceSelector and/or podSelector (metav1.LabelSelector).',
  'spec.monitoring.prometheusRule.overrides':
    'Map of alert name (see disabledAlerts) → `{for, severity, threshold}`; e.g. `AITransportPodsUnavailable: {for: 5m}`.',
  'status.conditions': 'metav1.Condition list, one per type.',
};

function fieldRows(s: Schema, path: string, required: boolean, out: string[]): void {
  const def = s.default === undefined ? (required ? '*required*' : '') : `\`${JSON.stringify(s.default)}\``;
  const collapsed = COLLAPSED[path];
  if (collapsed !== undefined) {
    const text = [s.description, collapsed].filter(Boolean).join(' ');
    out.push(`| \`${path}\` | ${cell(typeOf(s))} | ${cell(def)} | ${cell(constraintsOf(s))} | ${cell(text)} |`);
    return;
  }
  out.push(
    `| \`${path}\` | ${cell(typeOf(s))} | ${cell(def)} | ${cell(constraintsOf(s))} | ${cell(String(s.description ?? ''))} |`,
  );
  const walk = (node: Schema, prefix: string) => {
    const props = (node.properties ?? {}) as Record<string, Schema>;
    const req = (node.required ?? []) as string[];
    for (const [name, prop] of Object.entries(props)) fieldRows(prop, `${prefix}.${name}`, req.includes(name), out);
  };
  if (s.type === 'object' && s.properties) walk(s, path);
  if (s.type === 'array' && (s.items as Schema).type === 'object') walk(s.items as Schema, `${path}[]`);
}

function readExample(file: string): string {
  return readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8').trimEnd();
}

function kindSection(title: string, crd: Schema, intro: string[], examples: string[]): string[] {
  const version = ((crd.spec as Schema).versions as Schema[])[0] as Schema;
  const root = (version.schema as Schema).openAPIV3Schema as Schema;
  const names = (crd.spec as Schema).names as Schema;
  const props = root.properties as Record<string, Schema>;
  const out = [
    `## ${title}`,
    '',
    ...intro,
    '',
    `\`${GROUP}/${VERSION}\`, namespaced, short name \`${(names.shortNames as string[]).join(', ')}\`, category \`${(names.categories as string[]).join(', ')}\`. ` +
      `Subresources: ${Object.keys(version.subresources as Schema)
        .map((k) => `\`${k}\``)
        .join(', ')}.`,
    '',
    `Printer columns: ${(version.additionalPrinterColumns as Schema[]).map((c) => `${c.name} (\`${c.jsonPath}\`)`).join(', ')}.`,
    '',
  ];
  const rootRules = (root['x-kubernetes-validations'] as Array<{ message: string }>) ?? [];
  if (rootRules.length) out.push(`Object rules: ${rootRules.map((r) => r.message).join('; ')}.`, '');
  for (const part of ['spec', 'status'] as const) {
    out.push(`### ${part}`, '', '| field | type | default | validation | description |', '|---|---|---|---|---|');
    fieldRows(props[part] as Schema, part, part === 'spec', out);
    out.push('');
  }
  out.push('### Examples', '');
  for (const file of examples) out.push(`\`examples/${file}\`:`, '', '```yaml', readExample(file), '```', '');
  return out;
}

export function renderCrdsDoc(): string {
  return [
    '# Custom resources',
    '',
    '<!-- Generated by `npm run generate` (scripts/generate/crds.ts) from operator/src/api/v1alpha1. Do not edit by hand. -->',
    '',
    'The operator serves two namespaced kinds in `aitransport.io/v1alpha1`. Both CRDs are generated from',
    'the zod schemas in `operator/src/api/v1alpha1/` (`npm run generate` writes `crds/`). Defaults are part',
    'of the CRD schema, so the API server fills them in and the operator never writes `spec`. Rules',
    'marked *CEL* are enforced by the API server; the operator checks the rest (see',
    '`operator/src/api/v1alpha1/validate.ts`) and reports problems as `Stalled=True`, reason `InvalidSpec`.',
    'Secrets (app secrets, the admin token, Redis credentials) are only ever referenced, never written in a CR.',
    '',
    ...kindSection(
      'AITransportCluster',
      clusterCrd(),
      [
        'An AI Transport data-plane cluster: the StatefulSet `<name>`, the Services `<name>`, `<name>-headless`',
        'and `<name>-metrics`, the ConfigMap `<name>-config`, a PodDisruptionBudget, a ServiceAccount, a',
        'NetworkPolicy, optionally a managed Redis (`<name>-redis`) and the ServiceMonitor and PrometheusRule.',
        'The `/scale` subresource lets `kubectl scale` and an HPA target the cluster, not its StatefulSet.',
      ],
      ['cluster-minimal.yaml', 'cluster-production.yaml'],
    ),
    ...kindSection(
      'ChannelPolicy',
      channelPolicyCrd(),
      [
        'History, rollup and reset policy for channels of one app of a cluster. Policies are rendered into the',
        '`channel-policies.json` key of `<cluster>-config`, sorted by name; the pods hot-reload it, so a policy',
        'change never restarts a pod. A channel matched by several policies uses the first by name.',
      ],
      ['channelpolicy-ai.yaml'],
    ),
  ].join('\n');
}

// ---------------------------------------------------------------- docs/labels-annotations.md

function keyRows(keys: Record<string, string>, docs: Record<string, KeyDoc>): string[] {
  return Object.entries(keys)
    .sort(([, a], [, b]) => a.localeCompare(b))
    .map(([name, key]) => {
      const d = docs[name] as KeyDoc;
      return `| \`${key}\` | ${cell(d.on)} | ${d.setBy} | ${cell(d.doc)} |`;
    });
}

export function renderLabelsDoc(): string {
  const head = ['| key | on | set by | meaning |', '|---|---|---|---|'];
  return [
    '# Labels, annotations and pod conditions',
    '',
    '<!-- Generated by `npm run generate` from operator/src/api/labels.ts. Do not edit by hand. -->',
    '',
    'Every key the operator reads or writes. They are defined once, in `operator/src/api/labels.ts`.',
    '',
    '## Labels',
    '',
    ...head,
    ...keyRows(LABEL, KEY_DOCS.label),
    '',
    '## Annotations',
    '',
    ...head,
    ...keyRows(ANNOTATION, KEY_DOCS.annotation),
    '',
    '## Pod conditions',
    '',
    ...head,
    ...keyRows(POD_CONDITION, KEY_DOCS.podCondition),
    '',
  ].join('\n');
}

/** The files this generator owns (the GENERATED list of scripts/generate.ts names the same). */
export const CRD_FILES: ReadonlyArray<readonly [string, () => string]> = [
  ['crds/aitransport.io_aitransportclusters.yaml', renderClusterCrd],
  ['crds/aitransport.io_channelpolicies.yaml', renderChannelPolicyCrd],
  ['docs/crds.md', renderCrdsDoc],
  ['docs/labels-annotations.md', renderLabelsDoc],
];
