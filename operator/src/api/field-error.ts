// The result of a semantic validator (STYLE.md 13): one problem with one field, worded for a
// status condition message. Mirrors k8s.io/apimachinery field.Error without the Go types.

export type FieldErrorType = 'Invalid' | 'Required' | 'Forbidden' | 'NotSupported' | 'Duplicate' | 'TooLong';

export interface FieldError {
  /** JSON path from the object root, e.g. `spec.redis.managed.replicas`. */
  readonly field: string;
  readonly type: FieldErrorType;
  readonly message: string;
}

export function fieldError(field: string, type: FieldErrorType, message: string): FieldError {
  return { field, type, message };
}

/** One line per error, for a condition message or a log line. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}
