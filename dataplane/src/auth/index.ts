// Public API of the auth module: pure HMAC, signed-REST, capability and token logic, plus the
// revocation store interface and its in-memory implementation.
export {
  CAPABILITY_OPS,
  type CapabilityOp,
  type CapabilityParse,
  type CapabilitySet,
  can,
  capabilitySetFrom,
  MAX_CAPABILITY_PATTERNS,
  normalizeOp,
  parseSigninCapabilities,
  parseTokenCapabilityClaim,
  patternMatches,
} from './capabilities.ts';
export {
  CAPABILITY_CLAIM,
  CLIENT_ID_CLAIM,
  issueCapabilityToken,
  MAX_CLIENT_ID_BYTES,
  MAX_JTI_BYTES,
  MAX_TOKEN_BYTES,
  MAX_TOKEN_LIFETIME_SECONDS,
  TOKEN_CLOCK_SKEW_SECONDS,
  type TokenVerification,
  type VerifiedToken,
  verifyCapabilityToken,
} from './capability-token.ts';
export {
  channelAuthSignature,
  constantTimeEqual,
  hmacSha256Hex,
  MAX_USER_ID_BYTES,
  parseSigninUserData,
  type SigninUserData,
  signinSignature,
  verifyChannelAuth,
  verifySignin,
} from './hmac.ts';
export {
  DEFAULT_MAX_REVOCATIONS_PER_APP,
  DEFAULT_REVOCATION_TTL_MS,
  MemoryRevocationStore,
  MIN_REVOCATION_TTL_MS,
  type RevocationStore,
  revocationTtlMs,
} from './revocations.ts';
export {
  type AppCredentials,
  bodyMd5Hex,
  canonicalQuery,
  DEFAULT_TIMESTAMP_WINDOW_SECONDS,
  parseQuery,
  type SignedRequestInput,
  type SignedRequestResult,
  signRequest,
  stringToSign,
  verifySignedRequest,
} from './signed-request.ts';
