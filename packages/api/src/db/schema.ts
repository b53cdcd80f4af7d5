import { sql } from "drizzle-orm";
import {
  bigint,
  customType,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import type { EventSnapshot, GuestSnapshot, TicketTypeSnapshot } from "@ticketgen/shared";

export const ticketStatus = pgEnum("ticket_status", ["PENDING", "GENERATED", "FAILED", "REVOKED"]);
export const batchStatus = pgEnum("batch_status", ["PROCESSING", "COMPLETED", "FAILED", "CANCELLED"]);

const instant = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const tickets = pgTable(
  "tickets",
  {
    // UUIDv7: time-ordered, so keyset pagination by id lists tickets in creation order.
    id: uuid("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    ticketCode: text("ticket_code").notNull(),
    eventId: text("event_id").notNull(),
    guestId: text("guest_id").notNull(),
    ticketTypeId: text("ticket_type_id").notNull(),
    batchId: uuid("batch_id"),
    // The guest's index in the batch's list: chunking and the batch PDF follow it.
    batchPosition: integer("batch_position"),
    status: ticketStatus("status").notNull().default("PENDING"),
    qrPayload: text("qr_payload").notNull(),
    templateId: text("template_id").notNull(),
    // 0 for built-in templates: the exact version rendered, so re-renders look the same.
    templateVersion: integer("template_version").notNull().default(0),
    locale: text("locale").notNull(),
    event: jsonb("event").$type<EventSnapshot>().notNull(),
    guest: jsonb("guest").$type<GuestSnapshot>().notNull(),
    ticketType: jsonb("ticket_type").$type<TicketTypeSnapshot>().notNull(),
    idempotencyKey: text("idempotency_key"),
    // SHA-256 of the request without its key: the same key with another request is a conflict.
    requestHash: text("request_hash"),
    pdfSize: bigint("pdf_size", { mode: "number" }),
    pdfSha256: text("pdf_sha256"),
    pdfKey: text("pdf_key"),
    failureReason: text("failure_reason"),
    createdAt: instant("created_at").notNull().defaultNow(),
    generatedAt: instant("generated_at"),
    validUntil: instant("valid_until").notNull(),
    redeemedAt: instant("redeemed_at"),
    revokedAt: instant("revoked_at"),
    revocationReason: text("revocation_reason"),
  },
  (t) => [
    uniqueIndex("tickets_ticket_code_key").on(t.ticketCode),
    uniqueIndex("tickets_tenant_idempotency_key")
      .on(t.tenantId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    index("tickets_tenant_event_id").on(t.tenantId, t.eventId, t.id),
    index("tickets_pending_created_at")
      .on(t.createdAt)
      .where(sql`${t.status} = 'PENDING'`),
    index("tickets_batch_position")
      .on(t.batchId, t.batchPosition)
      .where(sql`${t.batchId} is not null`),
    // PDF retention (BlobReferences.releaseExpired) looks for tickets still holding a PDF that
    // expired before a cutoff: usually none, which without this index is a scan of every ticket.
    index("tickets_pdf_valid_until")
      .on(t.validUntil)
      .where(sql`${t.pdfKey} is not null`),
  ],
);

export type TicketRow = typeof tickets.$inferSelect;
export type NewTicketRow = typeof tickets.$inferInsert;

/** Tenant templates; a version is immutable once stored. */
export const templates = pgTable(
  "templates",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    version: integer("version").notNull(),
    name: text("name").notNull(),
    content: text("content").notNull(),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id, t.version] })],
);

export type TemplateRow = typeof templates.$inferSelect;

/** postgres.js answers bytea with a Buffer, PGlite with a Uint8Array: both come out as a Buffer. */
const bytea = customType<{ data: Buffer; driverData: Uint8Array }>({
  dataType: () => "bytea",
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)),
});

/** Tenants' images and fonts, as stored (sanitised, downscaled); a put on an existing id replaces it. */
export const assets = pgTable(
  "assets",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    data: bytea("data").notNull(),
    createdAt: instant("created_at").notNull().defaultNow(),
    updatedAt: instant("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] })],
);

export type AssetRow = typeof assets.$inferSelect;
/** An asset without its bytes: what lists and the Redis manifest need. */
export type AssetMeta = Omit<AssetRow, "data">;

export const batches = pgTable(
  "batches",
  {
    id: uuid("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    eventId: text("event_id").notNull(),
    status: batchStatus("status").notNull().default("PROCESSING"),
    totalCount: integer("total_count").notNull(),
    completedCount: integer("completed_count").notNull().default(0),
    failedCount: integer("failed_count").notNull().default(0),
    chunkSize: integer("chunk_size").notNull(),
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash").notNull(),
    createdAt: instant("created_at").notNull().defaultNow(),
    completedAt: instant("completed_at"),
    // Outbox of CancelBatch: set once the workers were told (Redis cancel mark, queued chunks
    // removed); a CANCELLED batch without it is still to be told, whatever Redis did meanwhile.
    cancelPropagatedAt: instant("cancel_propagated_at"),
  },
  (t) => [
    uniqueIndex("batches_tenant_idempotency_key")
      .on(t.tenantId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    index("batches_processing_created_at")
      .on(t.createdAt)
      .where(sql`${t.status} = 'PROCESSING'`),
    index("batches_cancel_unpropagated")
      .on(t.completedAt)
      .where(sql`${t.status} = 'CANCELLED' and ${t.cancelPropagatedAt} is null`),
  ],
);

export type BatchRow = typeof batches.$inferSelect;
export type NewBatchRow = typeof batches.$inferInsert;

/**
 * Outbox of the core-service webhook: one row per event, written in the transaction that made
 * the status change it announces, so an event is never lost with Redis or with the API process.
 * The id is the delivery id the receiver dedupes by (`<type>.<ticket or batch id>`).
 */
export const webhookOutbox = pgTable(
  "webhook_outbox",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    type: text("type").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    occurredAt: instant("occurred_at").notNull(),
    // When the relay last found (or put) the event's job on the webhooks queue; at first, when
    // recorded. An undelivered row is looked at again once this is older than the sweep age.
    checkedAt: instant("checked_at").notNull(),
    // The core service answered 2xx.
    deliveredAt: instant("delivered_at"),
    // The last of WEBHOOK_MAX_ATTEMPTS failed: the relay leaves it alone.
    gaveUpAt: instant("gave_up_at"),
  },
  (t) => [
    index("webhook_outbox_due")
      .on(t.checkedAt)
      .where(sql`${t.deliveredAt} is null and ${t.gaveUpAt} is null`),
    index("webhook_outbox_delivered_at")
      .on(t.deliveredAt)
      .where(sql`${t.deliveredAt} is not null`),
    index("webhook_outbox_gave_up_at")
      .on(t.gaveUpAt)
      .where(sql`${t.gaveUpAt} is not null`),
  ],
);

export type WebhookOutboxRow = typeof webhookOutbox.$inferSelect;
