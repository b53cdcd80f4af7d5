import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "@ticketgen/shared/gen/google/rpc/error_details_pb";
import { BUDGET_UNITS } from "./budgets.ts";
import type { Admission } from "./rate-limiter.ts";

/**
 * RESOURCE_EXHAUSTED for a refused call: the message says when to retry, and a
 * google.rpc.RetryInfo detail (sent in grpc-status-details-bin) says it to client libraries.
 * A call larger than the whole budget gets no RetryInfo: retrying it as it is never helps.
 */
export function refusalError(refusal: Extract<Admission, { allowed: false }>): ConnectError {
  const { budget, limit, cost, retryAfterMs } = refusal;
  if (retryAfterMs === undefined) {
    return new ConnectError(
      `rate limit: this call counts ${cost} against a budget of ${limit} ${BUDGET_UNITS[budget]} per minute, so it can never pass; split it into smaller calls`,
      Code.ResourceExhausted,
    );
  }
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ConnectError(
    `rate limit: this tenant has used its ${limit} ${BUDGET_UNITS[budget]} per minute; retry in ${seconds} s`,
    Code.ResourceExhausted,
    undefined,
    [{ desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay: durationFromMs(retryAfterMs) }) }],
  );
}
