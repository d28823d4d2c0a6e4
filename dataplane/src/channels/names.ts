// Channel name rules and channel types (PROTOCOL.md 2.1). Pure.
//
// - Allowed characters: [A-Za-z0-9_\-=@,.;:#]; length in bytes at most the app limit.
// - Types by prefix: public (none), private-, presence-, private-encrypted-, and the cache
//   variants cache-, private-cache-, presence-cache-, private-encrypted-cache-.
// - `#server-to-user-<id>` is the pusher-js sign-in channel: only the signed-in user
//   `<id>` may subscribe to it.
// - Namespaces (`:` after the prefix), `[meta]` channels, wildcards and user-limited
//   channels are not implemented: `:` and `#` are plain characters here; `[`, `]` and `*`
//   are invalid characters.

export type ChannelKind = 'public' | 'private' | 'presence' | 'private-encrypted';

export interface ChannelType {
  readonly kind: ChannelKind;
  /** Cache channel: the last event is kept and replayed on subscribe. */
  readonly cache: boolean;
  /** The metric label value, e.g. `presence-cache` (8 values at most). */
  readonly label: ChannelTypeLabel;
}

export const CHANNEL_TYPE_LABELS = [
  'public',
  'private',
  'presence',
  'private-encrypted',
  'cache',
  'private-cache',
  'presence-cache',
  'private-encrypted-cache',
] as const;
export type ChannelTypeLabel = (typeof CHANNEL_TYPE_LABELS)[number];

/** Longest prefix first, so `private-encrypted-cache-` is not read as `private-`. */
const PREFIXES: ReadonlyArray<readonly [string, ChannelKind, boolean, ChannelTypeLabel]> = [
  ['private-encrypted-cache-', 'private-encrypted', true, 'private-encrypted-cache'],
  ['private-encrypted-', 'private-encrypted', false, 'private-encrypted'],
  ['private-cache-', 'private', true, 'private-cache'],
  ['presence-cache-', 'presence', true, 'presence-cache'],
  ['cache-', 'public', true, 'cache'],
  ['private-', 'private', false, 'private'],
  ['presence-', 'presence', false, 'presence'],
];

const PUBLIC: ChannelType = Object.freeze({ kind: 'public', cache: false, label: 'public' });

export function channelType(name: string): ChannelType {
  for (const [prefix, kind, cache, label] of PREFIXES) {
    if (name.startsWith(prefix)) return { kind, cache, label };
  }
  return PUBLIC;
}

/** Channels whose subscription needs a signature or a token grant. */
export function requiresAuth(type: ChannelType): boolean {
  return type.kind !== 'public';
}

/** `client-*` events are allowed on authenticated channels only. */
export function allowsClientEvents(type: ChannelType): boolean {
  return type.kind !== 'public';
}

export const SERVER_TO_USER_PREFIX = '#server-to-user-';

/** The user id a `#server-to-user-<id>` channel belongs to, else undefined. */
export function serverToUserId(name: string): string | undefined {
  return name.startsWith(SERVER_TO_USER_PREFIX) ? name.slice(SERVER_TO_USER_PREFIX.length) : undefined;
}

const ALLOWED = /^[A-Za-z0-9_\-=@,.;:#]+$/;

export type NameCheck = { ok: true; type: ChannelType } | { ok: false; reason: string };

export function validateChannelName(name: unknown, maxBytes: number): NameCheck {
  if (typeof name !== 'string' || name.length === 0) return { ok: false, reason: 'channel name is required' };
  // ASCII-only by the character class, so length === bytes once it matches.
  if (name.length > maxBytes) return { ok: false, reason: `longer than ${maxBytes} bytes` };
  if (!ALLOWED.test(name)) return { ok: false, reason: 'allowed characters are A-Z a-z 0-9 _ - = @ , . ; : #' };
  const type = channelType(name);
  for (const [prefix] of PREFIXES) {
    if (name === prefix) return { ok: false, reason: 'channel name has a type prefix but no name' };
  }
  return { ok: true, type };
}
