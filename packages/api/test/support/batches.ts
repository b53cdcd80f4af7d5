import { create } from "@bufbuild/protobuf";
import { CreateBatchRequestSchema, type CreateBatchRequest } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { ticketRequest } from "./requests.ts";

/** A valid CreateBatch request for a fresh event with `count` guests. */
export function batchRequest(
  count: number,
  overrides: { templateId?: string; idempotencyKey?: string; firstName?: (i: number) => string } = {},
): CreateBatchRequest {
  const base = ticketRequest();
  return create(CreateBatchRequestSchema, {
    event: base.event,
    ticketType: base.ticketType,
    locale: "en",
    templateId: overrides.templateId ?? "",
    idempotencyKey: overrides.idempotencyKey ?? "",
    guests: Array.from({ length: count }, (_, i) => ({
      id: `guest-${i}`,
      firstName: overrides.firstName?.(i) ?? `Guest${i}`,
      lastName: `Number ${i}`,
      email: `guest${i}@example.com`,
    })),
  });
}
