import { SignJWT } from "jose";

/** What a caller's token may let it do; one scope guards each group of RPCs. */
export const SCOPES = [
  "tickets:read",
  "tickets:write",
  "tickets:validate",
  "batches:read",
  "batches:write",
  "templates:read",
  "templates:write",
] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/**
 * Tenant ids end up in database rows, Redis keys and blob keys, so they are restricted to a
 * shape that cannot break out of any of them (no ':', '/', '{', spaces).
 */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface AccessTokenClaims {
  tenantId: string;
  scopes: readonly Scope[];
  /** Lifetime in seconds. */
  ttlSeconds: number;
  issuer?: string;
  audience?: string;
  subject?: string;
}

/**
 * An HS256 token as the API expects it (`tenant_id`, space-separated `scope`, `exp`): what
 * `ticketgen token` prints for development and what the tests call with.
 */
export function mintAccessToken(secret: Uint8Array, claims: AccessTokenClaims): Promise<string> {
  const jwt = new SignJWT({ tenant_id: claims.tenantId, scope: claims.scopes.join(" ") })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlSeconds}s`);
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  if (claims.subject) jwt.setSubject(claims.subject);
  return jwt.sign(secret);
}
