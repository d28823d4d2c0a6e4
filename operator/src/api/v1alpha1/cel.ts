// CEL validation rules (`x-kubernetes-validations`) declared beside the zod schema they guard.
// The API server evaluates `rule`; `check` is the same rule in TypeScript so that parsing a CR
// with zod (unit tests, `ait render`) rejects what the API server would. Transition rules
// (`oldSelf`) have no `check`: they need the stored object.
import type { z } from 'zod';

export interface CelRule<T> {
  /** CEL expression over `self` (and `oldSelf` for transition rules). */
  readonly rule: string;
  readonly message: string;
  /** Field the error is reported on, relative to `self` (e.g. `.digest`). */
  readonly fieldPath?: string;
  readonly reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  readonly check?: (self: T) => boolean;
}

/** The shape written to the CRD. */
export interface CelValidation {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: string;
}

export const CEL_META_KEY = 'x-kubernetes-validations';

export function toValidations<T>(rules: ReadonlyArray<CelRule<T>>): CelValidation[] {
  return rules.map((r) => ({
    rule: r.rule,
    message: r.message,
    ...(r.fieldPath ? { fieldPath: r.fieldPath } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
  }));
}

/** Attaches CEL rules to a schema: as CRD metadata, and as zod refinements where a `check` exists. */
export function withCel<S extends z.ZodType>(schema: S, rules: ReadonlyArray<CelRule<z.output<S>>>): S {
  const refined = schema.superRefine((value, ctx) => {
    for (const r of rules) {
      if (r.check && !r.check(value as z.output<S>)) {
        const path = r.fieldPath ? r.fieldPath.replace(/^\./, '').split('.') : [];
        ctx.addIssue({ code: 'custom', message: r.message, path });
      }
    }
  });
  return refined.meta({ [CEL_META_KEY]: toValidations(rules) }) as S;
}
