// What the render needs to know besides the CRs: facts the controller observed in the cluster
// (discovery, the rollout planner's partition) and the operator's own identity. Passing them in
// keeps every render function pure (STYLE.md 3).

/** The operator's namespace and pod labels: the NetworkPolicy lets it reach the admin port. */
export interface OperatorIdentity {
  readonly namespace: string;
  readonly podLabels: Readonly<Record<string, string>>;
}

export interface ObservedFacts {
  /**
   * StatefulSet partition chosen by the rollout planner: pods with an ordinal >= partition run
   * the new template. Absent means 0 (no rollout held back).
   */
  readonly partition?: number;
  /**
   * StatefulSet replicas while a scale-down drains the pods it removes: the live count, until
   * those pods are drained (the rollout planner). Absent means spec.replicas.
   */
  readonly replicas?: number;
  /** Whether the Prometheus Operator CRDs exist (discovery, checked each resync). */
  readonly monitoring: { readonly serviceMonitors: boolean; readonly prometheusRules: boolean };
  readonly operator: OperatorIdentity;
}
