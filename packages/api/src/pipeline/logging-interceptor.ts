import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "@ticketgen/shared";
import { callObserver } from "./call-observer.ts";

/** One log line per call: method, gRPC code and duration (streams: when the stream ends). */
export function loggingInterceptor(logger: Logger): Interceptor {
  return callObserver(({ method, code, seconds }) =>
    logger.info({ action: "rpc", method, code, durationMs: Math.round(seconds * 10_000) / 10 }, `${method} ${code}`),
  );
}
