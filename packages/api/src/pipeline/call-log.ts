import type { Logger } from "@ticketgen/shared";
import type { FinishedCall } from "./call-observer.ts";

/**
 * One log line per call: method, gRPC code and duration (streams: when the stream ends). A
 * failed call's line is at info; an OK call's at debug, since at thousands of calls a second
 * the line cost about a twentieth of a ValidateTicket's CPU, and the metrics count every call
 * by method and code.
 */
export function logCall(logger: Logger): (call: FinishedCall) => void {
  return ({ method, code, seconds }) => {
    const level = code === "OK" ? "debug" : "info";
    if (!logger.isLevelEnabled(level)) return;
    logger[level]({ action: "rpc", method, code, durationMs: Math.round(seconds * 10_000) / 10 }, `${method} ${code}`);
  };
}
