import { createClient, Code, ConnectError, type Client } from "@connectrpc/connect";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderWorker } from "@ticketgen/render-worker";
import { batchChunkPdfKey, createBlobStore, RENDER_QUEUE, RESULTS_QUEUE } from "@ticketgen/shared";
import { BatchService, BatchStatus, type Batch } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus, ValidationResult } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { pdfPageCount, pdfQrCodes, pdfText } from "./support/pdf.ts";
import { spawnService, type Spawned } from "./support/processes.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";

let api: TestApi;
let worker: RenderWorker;
let batches: Client<typeof BatchService>;
let queues: Queue[];
const spawned: Spawned[] = [];

beforeAll(async () => {
  api = await startTestApi();
  worker = await startTestWorker(api);
  batches = createClient(BatchService, grpcTransport(api.baseUrl));
  queues = [RENDER_QUEUE, RESULTS_QUEUE].map(
    (name) => new Queue(name, { connection: { url: api.config.redisUrl }, prefix: api.config.queuePrefix }),
  );
});

afterAll(async () => {
  for (const child of spawned) child.kill();
  await Promise.all((queues ?? []).map((queue) => queue.close()));
  await worker?.stop();
  await api?.stop();
});

/** Every state a WatchBatch stream delivered, until it ended. */
async function watch(client: Client<typeof BatchService>, id: string): Promise<Batch[]> {
  const seen: Batch[] = [];
  for await (const { batch } of client.watchBatch({ id })) seen.push(batch!);
  return seen;
}

/** Every render and every result handled: nothing the worker or the API does can change a ticket any more. */
async function queuesIdle(): Promise<true | undefined> {
  const counts = await Promise.all(queues.map((queue) => queue.getJobCounts("active", "waiting", "prioritized", "delayed")));
  return counts.every((count) => Object.values(count).every((n) => n === 0)) ? true : undefined;
}

async function download(id: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const { chunk } of batches.downloadBatchPdf({ id })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function allTickets(eventId: string) {
  const tickets = [];
  let pageToken = "";
  do {
    const page = await api.tickets.listTickets({ eventId, pageSize: 500, pageToken });
    tickets.push(...page.tickets);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return tickets;
}

describe("BatchService", () => {
  it("turns 1,000 guests into 1,000 GENERATED tickets; the watcher sees counts grow to COMPLETED; a single ticket overtakes the batch", async () => {
    const request = batchRequest(1000, { idempotencyKey: "guest-list-import-42" });
    const { batch } = await batches.createBatch(request);
    expect(batch).toMatchObject({ status: BatchStatus.PROCESSING, totalCount: 1000, completedCount: 0, failedCount: 0 });
    const watching = watch(batches, batch!.id);

    const { ticket } = await api.tickets.createTicket(ticketRequest());
    await waitFor(
      async () => {
        const { ticket: t } = await api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } });
        return t?.status === TicketStatus.GENERATED ? t : undefined;
      },
      // Generous: the order is what the test checks (below), not how soon.
      60_000,
      "single ticket generated",
    );
    const batchWhenSingleDone = (await batches.getBatch({ id: batch!.id })).batch!;
    // Rendered ahead of most of the batch (priority), whatever this machine's speed.
    expect(batchWhenSingleDone.completedCount).toBeLessThan(500);

    const seen = await watching;
    const done = seen.at(-1)!;
    expect(done).toMatchObject({ status: BatchStatus.COMPLETED, totalCount: 1000, completedCount: 1000, failedCount: 0 });
    expect(done.completedAt).toBeDefined();
    expect(seen.length).toBeGreaterThan(2);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.completedCount + seen[i]!.failedCount).toBeGreaterThanOrEqual(seen[i - 1]!.completedCount + seen[i - 1]!.failedCount);
    }
    expect(seen.slice(0, -1).every((b) => b.status === BatchStatus.PROCESSING)).toBe(true);

    const tickets = await allTickets(request.event!.id);
    expect(tickets).toHaveLength(1000);
    expect(tickets.every((t) => t.status === TicketStatus.GENERATED && t.batchId === batch!.id && t.pdfSize > 0n)).toBe(true);
    expect(new Set(tickets.map((t) => t.ticketCode)).size).toBe(1000);

    // One PDF for the lot: a page per ticket, in guest-list order, and its QR codes scan.
    const pdf = await download(batch!.id);
    expect(await pdfPageCount(pdf)).toBe(1000);
    const again = await batches.createBatch(request);
    expect(again.batch?.id).toBe(batch!.id);
  }, 360_000);

  it("fails the guest whose data breaks the template, alone; the batch PDF holds the others, in order, and they scan VALID", async () => {
    // Only guests named Ada have a partial: everybody else's ticket cannot be drawn.
    await api.templates.putTemplate({
      id: "ada-only",
      content: '{{#*inline "Ada"}}<h1>Welcome {{firstName}} {{lastName}}</h1>{{/inline}}{{> (lookup . "firstName")}}{{qrCode}}',
    });
    const request = batchRequest(5, { templateId: "ada-only", firstName: (i) => (i === 2 ? "Bob" : "Ada") });
    const { batch } = await batches.createBatch(request);
    const done = (await watch(batches, batch!.id)).at(-1)!;
    expect(done).toMatchObject({ status: BatchStatus.COMPLETED, completedCount: 4, failedCount: 1 });

    const tickets = await allTickets(request.event!.id);
    const bob = tickets.find((t) => t.guestId === "guest-2")!;
    expect(bob.status).toBe(TicketStatus.FAILED);
    expect(bob.failureReason).toMatch(/The partial Bob could not be found/);

    const pdf = await download(batch!.id);
    expect(await pdfPageCount(pdf)).toBe(4);
    const scanned = await pdfQrCodes(pdf);
    const byGuest = new Map(tickets.map((t) => [t.qrPayload, t.guestId]));
    expect(scanned.map((code) => byGuest.get(code))).toEqual(["guest-0", "guest-1", "guest-3", "guest-4"]);
    const verdict = await api.tickets.validateTicket({ credential: { case: "qrPayload", value: scanned[2]! }, eventId: request.event!.id });
    expect(verdict.result).toBe(ValidationResult.VALID);
  }, 180_000);

  it("prints every rendered ticket, in order, when a chunk's document was lost: from those tickets' own PDFs", async () => {
    // BATCH_SIZE is 100: two chunk documents, and the second one goes missing from the blob store.
    const request = batchRequest(130);
    const { batch } = await batches.createBatch(request);
    expect((await watch(batches, batch!.id)).at(-1)).toMatchObject({ status: BatchStatus.COMPLETED, completedCount: 130 });
    const blobs = createBlobStore(api.config.blobStore);
    const lost = batchChunkPdfKey("default", batch!.id, 1);
    expect(await blobs.size(lost)).toBeDefined();
    await blobs.delete(lost);

    const pdf = await download(batch!.id);
    expect(await pdfPageCount(pdf)).toBe(130);
    const names = [...(await pdfText(pdf)).matchAll(/Guest(\d+)/g)].map((match) => Number(match[1]));
    expect(names.filter((n, i) => n !== names[i - 1])).toEqual(Array.from({ length: 130 }, (_, i) => i));
  }, 120_000);

  it("cancels mid-batch: chunks not yet rendered stop, rendered tickets stay valid, the watcher ends CANCELLED", async () => {
    await worker.worker.pause();
    const request = batchRequest(400);
    const { batch } = await batches.createBatch(request);
    const watching = watch(batches, batch!.id);
    worker.worker.resume();
    await waitFor(
      async () => ((await batches.getBatch({ id: batch!.id })).batch!.completedCount > 0 ? true : undefined),
      // Bounds for a stuck render, not speed checks: a tagged 100-ticket chunk on two busy cores takes tens of seconds.
      90_000,
      "first chunk",
    );
    const { batch: cancelled } = await batches.cancelBatch({ id: batch!.id });
    expect(cancelled?.status).toBe(BatchStatus.CANCELLED);
    expect((await watching).at(-1)?.status).toBe(BatchStatus.CANCELLED);

    // A chunk being drawn when the cancel landed still reports; its results must not undo the cancel.
    await waitFor(queuesIdle, 90_000, "the render in progress reported");
    const tickets = await allTickets(request.event!.id);
    const generated = tickets.filter((t) => t.status === TicketStatus.GENERATED);
    const revoked = tickets.filter((t) => t.status === TicketStatus.REVOKED);
    expect(generated.length).toBeGreaterThan(0);
    expect(generated.length).toBeLessThan(400);
    expect(generated.length + revoked.length).toBe(400);
    expect(revoked.every((t) => t.revocationReason === "batch cancelled before this ticket was rendered")).toBe(true);
    const verdict = await api.tickets.validateTicket({ credential: { case: "qrPayload", value: generated[0]!.qrPayload } });
    expect(verdict.result).toBe(ValidationResult.VALID);

    const again = await batches.cancelBatch({ id: batch!.id });
    expect(again.batch?.status).toBe(BatchStatus.CANCELLED);
  }, 240_000);

  it("fans progress out across API processes: a watcher on one sees a batch created on the other", async () => {
    const other = spawnService("api", { ...api.env, PORT: "0", LOG_LEVEL: "info" });
    spawned.push(other);
    const [, port] = await other.outputMatching(/"port":(\d+)\D/);
    const remote = createClient(BatchService, grpcTransport(`http://127.0.0.1:${port}`));
    const request = batchRequest(250);
    const { batch } = await batches.createBatch(request);
    const seen = await watch(remote, batch!.id);
    expect(seen.at(-1)).toMatchObject({ status: BatchStatus.COMPLETED, completedCount: 250 });
    expect(seen.length).toBeGreaterThan(1);
  }, 60_000);

  it("leaves nothing behind when a watching client disconnects", async () => {
    await worker.worker.pause();
    try {
      const { batch } = await batches.createBatch(batchRequest(2));
      const controller = new AbortController();
      const stream = batches.watchBatch({ id: batch!.id }, { signal: controller.signal });
      const first = await stream[Symbol.asyncIterator]().next();
      expect(first.value?.batch?.status).toBe(BatchStatus.PROCESSING);
      expect(api.app.progress.watchedBatches).toBe(1);
      controller.abort();
      await waitFor(async () => (api.app.progress.watchedBatches === 0 ? true : undefined), 15_000, "subscription released");
    } finally {
      worker.worker.resume();
    }
  });

  it("answers NOT_FOUND, FAILED_PRECONDITION and INVALID_ARGUMENT precisely", async () => {
    const unknown = "01900000-0000-7000-8000-0000000000ff";
    const error = (call: Promise<unknown>) =>
      call.then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect((await error(batches.getBatch({ id: unknown })))?.rawMessage).toBe(`batch ${unknown} not found`);
    await worker.worker.pause();
    try {
      const { batch } = await batches.createBatch(batchRequest(3));
      const early = await error(download(batch!.id));
      expect({ code: early?.code, message: early?.rawMessage }).toEqual({
        code: Code.FailedPrecondition,
        message: `batch ${batch!.id} is still processing (0 of 3 done); retry when it has ended`,
      });
    } finally {
      worker.worker.resume();
    }
    const tooMany = await error(batches.createBatch(batchRequest(10_001)));
    expect({ code: tooMany?.code, message: tooMany?.rawMessage }).toEqual({
      code: Code.InvalidArgument,
      message: "guests: must list at most 10000 guests",
    });
  }, 60_000);
});
