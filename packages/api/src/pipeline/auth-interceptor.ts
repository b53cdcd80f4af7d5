import { createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import type { CallAuthenticator, HeaderSource } from "../auth/authenticate.ts";
import { methodName } from "../auth/method-scopes.ts";
import type { Caller } from "../auth/token-verifier.ts";

const callerKey = createContextKey<Caller | undefined>(undefined, { description: "the authenticated caller" });

/** Where a transport that has the request metadata in its own form (grpc-js) lets the pipeline read it, instead of building Headers. */
export const headerSourceKey = createContextKey<HeaderSource | undefined>(undefined, { description: "the request metadata" });

/** The connect side of authentication: the decision is the transport-neutral CallAuthenticator's. */
export function authInterceptor(authenticate: CallAuthenticator): Interceptor {
  return (next) => async (req) => {
    const caller = await authenticate(req.contextValues.get(headerSourceKey) ?? req.header, methodName(req.method));
    if (caller) req.contextValues.set(callerKey, caller);
    return next(req);
  };
}

/** The caller's tenant: every query, key and job of a call is scoped by it (in a handler, or an interceptor's request values). */
export function tenantOf(context: Pick<HandlerContext, "values">): string {
  const caller = context.values.get(callerKey);
  if (caller === undefined) throw new Error("authInterceptor did not authenticate this call");
  return caller.tenantId;
}
