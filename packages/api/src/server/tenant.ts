import { createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";

export const DEFAULT_TENANT = "default";

const tenantKey = createContextKey<string | undefined>(undefined, { description: "caller's tenant" });

/**
 * Resolves the caller's tenant into the handler context. Until authentication exists every
 * caller is the default tenant; the handlers already scope every query by it.
 */
export const tenantInterceptor: Interceptor = (next) => (req) => {
  req.contextValues.set(tenantKey, DEFAULT_TENANT);
  return next(req);
};

export function tenantOf(context: HandlerContext): string {
  const tenant = context.values.get(tenantKey);
  if (tenant === undefined) throw new Error("tenantInterceptor is not installed");
  return tenant;
}
