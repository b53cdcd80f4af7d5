import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { validateRequest } from "../validation/rules.ts";

/** Rejects invalid requests before any handler runs, naming every offending field. */
export const validationInterceptor: Interceptor = (next) => (req) => {
  if (!req.stream) {
    const problem = validateRequest(req.method.input.typeName, req.message);
    if (problem) throw new ConnectError(problem, Code.InvalidArgument);
  }
  return next(req);
};
