// Which rendered children need an apply, and which live children are no longer rendered.
// Pure: the controller passes what the informer caches hold.
//
// An apply is skipped only when BOTH hold: the live object carries the desired input hash
// (nothing we render changed: STYLE.md 5) and every field we render still has our value in the
// live object (nobody changed a field we own). The second check is what restores a field
// another manager overwrote; fields only other managers set are ignored, so we never fight
// over them (server-side apply keeps them too).
import { ANNOTATION, LABEL, LABEL_VALUE } from '../api/labels.ts';
import type { KubeObject } from '../render/meta.ts';
import { isOwnedBy } from './keys.ts';

export type ApplyAction = 'create' | 'update' | 'unchanged';

export interface ApplyPlan {
  readonly action: ApplyAction;
  /** Why, for the debug log (hashes) and the Event. */
  readonly reason: string;
}

export function childId(o: KubeObject): string {
  const ns = o.metadata?.namespace;
  return `${o.kind} ${ns ? `${ns}/` : ''}${o.metadata?.name}`;
}

/** Same kind, namespace and name. */
export function sameObject(a: KubeObject, b: KubeObject): boolean {
  return (
    a.kind === b.kind &&
    a.apiVersion === b.apiVersion &&
    a.metadata?.name === b.metadata?.name &&
    (a.metadata?.namespace ?? '') === (b.metadata?.namespace ?? '')
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmpty(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

/** The merge key of a list of objects, when every item has one (`name`, else `uid`). */
function mergeKey(items: readonly unknown[]): 'name' | 'uid' | undefined {
  for (const k of ['name', 'uid'] as const) {
    if (items.length > 0 && items.every((i) => isObject(i) && typeof i[k] === 'string')) return k;
  }
  return undefined;
}

/**
 * The first path at which `live` does not carry `desired`, or undefined when it does. Extra
 * fields in `live` (server defaults, other managers) are fine; lists of named items match by
 * name (server-side apply merges them by key, so others' extra items are fine too), other
 * lists must match item by item.
 */
export function driftPath(desired: unknown, live: unknown, path = ''): string | undefined {
  if (desired === undefined || desired === null) return undefined;
  if ((live === undefined || live === null) && isEmpty(desired)) return undefined;
  if (Array.isArray(desired)) {
    if (!Array.isArray(live)) return path || '.';
    const key = mergeKey(desired);
    if (key) {
      for (const item of desired as Array<Record<string, unknown>>) {
        const match = live.find((l) => isObject(l) && l[key] === item[key]);
        const id = `${path}[${key}=${String(item[key])}]`;
        if (match === undefined) return id;
        const d = driftPath(item, match, id);
        if (d) return d;
      }
      return undefined;
    }
    if (live.length !== desired.length) return `${path}[length]`;
    for (let i = 0; i < desired.length; i++) {
      const d = driftPath(desired[i], live[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (isObject(desired)) {
    if (!isObject(live)) return path || '.';
    for (const [k, v] of Object.entries(desired)) {
      const d = driftPath(v, live[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  return desired === live ? undefined : path || '.';
}

export function inputHashOf(o: KubeObject | undefined): string | undefined {
  return o?.metadata?.annotations?.[ANNOTATION.inputHash];
}

export function planApply(desired: KubeObject, live: KubeObject | undefined): ApplyPlan {
  if (!live) return { action: 'create', reason: 'not found' };
  const want = inputHashOf(desired);
  const have = inputHashOf(live);
  if (want !== have) return { action: 'update', reason: `input hash ${have ?? '(none)'} → ${want}` };
  const drift = driftPath(desired, live);
  if (drift) return { action: 'update', reason: `${drift} was changed by another field manager` };
  return { action: 'unchanged', reason: `input hash ${want} matches` };
}

/** Children of kinds the operator renders that belong to `cluster` but are no longer rendered. */
export function planPrune(
  live: readonly KubeObject[],
  desired: readonly KubeObject[],
  cluster: { uid?: string; name: string; namespace: string },
): KubeObject[] {
  return live.filter(
    (o) =>
      o.metadata?.labels?.[LABEL.managedBy] === LABEL_VALUE.managedBy &&
      isOwnedBy(o, cluster) &&
      !desired.some((d) => sameObject(d, o)),
  );
}
