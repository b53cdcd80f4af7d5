import type { BatchRow, TicketRow } from "../db/schema.ts";

export type TicketEventType = "ticket.generated" | "ticket.failed";
export type EventType = TicketEventType | "batch.completed";

/** One event for the core service, as the outbox keeps it and the webhook sends it. */
export interface WebhookEvent {
  /** The delivery id receivers dedupe by: `<type>.<ticket or batch id>`, the same however often it is sent. */
  id: string;
  tenantId: string;
  type: EventType;
  occurredAt: Date;
  data: Record<string, unknown>;
}

export function ticketEvent(type: TicketEventType, row: TicketRow, occurredAt: Date): WebhookEvent {
  return {
    id: `${type}.${row.id}`,
    tenantId: row.tenantId,
    type,
    occurredAt,
    data: {
      ticketId: row.id,
      ticketCode: row.ticketCode,
      tenantId: row.tenantId,
      eventId: row.eventId,
      guestId: row.guestId,
      batchId: row.batchId,
      status: row.status,
      pdfSize: row.pdfSize,
      pdfSha256: row.pdfSha256,
      failureReason: row.failureReason,
      createdAt: row.createdAt.toISOString(),
      generatedAt: row.generatedAt?.toISOString() ?? null,
    },
  };
}

/** A single ticket that became GENERATED or FAILED. Batch tickets are announced once, by batch.completed. */
export function ticketEvents(changed: readonly TicketRow[], occurredAt: Date): WebhookEvent[] {
  return changed.flatMap((row) => {
    if (row.batchId) return [];
    if (row.status === "GENERATED") return [ticketEvent("ticket.generated", row, occurredAt)];
    if (row.status === "FAILED") return [ticketEvent("ticket.failed", row, occurredAt)];
    return [];
  });
}

/** A batch reached COMPLETED or FAILED (the counts say how many tickets failed). */
export function batchCompletedEvent(batch: BatchRow, occurredAt: Date): WebhookEvent {
  return {
    id: `batch.completed.${batch.id}`,
    tenantId: batch.tenantId,
    type: "batch.completed",
    occurredAt,
    data: {
      batchId: batch.id,
      tenantId: batch.tenantId,
      eventId: batch.eventId,
      status: batch.status,
      totalCount: batch.totalCount,
      completedCount: batch.completedCount,
      failedCount: batch.failedCount,
      createdAt: batch.createdAt.toISOString(),
      completedAt: batch.completedAt?.toISOString() ?? null,
    },
  };
}
