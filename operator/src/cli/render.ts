// `ait render`: the exact objects the operator would apply for the given CRs, as multi-document
// YAML in apply order; exit 1 with every field error when a CR is invalid. The same parse,
// validation, policy selection and render as the controller (operator/src/controllers), with
// the facts the controller would otherwise discover given as flags.
import { type FieldError, formatFieldErrors } from '../api/field-error.ts';
import { LABEL } from '../api/labels.ts';
import { CHANNEL_POLICY_KIND } from '../api/v1alpha1/channelpolicy.ts';
import { CLUSTER_KIND } from '../api/v1alpha1/cluster.ts';
import { parseCluster } from '../controllers/parse.ts';
import { policiesNaming, selectPolicies } from '../controllers/policy-select.ts';
import type { ObservedFacts } from '../render/facts.ts';
import { renderAll, validateDesired } from '../render/index.ts';
import type { KubeObject } from '../render/meta.ts';
import { parseDocuments, type SourceDocument } from './yaml.ts';

/** ownerReferences need the live CR's uid; without one in the input, this stands in for it. */
export const PLACEHOLDER_UID = '00000000-0000-0000-0000-000000000000';

export interface RenderOptions {
  readonly files: ReadonlyArray<{ readonly name: string; readonly text: string }>;
  /** Namespace of CRs that name none (like kubectl's -n). */
  readonly namespace: string;
  readonly operatorNamespace: string;
  readonly operatorPodLabels: Readonly<Record<string, string>>;
  /** Whether to render as if the Prometheus Operator CRDs were installed. */
  readonly monitoringCrds: boolean;
}

export type RenderOutcome =
  | { readonly ok: true; readonly objects: KubeObject[]; readonly warnings: string[] }
  | { readonly ok: false; readonly errors: string[] };

export const DEFAULT_OPERATOR_POD_LABELS = { [LABEL.name]: 'aitransport-operator' } as const;

type Raw = KubeObject & { metadata?: { name?: string; namespace?: string; uid?: string; generation?: number } };

function where(d: SourceDocument, o: Raw): string {
  return `${d.source}#${d.index + 1} ${o.kind ?? '?'} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? '?'}`;
}

/** What the API server adds on create, so the render matches the operator's. */
function served(o: Raw, namespace: string): Raw {
  const metadata = {
    ...o.metadata,
    namespace: o.metadata?.namespace ?? namespace,
    generation: o.metadata?.generation ?? 1,
    uid: o.metadata?.uid ?? PLACEHOLDER_UID,
  };
  return { ...o, metadata } as Raw;
}

export function renderFiles(o: RenderOptions): RenderOutcome {
  const errors: string[] = [];
  const warnings: string[] = [];
  const docs: SourceDocument[] = [];
  for (const f of o.files) {
    try {
      docs.push(...parseDocuments(f.text, f.name));
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  const clusters: Array<{ doc: SourceDocument; raw: Raw }> = [];
  const policies: Array<{ doc: SourceDocument; raw: Raw }> = [];
  for (const d of docs) {
    const raw = d.value as Raw;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      errors.push(`${d.source}#${d.index + 1}: not a Kubernetes object`);
      continue;
    }
    const s = served(raw, o.namespace);
    if (raw.kind === CLUSTER_KIND) {
      clusters.push({ doc: d, raw: s });
      if (!raw.metadata?.uid) {
        warnings.push(
          `${where(d, s)}: no metadata.uid, the ownerReferences carry a placeholder: do not apply this output by hand`,
        );
      }
    } else if (raw.kind === CHANNEL_POLICY_KIND) {
      policies.push({ doc: d, raw: s });
    } else {
      errors.push(`${where(d, s)}: only ${CLUSTER_KIND} and ${CHANNEL_POLICY_KIND} can be rendered`);
    }
  }
  if (clusters.length === 0 && errors.length === 0) errors.push(`no ${CLUSTER_KIND} in the input`);

  const facts: ObservedFacts = {
    partition: 0,
    monitoring: { serviceMonitors: o.monitoringCrds, prometheusRules: o.monitoringCrds },
    operator: { namespace: o.operatorNamespace, podLabels: { ...o.operatorPodLabels } },
  };
  const objects: KubeObject[] = [];
  const rawPolicies = policies.map((p) => p.raw);
  const atOf = (raw: KubeObject) => {
    const p = policies.find((x) => x.raw === raw);
    return p ? where(p.doc, p.raw) : '';
  };
  const claimed = new Set<KubeObject>();
  const sorted = [...clusters].sort((a, b) =>
    `${a.raw.metadata?.namespace}/${a.raw.metadata?.name}`.localeCompare(
      `${b.raw.metadata?.namespace}/${b.raw.metadata?.name}`,
    ),
  );
  for (const { doc, raw } of sorted) {
    const at = where(doc, raw);
    const mine = policiesNaming(rawPolicies, raw.metadata?.namespace ?? '', raw.metadata?.name ?? '');
    for (const p of mine) claimed.add(p);
    const parsed = parseCluster(raw);
    const fieldErrors: FieldError[] = parsed.ok ? validateDesired(parsed.value) : parsed.errors;
    errors.push(...fieldErrors.map((e) => `${at}: ${formatFieldErrors([e])}`));
    const cluster = parsed.ok && fieldErrors.length === 0 ? parsed.value : undefined;
    // An invalid cluster still gets its policies checked on their own.
    const selection = selectPolicies(cluster, mine);
    for (const p of mine) {
      const errs = selection.rejected.get(p.metadata?.name ?? '') ?? [];
      const own = cluster ? errs : errs.filter((e) => e.field !== 'spec.clusterRef.name');
      errors.push(...own.map((e) => `${atOf(p)}: ${formatFieldErrors([e])}`));
    }
    if (cluster) objects.push(...renderAll(cluster, selection.accepted, facts));
  }
  for (const p of policies) {
    if (claimed.has(p.raw)) continue;
    const ref = (p.raw as { spec?: { clusterRef?: { name?: string } } }).spec?.clusterRef?.name;
    errors.push(`${where(p.doc, p.raw)}: spec.clusterRef.name: no AITransportCluster ${ref ?? '(unset)'} in the input`);
  }
  return errors.length ? { ok: false, errors } : { ok: true, objects, warnings };
}
