// metav1.Condition bookkeeping: lastTransitionTime changes only when a condition's status
// changes, every condition carries the generation it was computed for (kstatus), and the
// order is fixed so the status of an unchanged object compares equal and is not rewritten.
import type { Condition } from '../api/v1alpha1/meta.ts';

export type ConditionStatus = Condition['status'];

export interface ConditionUpdate {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

const MESSAGE_MAX = 4096;

function truncate(message: string): string {
  return message.length > MESSAGE_MAX ? `${message.slice(0, MESSAGE_MAX - 1)}…` : message;
}

/**
 * Sets `updates` over `previous`. Without `keepOthers` the result is exactly `updates`, in that
 * order; with it, previous conditions keep their place (updated ones replaced) and new types go last.
 */
export function setConditions(
  previous: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  generation: number,
  now: string,
  keepOthers = false,
): Condition[] {
  const prev = new Map((previous ?? []).map((c) => [c.type, c]));
  const build = (u: ConditionUpdate): Condition => {
    const old = prev.get(u.type);
    return {
      type: u.type,
      status: u.status,
      observedGeneration: generation,
      lastTransitionTime: old && old.status === u.status ? old.lastTransitionTime : now,
      reason: u.reason,
      message: truncate(u.message),
    };
  };
  if (!keepOthers) return updates.map(build);
  const byType = new Map(updates.map((u) => [u.type, u]));
  const out = (previous ?? []).map((c) => {
    const u = byType.get(c.type);
    return u ? build(u) : c;
  });
  for (const u of updates) if (!prev.has(u.type)) out.push(build(u));
  return out;
}

export function findCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

export function isTrue(list: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(list, type)?.status === 'True';
}
