import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "@ticketgen/shared";
import { errorCodes } from "../db/pg-errors.ts";

// postgres.js client-side connection failures, and PostgreSQL's class 08 / shutdown states.
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01",
  "57P02",
  "57P03",
  "53300",
]);

function isConnectionFailure(error: unknown): boolean {
  return errorCodes(error).some((code) => UNAVAILABLE_CODES.has(code) || code.startsWith("08"));
}

export function toConnectError(error: unknown, logger: Logger): ConnectError {
  if (error instanceof ConnectError) return error;
  if (isConnectionFailure(error)) {
    logger.warn({ err: error }, "database unreachable");
    return new ConnectError("the ticket database is unavailable; retry later", Code.Unavailable);
  }
  logger.error({ err: error }, "unexpected error");
  return new ConnectError("internal error", Code.Internal);
}

async function* mapStreamErrors<T>(stream: AsyncIterable<T>, logger: Logger): AsyncIterable<T> {
  try {
    yield* stream;
  } catch (error) {
    throw toConnectError(error, logger);
  }
}

/** Callers see a gRPC code and an actionable message, never a stack trace or driver detail. */
export function errorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      const res = await next(req);
      return res.stream ? { ...res, message: mapStreamErrors(res.message, logger) } : res;
    } catch (error) {
      throw toConnectError(error, logger);
    }
  };
}
