import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "@ticketgen/shared";
import { callObserver, type FinishedCall } from "./call-observer.ts";

/** One log line per call: method, gRPC code and duration (streams: when the stream ends). */
export function logCall(logger: Logger): (call: FinishedCall) => void {
  return ({ method, code, seconds }) =>
    logger.info({ action: "rpc", method, code, durationMs: Math.round(seconds * 10_000) / 10 }, `${method} ${code}`);
}

export function loggingInterceptor(logger: Logger): Interceptor {
  return callObserver(logCall(logger));
}
