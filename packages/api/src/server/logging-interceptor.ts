import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "@ticketgen/shared";

/** One log line per call: method, gRPC code and duration (streams: when the stream ends). */
export function loggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const method = `${req.service.typeName}/${req.method.name}`;
    const done = (error?: unknown) => {
      const code = error === undefined ? "OK" : Code[ConnectError.from(error).code];
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      logger.info({ action: "rpc", method, code, durationMs }, `${method} ${code}`);
    };
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
