// `extras.ai` validation and the AI Transport header registry (PROTOCOL.md 7.2, 7.3). Pure:
// values in, a typed result out; nothing here throws for any input.
//
// Errors carry the registry code (`aiCode`, 104000..104003) and the catalogue code of
// protocol/errors.ts, so the socket layer sends `sockudo:error` 4000 + ai_code (decision 3)
// and REST answers with the catalogue's HTTP status.
import { type AitError, aitError, type ErrorCode } from '../protocol/errors.ts';

// ---------------------------------------------------------------------------------------------
// Events and channels (PROTOCOL.md 7.1, 7.2)

/** Native AI events, plus the step and legacy turn events the source recognizes. */
export const AI_EVENTS = [
  'ai-input',
  'ai-output',
  'ai-run-start',
  'ai-run-suspend',
  'ai-run-resume',
  'ai-run-end',
  'ai-cancel',
  'ai-step-start',
  'ai-step-end',
  'ai-turn-start',
  'ai-turn-end',
] as const;
export type AiEvent = (typeof AI_EVENTS)[number];

/** The only AI events a client may publish over WebSocket; everything else is agent-only (HTTP). */
export const CLIENT_PUBLISHABLE_AI_EVENTS = ['ai-input', 'ai-cancel'] as const;

export function isAiEvent(event: string): event is AiEvent {
  return (AI_EVENTS as readonly string[]).includes(event);
}

/** Plain starts-with against the configured prefixes; an empty prefix never matches (7.1). */
export function isAiChannel(channel: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => p.length > 0 && channel.startsWith(p));
}

// ---------------------------------------------------------------------------------------------
// Errors

/** The AI Transport registry codes this module emits (PROTOCOL.md 7.7). */
export const AI_CODES = {
  invalidHeader: 104000,
  headerTooLarge: 104001,
  clientIdSpoof: 104002,
  eventNotPermitted: 104003,
} as const;
export type AiCode = (typeof AI_CODES)[keyof typeof AI_CODES];

const CATALOGUE: Record<AiCode, ErrorCode> = {
  104000: 'AIT_ERR_AI_INVALID_HEADER',
  104001: 'AIT_ERR_AI_HEADER_TOO_LARGE',
  104002: 'AIT_ERR_AI_CLIENT_ID_SPOOF',
  104003: 'AIT_ERR_AI_EVENT_NOT_PERMITTED',
};

export type AiTier = 'transport' | 'codec';

export interface AiError {
  readonly aiCode: AiCode;
  /** The protocol/errors.ts catalogue entry. */
  readonly code: ErrorCode;
  /** Client-safe message (no values echoed beyond key names). */
  readonly reason: string;
  readonly tier?: AiTier;
  readonly key?: string;
}

function aiErr(aiCode: AiCode, reason: string, tier?: AiTier, key?: string): AiError {
  const e: { aiCode: AiCode; code: ErrorCode; reason: string; tier?: AiTier; key?: string } = {
    aiCode,
    code: CATALOGUE[aiCode],
    reason,
  };
  if (tier !== undefined) e.tier = tier;
  if (key !== undefined) e.key = key;
  return e;
}

/** The catalogue error for a validation failure (the socket/HTTP layers translate it to the wire). */
export function aiErrorToAitError(e: AiError, channel?: string): AitError {
  return aitError(e.code, { reason: e.reason }, channel === undefined ? {} : { channel });
}

// ---------------------------------------------------------------------------------------------
// Limits

export interface AiLimitsConfig {
  /** Ceiling of one transport value in bytes; below the 256-byte default it is ignored. */
  readonly maxTransportValueBytes?: number | undefined;
  /** Ceiling of `steer-codec-message-ids` in bytes; below the 2 KiB default it is ignored. */
  readonly maxSteerCodecMessageIdsBytes?: number | undefined;
}

export interface AiLimits {
  readonly maxKeysPerTier: number;
  readonly maxKeyBytes: number;
  readonly maxTransportValueBytes: number;
  readonly maxSteerCodecMessageIdsBytes: number;
  readonly maxCodecValueBytes: number;
  readonly maxProviderMetadataBytes: number;
}

export const DEFAULT_AI_LIMITS: AiLimits = Object.freeze({
  maxKeysPerTier: 32,
  maxKeyBytes: 64,
  maxTransportValueBytes: 256,
  maxSteerCodecMessageIdsBytes: 2048,
  maxCodecValueBytes: 256,
  maxProviderMetadataBytes: 8192,
});

/** Effective limits: config can raise the two value ceilings but never lower them (7.3). */
export function aiLimits(config: AiLimitsConfig = {}): AiLimits {
  const raise = (dflt: number, v: number | undefined): number =>
    typeof v === 'number' && Number.isSafeInteger(v) && v > dflt ? v : dflt;
  return Object.freeze({
    ...DEFAULT_AI_LIMITS,
    maxTransportValueBytes: raise(DEFAULT_AI_LIMITS.maxTransportValueBytes, config.maxTransportValueBytes),
    maxSteerCodecMessageIdsBytes: raise(
      DEFAULT_AI_LIMITS.maxSteerCodecMessageIdsBytes,
      config.maxSteerCodecMessageIdsBytes,
    ),
  });
}

// ---------------------------------------------------------------------------------------------
// Transport key registry (7.3)

/**
 * Value domain of a transport key: `nonEmpty` any non-empty string; `any` any string;
 * `owner` any string where empty means "unknown owner" (only trusted callers may send it;
 * the anti-spoof check rejects it for others); or the list of allowed values.
 */
export type TransportDomain = 'nonEmpty' | 'any' | 'owner' | readonly string[];

const BOOL = ['true', 'false'] as const;

export const TRANSPORT_KEYS: Readonly<Record<string, TransportDomain>> = Object.freeze({
  'run-id': 'nonEmpty',
  'turn-id': 'nonEmpty', // legacy alias
  'turn-client-id': 'nonEmpty', // legacy alias
  'input-client-id': 'nonEmpty',
  'input-codec-message-id': 'nonEmpty',
  'codec-message-id': 'nonEmpty',
  parent: 'nonEmpty',
  'fork-of': 'nonEmpty',
  'stream-id': 'nonEmpty',
  'invocation-id': 'nonEmpty',
  'event-id': 'nonEmpty',
  'step-id': 'nonEmpty',
  'step-start-serial': 'nonEmpty',
  'steer-codec-message-ids': 'nonEmpty',
  'msg-regenerate': 'nonEmpty',
  supersedes: 'nonEmpty',
  'error-code': 'nonEmpty',
  model: 'nonEmpty',
  'run-client-id': 'owner',
  'step-client-id': 'owner',
  'run-reason': ['complete', 'cancelled', 'error'],
  'turn-reason': ['complete', 'cancelled', 'error', 'suspended'], // legacy alias
  'step-reason': ['complete', 'failed', 'cancelled'],
  stream: BOOL,
  discrete: BOOL,
  'run-continue': BOOL,
  'turn-continue': BOOL, // legacy alias
  status: ['streaming', 'complete', 'cancelled'],
  role: ['user', 'assistant', 'system', 'tool', 'agent'],
  'error-message': 'any',
});

const TRANSPORT_KEY_RE = /^[a-z0-9-]+$/;
const CODEC_KEY_RE = /^[A-Za-z0-9_-]+$/;
const STEER_KEY = 'steer-codec-message-ids';
const PROVIDER_METADATA_KEY = 'providerMetadata';

// ---------------------------------------------------------------------------------------------
// Validation

export interface ExtrasAi {
  readonly transport?: Readonly<Record<string, string>>;
  readonly codec?: Readonly<Record<string, string>>;
}

/** Who publishes: trusted (signed HTTP, app key) or an untrusted socket with its verified id. */
export type AiPublisher = { readonly trusted: true } | { readonly trusted: false; readonly clientId: string };

export type AiValidation =
  | { readonly ok: true; readonly value: ExtrasAi }
  | { readonly ok: false; readonly error: AiError };

export interface ValidateAiOptions {
  readonly limits?: AiLimits;
  /** Defaults to trusted; an untrusted publisher also gets the anti-spoof check. */
  readonly publisher?: AiPublisher;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function validateTier(tier: AiTier, raw: unknown, limits: AiLimits): AiError | undefined {
  if (!isPlainObject(raw)) return aiErr(104000, `extras.ai.${tier} must be an object of strings`, tier);
  const keys = Object.keys(raw);
  if (keys.length > limits.maxKeysPerTier) {
    return aiErr(104001, `extras.ai.${tier} has more than ${limits.maxKeysPerTier} keys`, tier);
  }
  for (const key of keys) {
    if (bytes(key) > limits.maxKeyBytes) {
      return aiErr(104001, `extras.ai.${tier} key longer than ${limits.maxKeyBytes} bytes`, tier);
    }
    const re = tier === 'transport' ? TRANSPORT_KEY_RE : CODEC_KEY_RE;
    if (!re.test(key)) return aiErr(104000, `invalid extras.ai.${tier} key ${JSON.stringify(key)}`, tier, key);
    const domain = tier === 'transport' ? TRANSPORT_KEYS[key] : undefined;
    if (tier === 'transport' && domain === undefined) {
      return aiErr(104000, `unknown extras.ai.transport key ${JSON.stringify(key)}`, tier, key);
    }
    const value = raw[key];
    if (typeof value !== 'string') {
      return aiErr(104000, `extras.ai.${tier}.${key} must be a string`, tier, key);
    }
    const max =
      tier === 'transport'
        ? key === STEER_KEY
          ? limits.maxSteerCodecMessageIdsBytes
          : limits.maxTransportValueBytes
        : key === PROVIDER_METADATA_KEY
          ? limits.maxProviderMetadataBytes
          : limits.maxCodecValueBytes;
    if (bytes(value) > max) return aiErr(104001, `extras.ai.${tier}.${key} longer than ${max} bytes`, tier, key);
    if (domain !== undefined && !inDomain(domain, value)) {
      return aiErr(104000, `invalid value for extras.ai.transport.${key}`, tier, key);
    }
  }
  return undefined;
}

function inDomain(domain: TransportDomain, value: string): boolean {
  if (domain === 'any' || domain === 'owner') return true;
  if (domain === 'nonEmpty') return value.length > 0;
  return domain.includes(value);
}

/**
 * Anti-spoof (untrusted WebSocket publish only): every transport key ending in `-client-id`
 * must equal the verified client id; an empty value counts as a spoof.
 */
export function checkClientIdSpoof(
  transport: Readonly<Record<string, string>> | undefined,
  verifiedClientId: string,
): AiError | undefined {
  if (!transport) return undefined;
  for (const [key, value] of Object.entries(transport)) {
    if (!key.endsWith('-client-id')) continue;
    if (value === '' || verifiedClientId === '' || value !== verifiedClientId) {
      return aiErr(104002, `extras.ai.transport.${key} does not match the verified client id`, 'transport', key);
    }
  }
  return undefined;
}

/**
 * Validates `extras.ai` (7.3): the shape `{transport?, codec?}` of string maps, key counts and
 * lengths, key syntax, the transport registry and its value domains, value sizes, and for an
 * untrusted publisher the anti-spoof rule. Checks run in a fixed order and the first failure is
 * returned, so one input always yields the same code.
 */
export function validateExtrasAi(ai: unknown, opts: ValidateAiOptions = {}): AiValidation {
  const limits = opts.limits ?? DEFAULT_AI_LIMITS;
  if (!isPlainObject(ai)) return { ok: false, error: aiErr(104000, 'extras.ai must be an object') };
  for (const k of Object.keys(ai)) {
    if (k !== 'transport' && k !== 'codec') {
      return { ok: false, error: aiErr(104000, `unknown extras.ai tier ${JSON.stringify(k)}`) };
    }
  }
  for (const tier of ['transport', 'codec'] as const) {
    if (ai[tier] === undefined) continue;
    const err = validateTier(tier, ai[tier], limits);
    if (err) return { ok: false, error: err };
  }
  const value = ai as ExtrasAi;
  const publisher = opts.publisher ?? { trusted: true };
  if (!publisher.trusted) {
    const err = checkClientIdSpoof(value.transport, publisher.clientId);
    if (err) return { ok: false, error: err };
  }
  return { ok: true, value };
}

// ---------------------------------------------------------------------------------------------
// Publish gating (7.2)

export interface AiWsPublishFacts {
  readonly event: string;
  readonly aiChannel: boolean;
  readonly protocol: 1 | 2;
}

/** Steps 1-3 of the WebSocket AI publish checks (channel, protocol, client-publishable event). */
export function checkAiWsPublish(f: AiWsPublishFacts): AiError | undefined {
  if (!f.aiChannel) return aiErr(104003, 'AI events are only permitted on AI channels');
  if (f.protocol !== 2) return aiErr(104003, 'AI events require protocol 2');
  if (!(CLIENT_PUBLISHABLE_AI_EVENTS as readonly string[]).includes(f.event)) {
    return aiErr(104003, 'agent AI events require trusted app-key publish');
  }
  return undefined;
}

export interface AiHttpPublishFacts {
  readonly event: string;
  readonly aiChannel: boolean;
  readonly hasExtrasAi: boolean;
  readonly messageId?: string | undefined;
}

/** The HTTP publish gate: AI events/extras only on AI channels; `message_id` 1..64 bytes. */
export function checkAiHttpPublish(f: AiHttpPublishFacts): AiError | undefined {
  if (!f.aiChannel) {
    if (isAiEvent(f.event) || f.hasExtrasAi) return aiErr(104003, 'AI events are only permitted on AI channels');
    return undefined;
  }
  if (f.messageId !== undefined) {
    if (f.messageId.length === 0) return aiErr(104000, 'message_id must not be empty');
    if (bytes(f.messageId) > 64) return aiErr(104001, 'message_id longer than 64 bytes');
  }
  return undefined;
}

/**
 * The server stamps `input-client-id` (ai-input) or `run-client-id` (ai-cancel) with the verified
 * id when the header is missing (7.2). Returns a new value; other events are returned unchanged.
 */
export function stampClientId(ai: ExtrasAi | undefined, event: string, verifiedClientId: string): ExtrasAi | undefined {
  const key = event === 'ai-input' ? 'input-client-id' : event === 'ai-cancel' ? 'run-client-id' : undefined;
  if (key === undefined) return ai;
  if (ai?.transport?.[key] !== undefined) return ai;
  return { ...ai, transport: { ...ai?.transport, [key]: verifiedClientId } };
}

// ---------------------------------------------------------------------------------------------
// Stream status helpers (7.3: terminal statuses drive rollup, the append lock, the open-stream
// cap, active-stream tracking and the janitor)

export const TERMINAL_STATUSES = ['complete', 'cancelled'] as const;

export function isTerminalStatus(status: unknown): boolean {
  return status === 'complete' || status === 'cancelled';
}

function tierStatus(extras: unknown, tier: AiTier): string | undefined {
  if (!isObjectLike(extras)) return undefined;
  const ai = extras['ai'];
  if (!isObjectLike(ai)) return undefined;
  const t = ai[tier];
  if (!isObjectLike(t)) return undefined;
  const s = t['status'];
  return typeof s === 'string' ? s : undefined;
}

function isObjectLike(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `extras.ai.transport.status`, when present. */
export function transportStatus(extras: unknown): string | undefined {
  return tierStatus(extras, 'transport');
}

/** `extras.ai.codec.status`, when present. */
export function codecStatus(extras: unknown): string | undefined {
  return tierStatus(extras, 'codec');
}

/** Transport tier only: what rollup, the append lock, the cap and the janitor look at. */
export function isTerminalTransport(extras: unknown): boolean {
  return isTerminalStatus(transportStatus(extras));
}

/** Either tier: what allows an append with empty `data` (4.3). */
export function hasTerminalStatus(extras: unknown): boolean {
  return isTerminalStatus(transportStatus(extras)) || isTerminalStatus(codecStatus(extras));
}

/** An open AI stream: `extras.ai.transport.status` is `streaming`. */
export function isStreaming(extras: unknown): boolean {
  return transportStatus(extras) === 'streaming';
}
