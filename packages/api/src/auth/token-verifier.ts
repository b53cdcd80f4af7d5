import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { Code, ConnectError } from "@connectrpc/connect";
import { isScope, TENANT_ID_PATTERN, type AuthConfig, type Scope } from "@ticketgen/shared";

/** Who is calling, from a verified token. */
export interface Caller {
  tenantId: string;
  scopes: ReadonlySet<Scope>;
}

export interface VerifiedToken {
  caller: Caller;
  /** Unix seconds after which the token no longer verifies (its exp plus the clock skew). */
  validUntil: number;
}

/** nbf, iat and exp are judged with this much clock skew between the token's issuer and us. */
export const CLOCK_SKEW_SECONDS = 60;
const ASYMMETRIC = ["RS256", "ES256", "EdDSA"];
const JWKS_MAX_AGE_MS = 10 * 60_000;
const JWKS_FETCH_TIMEOUT_MS = 5_000;

const unauthenticated = (message: string) => new ConnectError(message, Code.Unauthenticated);
const keySetUnavailable = () =>
  new ConnectError("the token signing keys (AUTH_JWKS_URL) could not be fetched; retry later", Code.Unavailable);

/**
 * Why a token was refused, in words the caller can act on. The token itself is never echoed,
 * and neither are jose's messages, which may quote claim values.
 */
function refusal(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof errors.JWTExpired) return unauthenticated("the bearer token has expired; obtain a new one");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return unauthenticated(`the bearer token has no "${error.claim}" claim`);
    if (error.claim === "nbf") return unauthenticated("the bearer token is not valid yet (nbf is in the future)");
    return unauthenticated(`the bearer token's "${error.claim}" claim is not the one this service expects`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return unauthenticated("the bearer token's signature is invalid");
  if (error instanceof errors.JOSEAlgNotAllowed)
    return unauthenticated("the bearer token is signed with an algorithm this service does not accept");
  if (error instanceof errors.JWKSNoMatchingKey)
    return unauthenticated("the bearer token is signed with a key (kid) this service does not know");
  if (error instanceof errors.JOSEError) return unauthenticated("the bearer token is malformed (not a signed JWT)");
  throw error;
}

function verified(payload: JWTPayload): VerifiedToken {
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat === "number" && payload.iat > now + CLOCK_SKEW_SECONDS) {
    throw unauthenticated("the bearer token was issued in the future (iat); check the issuer's clock");
  }
  const tenantId = payload.tenant_id;
  if (tenantId === undefined) throw unauthenticated('the bearer token has no "tenant_id" claim');
  if (typeof tenantId !== "string" || !TENANT_ID_PATTERN.test(tenantId)) {
    throw unauthenticated('the bearer token\'s "tenant_id" claim must be 1-64 letters, digits, _ . or -, starting with a letter or digit');
  }
  const scope = payload.scope ?? "";
  if (typeof scope !== "string") throw unauthenticated('the bearer token\'s "scope" claim must be a space-separated string');
  return { caller: { tenantId, scopes: new Set(scope.split(" ").filter(isScope)) }, validUntil: payload.exp! + CLOCK_SKEW_SECONDS };
}

/** Verifies a compact JWT per AuthConfig (jose): signature, algorithm, exp, nbf, iat, iss, aud. */
export function createTokenVerifier(config: AuthConfig): (token: string) => Promise<VerifiedToken> {
  const secrets = [config.jwtSecret, config.previousJwtSecret].filter((secret) => secret !== undefined);
  // jose caches the set, and refetches it when a token names an unknown kid, at most once per cooldown.
  const jwks =
    config.jwksUrl === undefined
      ? undefined
      : createRemoteJWKSet(new URL(config.jwksUrl), {
          cooldownDuration: config.jwksCooldownMs,
          cacheMaxAge: JWKS_MAX_AGE_MS,
          timeoutDuration: JWKS_FETCH_TIMEOUT_MS,
        });
  // The algorithm picks the key, so an HS256 token is only ever checked against our secret and
  // an asymmetric one only against the JWKS: a public key can never be used as an HMAC secret.
  const algorithms = [...(secrets.length > 0 ? ["HS256"] : []), ...(jwks ? ASYMMETRIC : [])];
  // Whatever goes wrong fetching the set (unreachable, not 200, not a JWKS) is ours, not the
  // caller's: UNAVAILABLE, so that a good token is retried rather than thrown away.
  const fromKeySet: JWTVerifyGetKey = async (header, token) => {
    try {
      return await jwks!(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw keySetUnavailable();
    }
  };
  const keyFor =
    (secret: Uint8Array | undefined): JWTVerifyGetKey =>
    (header, token) =>
      header.alg === "HS256" && secret ? secret : fromKeySet(header, token);
  const options = {
    algorithms,
    requiredClaims: ["exp"],
    clockTolerance: CLOCK_SKEW_SECONDS,
    issuer: config.issuer,
    audience: config.audience,
  };
  return async (token) => {
    // During a rotation an HS256 token may be signed with the previous secret: tried second.
    for (let i = 0; ; i++) {
      try {
        const { payload } = await jwtVerify(token, keyFor(secrets[i]), options);
        return verified(payload);
      } catch (error) {
        const another =
          i + 1 < secrets.length && error instanceof errors.JWSSignatureVerificationFailed && decodeProtectedHeader(token).alg === "HS256";
        if (!another) throw refusal(error);
      }
    }
  };
}
