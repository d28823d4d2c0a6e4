// Capability sets: which operations a connection may perform on which channels
// (PROTOCOL.md 2.4). Two sources build them with different defaults for an absent list:
// a capability token denies anything not granted; a sign-in `capabilities` object only
// restricts the lists it names for the basic ops (absent subscribe/publish/history/presence
// list = allow) and, like the token, denies annotation, mutation and push ops it does not grant.

export type CapabilityOp =
  | 'subscribe'
  | 'publish'
  | 'history'
  | 'presence'
  | 'annotation-subscribe'
  | 'annotation-publish'
  | 'annotation-delete-own'
  | 'annotation-delete-any'
  | 'message-update-own'
  | 'message-update-any'
  | 'message-delete-own'
  | 'message-delete-any'
  | 'message-append-own'
  | 'message-append-any'
  | 'push-admin'
  | 'push-subscribe';

export interface CapabilitySet {
  readonly source: 'token' | 'signin';
  readonly grants: ReadonlyMap<CapabilityOp, readonly string[]>;
}

export const CAPABILITY_OPS: readonly CapabilityOp[] = Object.freeze([
  'subscribe',
  'publish',
  'history',
  'presence',
  'annotation-subscribe',
  'annotation-publish',
  'annotation-delete-own',
  'annotation-delete-any',
  'message-update-own',
  'message-update-any',
  'message-delete-own',
  'message-delete-any',
  'message-append-own',
  'message-append-any',
  'push-admin',
  'push-subscribe',
]);

/** Ops a connection may use when nothing restricts it (HMAC-only, or a sign-in without that list). */
const BASIC_OPS: ReadonlySet<CapabilityOp> = new Set<CapabilityOp>(['subscribe', 'publish', 'history', 'presence']);
const OP_SET: ReadonlySet<string> = new Set<string>(CAPABILITY_OPS);

export const MAX_CAPABILITY_PATTERNS = 100;

/** Canonical op name for `message_append_own` or `message-append-own`; undefined when unknown. */
export function normalizeOp(op: string): CapabilityOp | undefined {
  if (typeof op !== 'string') return undefined;
  const canonical = op.replaceAll('_', '-');
  return OP_SET.has(canonical) ? (canonical as CapabilityOp) : undefined;
}

function starCount(pattern: string): number {
  let n = 0;
  for (const ch of pattern) if (ch === '*') n++;
  return n;
}

/**
 * `*` matches everything; otherwise at most one `*` stands for any run of characters
 * (`prefix*`, `*suffix`, `a*b`), and a pattern without one must match exactly. Case-sensitive.
 * A pattern with two or more stars matches nothing (parsers reject such patterns).
 */
export function patternMatches(pattern: string, channel: string): boolean {
  if (typeof pattern !== 'string' || typeof channel !== 'string' || pattern.length === 0) return false;
  const star = pattern.indexOf('*');
  if (star === -1) return pattern === channel;
  if (pattern.indexOf('*', star + 1) !== -1) return false;
  const prefix = pattern.slice(0, star);
  const suffix = pattern.slice(star + 1);
  // The length check stops prefix and suffix overlapping: `ab*ba` must not match `aba`.
  return channel.length >= prefix.length + suffix.length && channel.startsWith(prefix) && channel.endsWith(suffix);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validatePattern(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string' || pattern.length === 0) return 'capability patterns must be non-empty strings';
  if (starCount(pattern) > 1) return `capability pattern '${pattern}' has more than one '*'`;
  return undefined;
}

function freezeSet(source: CapabilitySet['source'], grants: Map<CapabilityOp, string[]>): CapabilitySet {
  const frozen = new Map<CapabilityOp, readonly string[]>();
  for (const [op, patterns] of grants) frozen.set(op, Object.freeze([...new Set(patterns)]));
  return Object.freeze({ source, grants: frozen });
}

export type CapabilityParse = { ok: true; set: CapabilitySet } | { ok: false; reason: string };

/**
 * Parses the `x-sockudo-capability` claim: an object, or a JSON string of one, mapping a channel
 * pattern to an array of ops, e.g. `{"private-ai-*":["subscribe","history"]}`.
 */
export function parseTokenCapabilityClaim(raw: unknown): CapabilityParse {
  let value = raw;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return { ok: false, reason: 'x-sockudo-capability is not valid JSON' };
    }
  }
  if (!isPlainObject(value)) return { ok: false, reason: 'x-sockudo-capability must be an object' };

  const entries = Object.entries(value);
  if (entries.length > MAX_CAPABILITY_PATTERNS) {
    return { ok: false, reason: `x-sockudo-capability exceeds ${MAX_CAPABILITY_PATTERNS} patterns` };
  }
  const grants = new Map<CapabilityOp, string[]>();
  for (const [pattern, ops] of entries) {
    const bad = validatePattern(pattern);
    if (bad) return { ok: false, reason: bad };
    if (!Array.isArray(ops)) return { ok: false, reason: `operations for '${pattern}' must be an array` };
    for (const rawOp of ops) {
      const op = typeof rawOp === 'string' ? normalizeOp(rawOp) : undefined;
      if (!op) return { ok: false, reason: `unsupported capability operation '${String(rawOp)}'` };
      const list = grants.get(op) ?? [];
      list.push(pattern);
      grants.set(op, list);
    }
  }
  return { ok: true, set: freezeSet('token', grants) };
}

/**
 * Parses a sign-in `user_data.capabilities` object: op → array of patterns, e.g.
 * `{"subscribe":["private-ai-*"],"message_append_own":["private-ai-*"]}`. Each list holds at
 * most MAX_CAPABILITY_PATTERNS patterns; unknown ops reject (fail closed).
 */
export function parseSigninCapabilities(raw: unknown): CapabilityParse {
  if (!isPlainObject(raw)) return { ok: false, reason: 'capabilities must be an object' };
  const grants = new Map<CapabilityOp, string[]>();
  for (const [rawOp, patterns] of Object.entries(raw)) {
    const op = normalizeOp(rawOp);
    if (!op) return { ok: false, reason: `unsupported capability operation '${rawOp}'` };
    if (!Array.isArray(patterns)) return { ok: false, reason: `patterns for '${rawOp}' must be an array` };
    if (patterns.length > MAX_CAPABILITY_PATTERNS) {
      return { ok: false, reason: `'${rawOp}' exceeds ${MAX_CAPABILITY_PATTERNS} patterns` };
    }
    for (const pattern of patterns) {
      const bad = validatePattern(pattern);
      if (bad) return { ok: false, reason: bad };
    }
    // `message_append_own` and `message-append-own` in one object are the same list.
    grants.set(op, [...(grants.get(op) ?? []), ...(patterns as string[])]);
  }
  return { ok: true, set: freezeSet('signin', grants) };
}

/** Builds a set from op → patterns (tests, the demo, and callers that already validated input). */
export function capabilitySetFrom(
  source: CapabilitySet['source'],
  grants: Partial<Record<CapabilityOp, readonly string[]>>,
): CapabilitySet {
  const map = new Map<CapabilityOp, string[]>();
  for (const op of CAPABILITY_OPS) {
    const list = grants[op];
    if (list) map.set(op, [...list]);
  }
  return freezeSet(source, map);
}

/**
 * May this connection perform `op` on `channel`? `undefined` is an HMAC-only connection: the
 * basic ops are allowed (channel auth still applies) and annotation, mutation and push ops denied.
 */
export function can(set: CapabilitySet | undefined, op: CapabilityOp, channel: string): boolean {
  const list = set?.grants.get(op);
  if (list === undefined) return set?.source !== 'token' && BASIC_OPS.has(op);
  for (const pattern of list) if (patternMatches(pattern, channel)) return true;
  return false;
}
