import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { methodName } from "../auth/method-scopes.ts";

export interface FinishedCall {
  method: string;
  /** gRPC code name as grpc-go and go-grpc-prometheus spell it: OK, InvalidArgument, NotFound, … */
  code: string;
  seconds: number;
}

/** Reports every call once it is over: unary when answered, streams when the stream ends. */
export function callObserver(onFinished: (call: FinishedCall) => void): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const method = methodName(req.method);
    const done = (error?: unknown) =>
      onFinished({
        method,
        code: error === undefined ? "OK" : Code[ConnectError.from(error).code],
        seconds: (performance.now() - started) / 1000,
      });
    try {
      const res = await next(req);
      if (!res.stream) {
        done();
        return res;
      }
      const stream = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* stream;
            done();
          } catch (error) {
            done(error);
            throw error;
          }
        })(),
      };
    } catch (error) {
      done(error);
      throw error;
    }
  };
}
