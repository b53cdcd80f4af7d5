import type { Interceptor } from "@connectrpc/connect";
import { methodName } from "../auth/method-scopes.ts";
import { budgetOf, requestCost } from "../limits/budgets.ts";
import type { RateLimiter } from "../limits/rate-limiter.ts";
import { refusalError } from "../limits/refusal.ts";
import { tenantOf } from "./auth-interceptor.ts";

/**
 * The connect side of rate limiting, after authentication (the tenant) and validation (a
 * CreateBatch's guests are its cost). A streaming call counts once, when it starts.
 */
export function rateLimitInterceptor(limiter: RateLimiter): Interceptor {
  return (next) => async (req) => {
    const method = methodName(req.method);
    if (budgetOf(method) === undefined) return next(req);
    const admission = await limiter.consume(tenantOf({ values: req.contextValues }), method, req.stream ? 1 : requestCost(req.message));
    if (!admission.allowed) throw refusalError(admission);
    return next(req);
  };
}
