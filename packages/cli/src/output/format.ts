import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { BatchStatus, type Batch } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import type { SavedFile } from "./pdf-file.ts";
import { TicketStatus, ValidationResult, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";

// protobuf-es already strips the enum prefix: TicketStatus[2] is "GENERATED".
export const ticketStatusName = (status: TicketStatus) => TicketStatus[status] ?? String(status);
export const batchStatusName = (status: BatchStatus) => BatchStatus[status] ?? String(status);
export const validationResultName = (result: ValidationResult) => ValidationResult[result] ?? String(result);

const LOCAL_TIME = new Intl.DateTimeFormat("en-US", {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
  timeZoneName: "short",
});

/** `2027-10-02 21:00:00 GMT+2` in the operator's time zone (TZ). */
export function formatTime(timestamp: Timestamp): string {
  const part = Object.fromEntries(LOCAL_TIME.formatToParts(timestampDate(timestamp)).map(({ type, value }) => [type, value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${part.timeZoneName}`;
}

export function formatBytes(bytes: number | bigint): string {
  const n = Number(bytes);
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h > 0 ? `${h} h ${String(m).padStart(2, "0")} min` : `${m} min ${s} s`;
}

/** A title line, then aligned `label  value` rows; rows without a value are left out. */
export function block(title: string, rows: Array<[string, string | undefined]>): string {
  const shown = rows.filter((row): row is [string, string] => row[1] !== undefined && row[1] !== "");
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return [title, ...shown.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)].join("\n");
}

const time = (timestamp: Timestamp | undefined) => timestamp && formatTime(timestamp);

const revocation = (ticket: Ticket) =>
  ticket.revokedAt && [formatTime(ticket.revokedAt), ticket.revocationReason].filter(Boolean).join(": ");

export function formatTicket(ticket: Ticket): string {
  return block(`Ticket ${ticket.ticketCode}  ${ticketStatusName(ticket.status)}`, [
    ["id", ticket.id],
    ["event", ticket.eventId],
    ["guest", ticket.guestId],
    ["ticket type", ticket.ticketTypeId],
    ["template", ticket.templateId || "built-in"],
    ["locale", ticket.locale || "default"],
    ["batch", ticket.batchId],
    ["created", time(ticket.createdAt)],
    ["generated", time(ticket.generatedAt)],
    ["pdf", ticket.pdfSize > 0n ? `${formatBytes(ticket.pdfSize)}, sha256 ${ticket.pdfSha256}` : undefined],
    ["failure", ticket.failureReason],
    ["valid until", time(ticket.validUntil)],
    ["redeemed", time(ticket.redeemedAt)],
    ["revoked", revocation(ticket)],
    ["qr payload", ticket.qrPayload],
  ]);
}

/** A door verdict: the result, then what identifies the ticket to the person at the door. */
export function formatValidation(result: ValidationResult, ticket: Ticket | undefined): string {
  const verdict = validationResultName(result);
  if (!ticket) return verdict;
  return block(`${verdict}  ${ticket.ticketCode}`, [
    ["id", ticket.id],
    ["event", ticket.eventId],
    ["guest", ticket.guestId],
    ["ticket type", ticket.ticketTypeId],
    ["status", ticketStatusName(ticket.status)],
    ["valid until", time(ticket.validUntil)],
    ["redeemed", time(ticket.redeemedAt)],
    ["revoked", revocation(ticket)],
  ]);
}

/** How long the batch took by the server's clock; undefined while it runs. */
function batchElapsedMs(batch: Batch): number | undefined {
  if (!batch.createdAt || !batch.completedAt) return undefined;
  return timestampDate(batch.completedAt).getTime() - timestampDate(batch.createdAt).getTime();
}

/** A batch, with the PDF written for it when there is one. */
export function formatBatch(batch: Batch, pdf?: SavedFile): string {
  const elapsed = batchElapsedMs(batch);
  return block(`Batch ${batch.id}  ${batchStatusName(batch.status)}`, [
    ["event", batch.eventId],
    ["generated", `${batch.completedCount} of ${batch.totalCount}`],
    ["failed", String(batch.failedCount)],
    ["created", time(batch.createdAt)],
    ["finished", time(batch.completedAt)],
    ["elapsed", elapsed === undefined ? undefined : formatDuration(elapsed)],
    ["file", pdf?.file],
    ["size", pdf && formatBytes(pdf.size)],
  ]);
}

export const formatSavedFile = ({ file, size }: SavedFile) => `${file} (${formatBytes(size)})`;
