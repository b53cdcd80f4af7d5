import { createClient, Code, ConnectError, type Client } from "@connectrpc/connect";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderWorker } from "@ticketgen/render-worker";
import { batchChunkPdfKey, createBlobStore, ticketPdfKey, type BlobStore } from "@ticketgen/shared";
import { BatchService, BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { timeOrderedId } from "../src/db/time-ordered-id.ts";
import { batchRequest } from "./support/batches.ts";
import { BLOB_BACKINGS, type BlobBacking } from "./support/blob-backings.ts";
import { scratchDatabase, type ScratchDatabase } from "./support/database.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const RETENTION_DAYS = 30;
// Auth is off in these tests: every call is tenant "default".
const TENANT = "default";

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => ConnectError.from(error),
  );

describe.each(BLOB_BACKINGS)("PDF lifecycle on the $name blob store", ({ store }) => {
  let database: ScratchDatabase;
  let backing: BlobBacking;
  let api: TestApi;
  let worker: RenderWorker;
  let batches: Client<typeof BatchService>;
  let blobs: BlobStore;
  let ticket: Ticket;
  let batchId: string;
  let batchTickets: Ticket[];

  const reap = (at: Date) => api.app.reaper.reap(at);
  const drain = async (stream: AsyncIterable<unknown>) => {
    for await (const message of stream) void message;
  };
  const downloadTicket = (id: string) => drain(api.tickets.downloadTicketPdf({ id }));
  const downloadBatch = () => drain(batches.downloadBatchPdf({ id: batchId }));
  const chunkKeys = () => [0, 1].map((i) => batchChunkPdfKey(TENANT, batchId, i));
  const stored = async (key: string) => (await blobs.size(key)) !== undefined;
  const row = async (id: string) => (await api.tickets.getTicket({ lookup: { case: "id", value: id } })).ticket!;

  beforeAll(async () => {
    database = await scratchDatabase("pdf_lifecycle");
    backing = await store();
    api = await startTestApi({
      DATABASE_URL: database.url,
      PDF_RETENTION_DAYS: String(RETENTION_DAYS),
      BLOB_REAP_INTERVAL_MS: String(DAY_MS), // passes run when the test says
      BATCH_SIZE: "2",
      ...backing.env,
    });
    worker = await startTestWorker(api);
    batches = createClient(BatchService, grpcTransport(api.baseUrl));
    blobs = createBlobStore(api.config.blobStore);

    const created = (await api.tickets.createTicket(ticketRequest())).ticket!;
    const batch = (await batches.createBatch(batchRequest(3))).batch!;
    batchId = batch.id;
    ticket = await waitFor(
      async () => {
        const current = await row(created.id);
        return current.status === TicketStatus.GENERATED ? current : undefined;
      },
      60_000,
      "the ticket rendered",
    );
    await waitFor(
      async () => ((await batches.getBatch({ id: batchId })).batch!.status === BatchStatus.COMPLETED ? true : undefined),
      60_000,
      "the batch rendered",
    );
    batchTickets = (await api.tickets.listTickets({ eventId: batch.eventId })).tickets;
  });

  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
    await backing?.close();
    await database?.drop();
  });

  it("deletes old blobs no ticket or batch names, and keeps every named one and every young one", async () => {
    const now = new Date();
    const duplicate = ticketPdfKey(TENANT, ticket.id, randomBytes(32).toString("hex")); // a second render that lost
    const unknownTicket = ticketPdfKey(TENANT, timeOrderedId(), randomBytes(32).toString("hex"));
    const unknownBatch = batchChunkPdfKey(TENANT, timeOrderedId(), 0);
    const notOurs = "tickets/notes/readme/x.pdf";
    for (const key of [duplicate, unknownTicket, unknownBatch, notOurs]) await blobs.put(key, randomBytes(100), "application/pdf");

    expect(await reap(now)).toEqual({ expired: 0, orphans: 0 });
    for (const key of [duplicate, unknownTicket, unknownBatch]) expect(await stored(key)).toBe(true);

    const later = new Date(now.getTime() + (api.config.orphanBlobMinAgeHours + 1) * HOUR_MS);
    expect(await reap(later)).toEqual({ expired: 0, orphans: 3 });
    for (const key of [duplicate, unknownTicket, unknownBatch]) expect(await stored(key)).toBe(false);
    expect(await stored(notOurs)).toBe(true);
    const named = [ticket, ...batchTickets].map((t) => ticketPdfKey(TENANT, t.id, t.pdfSha256));
    for (const key of [...named, ...chunkKeys()]) expect(await stored(key)).toBe(true);
    await downloadTicket(ticket.id);
    await downloadBatch();
  });

  it(`deletes PDFs ${RETENTION_DAYS} days after their tickets expired; downloads then say so; deleting again is fine`, async () => {
    const expiry = ticket.validUntil!;
    const validUntil = new Date(Number(expiry.seconds) * 1000);
    expect(await reap(new Date(validUntil.getTime() + (RETENTION_DAYS - 1) * DAY_MS))).toEqual({ expired: 0, orphans: 0 });
    await downloadTicket(ticket.id);

    // One PDF already gone (a delete that failed after the row forgot it, say) must not stop the rest.
    const [first] = batchTickets;
    await blobs.delete(ticketPdfKey(TENANT, first!.id, first!.pdfSha256));
    const after = new Date(
      Math.max(validUntil.getTime(), ...batchTickets.map((t) => Number(t.validUntil!.seconds) * 1000)) + (RETENTION_DAYS + 1) * DAY_MS,
    );
    expect((await reap(after)).expired).toBe(1 + batchTickets.length);
    for (const t of [ticket, ...batchTickets]) expect(await stored(ticketPdfKey(TENANT, t.id, t.pdfSha256))).toBe(false);
    for (const key of chunkKeys()) expect(await stored(key)).toBe(false);

    expect((await row(ticket.id)).status).toBe(TicketStatus.GENERATED);
    const ticketError = await failure(downloadTicket(ticket.id));
    expect(ticketError.code).toBe(Code.FailedPrecondition);
    expect(ticketError.rawMessage).toBe(
      `ticket ${ticket.id} has no PDF any more: it was deleted after the retention period (PDF_RETENTION_DAYS days after the ticket expired)`,
    );
    const batchError = await failure(downloadBatch());
    expect(batchError.code).toBe(Code.FailedPrecondition);
    expect(batchError.rawMessage).toBe(
      `batch ${batchId} has no PDF any more: it was deleted after the retention period (PDF_RETENTION_DAYS days after its tickets expired)`,
    );

    expect(await reap(after)).toEqual({ expired: 0, orphans: 0 });
  });
});
