import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { validateRequest } from "../validation/rules.ts";

function check(typeName: string, message: unknown): void {
  const problem = validateRequest(typeName, message);
  if (problem) throw new ConnectError(problem, Code.InvalidArgument);
}

async function* validated<T>(typeName: string, messages: AsyncIterable<T>): AsyncIterable<T> {
  for await (const message of messages) {
    check(typeName, message);
    yield message;
  }
}

/**
 * Rejects invalid requests before any handler runs, naming every offending field. Streaming
 * calls get the same rules: each request message is checked as the handler reads it, and a
 * server-streaming handler reads its one message before it answers anything.
 */
export const validationInterceptor: Interceptor = (next) => (req) => {
  const typeName = req.method.input.typeName;
  if (!req.stream) {
    check(typeName, req.message);
    return next(req);
  }
  return next({ ...req, message: validated(typeName, req.message) });
};
