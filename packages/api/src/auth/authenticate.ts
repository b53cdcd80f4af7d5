import { LRUCache } from "lru-cache";
import { Code, ConnectError } from "@connectrpc/connect";
import { SCOPES, type AuthConfig } from "@ticketgen/shared";
import { requiredScope } from "./method-scopes.ts";
import { createTokenVerifier, type Caller, type VerifiedToken } from "./token-verifier.ts";

/** Request headers as any transport has them: fetch Headers, or a wrapper over gRPC metadata. */
export interface HeaderSource {
  get(name: string): string | null | undefined;
}

/** Decides, from the request headers and the method name alone, who calls and whether they may. */
export type CallAuthenticator = (headers: HeaderSource, method: string) => Promise<Caller | undefined>;

/** Every caller when no authentication is configured (refused under NODE_ENV=production). */
export const DEVELOPMENT_CALLER: Caller = { tenantId: "default", scopes: new Set(SCOPES) };

const BEARER = /^Bearer +([^\s]+) *$/i;

function bearerToken(headers: HeaderSource): string {
  const header = headers.get("authorization");
  if (!header) throw new ConnectError("authorization: a bearer token is required (authorization: Bearer <JWT>)", Code.Unauthenticated);
  const token = BEARER.exec(header)?.[1];
  if (!token) throw new ConnectError('authorization: must be "Bearer <JWT>"', Code.Unauthenticated);
  return token;
}

// Callers reuse a token for many calls; verifying it once per lifetime spares the signature
// check (tens of µs of CPU) on every call. Only verified tokens are kept, never refusals.
const CACHE_MAX_TOKENS = 10_000;
const CACHE_MAX_SECONDS = 300;

function cached(verify: (token: string) => Promise<VerifiedToken>): (token: string) => Promise<Caller> {
  const cache = new LRUCache<string, Caller>({ max: CACHE_MAX_TOKENS, ttlAutopurge: false });
  return async (token) => {
    const hit = cache.get(token);
    if (hit) return hit;
    const { caller, validUntil } = await verify(token);
    const ttlSeconds = Math.min(CACHE_MAX_SECONDS, validUntil - Date.now() / 1000);
    if (ttlSeconds > 0) cache.set(token, caller, { ttl: ttlSeconds * 1000 });
    return caller;
  };
}

/**
 * Authentication, scopes and tenant in one plain function: what every transport's thin
 * interceptor calls. Public services (health, reflection) need no token and have no tenant.
 */
export function createCallAuthenticator(config: AuthConfig | undefined): CallAuthenticator {
  const verify = config && cached(createTokenVerifier(config));
  return async (headers, method) => {
    const scope = requiredScope(method);
    if (scope === "public") return undefined;
    const caller = verify ? await verify(bearerToken(headers)) : DEVELOPMENT_CALLER;
    if (scope === undefined) throw new ConnectError(`${method} is not open to any caller`, Code.PermissionDenied);
    if (!caller.scopes.has(scope)) {
      const granted = [...caller.scopes].join(" ") || "none";
      throw new ConnectError(`this call needs the "${scope}" scope; the token grants: ${granted}`, Code.PermissionDenied);
    }
    return caller;
  };
}
