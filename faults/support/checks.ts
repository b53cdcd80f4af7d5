import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import type postgres from "postgres";
import { batchGuestId } from "./requests.ts";
import type { FaultStack } from "./stack.ts";
import type { Delivery } from "./webhook-receiver.ts";
import type { Workload } from "./workload.ts";

/** What the checks found after one fault; every count is of tickets unless it says otherwise. */
export interface FaultCheck {
  ticketsChecked: number;
  /** A caller was given a ticket (or a batch) that is not GENERATED in the end, or not stored at all. */
  lost: number;
  /** More than one row for one key or guest, or contradictory outcomes announced for one ticket. */
  duplicated: number;
  /** Calls whose caller finally got an error (a retry on the same key never succeeded). */
  callerErrors: number;
  /** The caller got an error, yet a ticket or batch was stored under its key. */
  storedDespiteError: number;
  /** GENERATED tickets whose stored PDF is missing or does not hash to the recorded SHA-256. */
  pdfMismatches: number;
  /** PDF files no GENERATED ticket points at (superseded renders left behind; not the temp files of cut-off writes, which the reaper sweeps). */
  strayPdfs: number;
  /** Batch counters or status that disagree with its tickets' statuses (one per disagreeing field). */
  batchCountMismatches: number;
  /** Finished tickets and batches whose webhook event never arrived. */
  webhooksMissing: number;
  /** Events delivered under more than one delivery id. */
  unstableDeliveryIds: number;
  /** The first few findings, spelled out. */
  problems: string[];
}

interface TicketRow {
  id: string;
  idempotency_key: string | null;
  batch_id: string | null;
  guest_id: string;
  status: string;
  pdf_key: string | null;
  pdf_sha256: string | null;
}

interface BatchRow {
  id: string;
  idempotency_key: string | null;
  status: string;
  total_count: number;
  completed_count: number;
  failed_count: number;
}

const FINAL_TICKET = new Set(["GENERATED", "FAILED"]);
/** The temp file LocalBlobStore.put writes before renaming it into place. */
const PUT_TEMP_FILE = /^\..+\.[0-9a-f]{16}\.tmp$/;
const EVENT_OF_STATUS: Record<string, string> = { GENERATED: "ticket.generated", FAILED: "ticket.failed" };

async function rows(sql: postgres.Sql, eventId: string) {
  const tickets = await sql<TicketRow[]>`
    select id, idempotency_key, batch_id, guest_id, status, pdf_key, pdf_sha256 from tickets where event_id = ${eventId}`;
  const batches = await sql<BatchRow[]>`
    select id, idempotency_key, status, total_count, completed_count, failed_count from batches where event_id = ${eventId}`;
  return { tickets, batches };
}

function deliveriesBySubject(deliveries: readonly Delivery[]): Map<string, Delivery[]> {
  const out = new Map<string, Delivery[]>();
  for (const delivery of deliveries)
    out.set(`${delivery.type}/${delivery.subjectId}`, [...(out.get(`${delivery.type}/${delivery.subjectId}`) ?? []), delivery]);
  return out;
}

/**
 * Work the stack still owes: tickets PENDING, batches PROCESSING, finished work whose webhook has
 * not arrived, render and result jobs still queued or running (a stalled job rendered again after
 * its first outcome landed), and PDFs of superseded renders not deleted yet. Zero means it has
 * settled, whatever the outcome.
 */
export async function outstanding(stack: FaultStack, workload: Workload): Promise<number> {
  const { tickets, batches } = await rows(stack.sql, workload.eventId);
  const delivered = deliveriesBySubject(stack.receiver.deliveries);
  const pending = tickets.filter((t) => !FINAL_TICKET.has(t.status) && t.status !== "REVOKED").length;
  const processing = batches.filter((b) => b.status === "PROCESSING").length;
  const singleEvents = tickets.filter(
    (t) => t.batch_id === null && EVENT_OF_STATUS[t.status] && !delivered.has(`${EVENT_OF_STATUS[t.status]}/${t.id}`),
  );
  const batchEvents = batches.filter(
    (b) => b.status !== "PROCESSING" && b.status !== "CANCELLED" && !delivered.has(`batch.completed/${b.id}`),
  );
  const strays = await strayPdfKeys(stack.blobDir, tickets);
  return pending + processing + singleEvents.length + batchEvents.length + (await stack.queuedJobs()) + strays.length;
}

/** The workload's stored single tickets not rendered yet. */
export async function unrenderedSingles(sql: postgres.Sql, eventId: string): Promise<number> {
  const [row] = await sql<Array<{ n: number }>>`
    select count(*)::int as n from tickets where event_id = ${eventId} and batch_id is null and status = 'PENDING'`;
  return row!.n;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** The run's ticket PDFs that no GENERATED ticket points at. */
async function strayPdfKeys(blobDir: string, tickets: readonly TicketRow[]): Promise<string[]> {
  const referenced = new Set(tickets.filter((t) => t.status === "GENERATED" && t.pdf_key).map((t) => t.pdf_key));
  const ids = new Set(tickets.map((t) => t.id));
  const strays: string[] = [];
  for (const file of await listFiles(join(blobDir, "tickets"))) {
    const key = relative(blobDir, file);
    // A put's temp file (".<name>.<hex>.tmp") whose write the outage cut off is no PDF anyone can
    // read, and the blob reaper deletes it (LocalBlobStore lists temp files for that sweep).
    if (PUT_TEMP_FILE.test(basename(key))) continue;
    // tickets/<tenant>/<ticket id>/…: only this run's tickets (the directory is the run's own anyway).
    if (ids.has(key.split("/")[2] ?? "") && !referenced.has(key)) strays.push(key);
  }
  return strays;
}

export async function checkInvariants(
  sql: postgres.Sql,
  blobDir: string,
  workload: Workload,
  deliveries: readonly Delivery[],
  batchGuests: number,
): Promise<FaultCheck> {
  const { tickets, batches } = await rows(sql, workload.eventId);
  const check: FaultCheck = {
    ticketsChecked: workload.singles.length + batchGuests,
    lost: 0,
    duplicated: 0,
    callerErrors: 0,
    storedDespiteError: 0,
    pdfMismatches: 0,
    strayPdfs: 0,
    batchCountMismatches: 0,
    webhooksMissing: 0,
    unstableDeliveryIds: 0,
    problems: [],
  };
  const problem = (text: string) => check.problems.length < 12 && check.problems.push(text);

  const byKey = new Map<string, TicketRow[]>();
  for (const t of tickets) if (t.idempotency_key) byKey.set(t.idempotency_key, [...(byKey.get(t.idempotency_key) ?? []), t]);

  for (const single of workload.singles) {
    const stored = byKey.get(single.key) ?? [];
    if (stored.length > 1) {
      check.duplicated += stored.length - 1;
      problem(`key ${single.key}: ${stored.length} tickets stored`);
    }
    if (single.id === undefined) {
      check.callerErrors++;
      if (stored.length > 0) {
        check.storedDespiteError++;
        problem(`key ${single.key}: the caller gave up (${single.error}) but ticket ${stored[0]!.id} is stored (${stored[0]!.status})`);
      }
      continue;
    }
    const row = stored.find((t) => t.id === single.id);
    if (!row || row.status !== "GENERATED") {
      check.lost++;
      problem(`ticket ${single.id}: the caller holds it, it is ${row ? row.status : "not stored"}`);
    }
  }

  const batchRows = batches.filter((b) => b.idempotency_key === workload.batch.key);
  if (batchRows.length > 1) {
    check.duplicated += (batchRows.length - 1) * batchGuests;
    problem(`batch key ${workload.batch.key}: ${batchRows.length} batches stored`);
  }
  const batch = batchRows.find((b) => b.id === workload.batch.id);
  if (workload.batch.id === undefined) {
    check.callerErrors++;
    if (batchRows.length > 0) {
      check.storedDespiteError++;
      problem(`batch key ${workload.batch.key}: the caller gave up (${workload.batch.error}) but batch ${batchRows[0]!.id} is stored`);
    }
  } else if (!batch) {
    check.lost += batchGuests;
    problem(`batch ${workload.batch.id}: the caller holds it, it is not stored`);
  } else {
    const own = tickets.filter((t) => t.batch_id === batch.id);
    const perGuest = new Map<string, TicketRow[]>();
    for (const t of own) perGuest.set(t.guest_id, [...(perGuest.get(t.guest_id) ?? []), t]);
    for (let i = 0; i < batchGuests; i++) {
      const guestTickets = perGuest.get(batchGuestId(i)) ?? [];
      if (guestTickets.length > 1) {
        check.duplicated += guestTickets.length - 1;
        problem(`batch ${batch.id}, ${batchGuestId(i)}: ${guestTickets.length} tickets`);
      }
      if (!guestTickets.some((t) => t.status === "GENERATED")) {
        check.lost++;
        problem(`batch ${batch.id}, ${batchGuestId(i)}: ${guestTickets.map((t) => t.status).join(", ") || "no ticket"}`);
      }
    }
    const generated = own.filter((t) => t.status === "GENERATED").length;
    const failed = own.filter((t) => t.status === "FAILED").length;
    const expectedStatus = generated + failed < batch.total_count ? "PROCESSING" : failed === batch.total_count ? "FAILED" : "COMPLETED";
    for (const [field, recorded, actual] of [
      ["completed_count", batch.completed_count, generated],
      ["failed_count", batch.failed_count, failed],
      ["total_count", batch.total_count, own.length],
    ] as const) {
      if (recorded === actual) continue;
      check.batchCountMismatches++;
      problem(`batch ${batch.id}: ${field} is ${recorded}, its tickets say ${actual}`);
    }
    if (batch.status !== expectedStatus && batch.status !== "COMPLETED") {
      check.batchCountMismatches++;
      problem(`batch ${batch.id}: status ${batch.status}, its tickets say ${expectedStatus}`);
    }
  }

  // Only the single tickets are announced one by one; a batch announces itself once.
  const delivered = deliveriesBySubject(deliveries);
  const announce = (type: string, id: string) => {
    const got = delivered.get(`${type}/${id}`) ?? [];
    if (got.length === 0) {
      check.webhooksMissing++;
      problem(`${type} for ${id} never arrived`);
    } else if (new Set(got.map((d) => d.deliveryId)).size > 1) {
      check.unstableDeliveryIds++;
      problem(`${type} for ${id} arrived under ${new Set(got.map((d) => d.deliveryId)).size} delivery ids`);
    }
  };
  for (const t of tickets.filter((row) => row.batch_id === null)) {
    const type = EVENT_OF_STATUS[t.status];
    if (type) announce(type, t.id);
    const contrary = t.status === "GENERATED" ? "ticket.failed" : "ticket.generated";
    if (delivered.has(`${contrary}/${t.id}`)) {
      check.duplicated++;
      problem(`ticket ${t.id} is ${t.status}, yet ${contrary} was announced too`);
    }
  }
  for (const b of batches.filter((row) => row.status === "COMPLETED" || row.status === "FAILED")) announce("batch.completed", b.id);

  for (const t of tickets.filter((row) => row.status === "GENERATED")) {
    if (!t.pdf_key) {
      check.pdfMismatches++;
      problem(`ticket ${t.id}: GENERATED without a PDF key`);
      continue;
    }
    const bytes = await readFile(join(blobDir, t.pdf_key)).catch(() => undefined);
    const sha256 = bytes && createHash("sha256").update(bytes).digest("hex");
    if (sha256 !== t.pdf_sha256) {
      check.pdfMismatches++;
      problem(`ticket ${t.id}: PDF ${bytes ? `hashes to ${sha256}` : "missing"}, recorded ${t.pdf_sha256}`);
    }
  }
  for (const key of await strayPdfKeys(blobDir, tickets)) {
    check.strayPdfs++;
    problem(`stray PDF ${key}`);
  }
  return check;
}
