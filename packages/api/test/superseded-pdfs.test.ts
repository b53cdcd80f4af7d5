import { createHash, randomBytes } from "node:crypto";
import { Queue, Worker } from "bullmq";
import { createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ResultReporter } from "@ticketgen/render-worker";
import {
  connectWorkerRedis,
  createBlobStore,
  RENDER_QUEUE,
  renderResultJobId,
  RESULTS_QUEUE,
  ticketPdfKey,
  type BlobStore,
  type RenderResult,
} from "@ticketgen/shared";
import { BatchService } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { BLOB_BACKINGS, type BlobBacking } from "./support/blob-backings.ts";
import { scratchDatabase, type ScratchDatabase } from "./support/database.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";

/**
 * A ticket rendered twice keeps one PDF: the one its row names. The other render's PDF is
 * deleted when its outcome is applied and loses, or, for a render that stored its PDF and never
 * reported it, when the retry that replaced it is applied (from its report or by the sweeper).
 */

// Auth is off in these tests: every call is tenant "default".
const TENANT = "default";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe.each(BLOB_BACKINGS)("superseded PDFs on the $name blob store", ({ store }) => {
  let database: ScratchDatabase;
  let backing: BlobBacking;
  /** The blob store of the test's stack. */
  let blobs: BlobStore;

  beforeAll(async () => {
    // A database of its own: a sweep takes every PENDING ticket of the database.
    database = await scratchDatabase("superseded_pdfs");
    backing = await store();
  });
  afterAll(async () => {
    await backing?.close();
    await database?.drop();
  });

  /** An API on the shared database and blob store, with queues of its own and sweeps run when the test says. */
  async function stack(): Promise<TestApi> {
    const api = await startTestApi({ DATABASE_URL: database.url, QUEUE_RETRY_DELAY: "2000", ...backing.env });
    cleanup.push(() => api.stop());
    await api.app.sweeper.stop();
    blobs = createBlobStore(api.config.blobStore);
    return api;
  }

  function queue<T>(api: TestApi, name: string): Queue<T> {
    const q = new Queue<T>(name, { connection: { url: api.config.redisUrl }, prefix: api.config.queuePrefix });
    cleanup.push(() => q.close());
    return q;
  }

  function reporter(api: TestApi): ResultReporter {
    const redis = connectWorkerRedis(api.config);
    const reports = new ResultReporter(redis, api.config.queuePrefix);
    cleanup.push(async () => {
      await reports.close();
      redis.disconnect();
    });
    return reports;
  }

  /** A render's PDF, stored under its content address, and the success that reports it. */
  async function render(ticketId: string, earlierPdfKeys?: string[]): Promise<Extract<RenderResult, { outcome: "generated" }>> {
    const pdf = randomBytes(2048);
    const sha256 = createHash("sha256").update(pdf).digest("hex");
    const pdfKey = ticketPdfKey(TENANT, ticketId, sha256);
    await blobs.put(pdfKey, pdf, "application/pdf");
    return {
      outcome: "generated",
      tenantId: TENANT,
      ticketId,
      pdfKey,
      pdfSize: pdf.length,
      pdfSha256: sha256,
      generatedAt: new Date().toISOString(),
      renderMs: 1,
      ...(earlierPdfKeys && { earlierPdfKeys }),
    };
  }

  const stored = async (key: string) => (await blobs.size(key)) !== undefined;
  const row = async (api: TestApi, id: string) => (await api.tickets.getTicket({ lookup: { case: "id", value: id } })).ticket!;
  const pendingTicket = async (api: TestApi): Promise<Ticket> => (await api.tickets.createTicket(ticketRequest())).ticket!;
  const generated = (api: TestApi, id: string) =>
    waitFor(
      async () => {
        const current = await row(api, id);
        return current.status === TicketStatus.GENERATED ? current : undefined;
      },
      60_000,
      `ticket ${id} GENERATED`,
    );

  it("a second render's success reported after the first was applied is deleted; the first's PDF stays", async () => {
    const api = await stack();
    const worker = await startTestWorker(api);
    cleanup.push(() => worker.stop());
    const ticket = await generated(api, (await pendingTicket(api)).id);
    const kept = ticketPdfKey(TENANT, ticket.id, ticket.pdfSha256);

    // The same ticket drawn again (its first outcome was late): another PDF, reported as workers do.
    const second = await render(ticket.id);
    await reporter(api).report(second);

    await waitFor(async () => ((await stored(second.pdfKey)) ? undefined : true), 10_000, "the second render's PDF deleted");
    expect(await stored(kept)).toBe(true);
    expect((await row(api, ticket.id)).pdfSha256).toBe(ticket.pdfSha256);
  }, 90_000);

  it("the first success applied wins whichever render it came from, also when two are applied at once; the other's PDF is deleted", async () => {
    const api = await stack();
    const { results } = api.app;
    // The retry's outcome applied before the first render's.
    const ticket = await pendingTicket(api);
    const [first, retry] = [await render(ticket.id), await render(ticket.id)];
    await results.apply(retry);
    await results.apply(first);
    expect((await row(api, ticket.id)).pdfSha256).toBe(retry.pdfSha256);
    expect({ retry: await stored(retry.pdfKey), first: await stored(first.pdfKey) }).toEqual({ retry: true, first: false });
    // Applying the loser again (a redelivered result) deletes nothing more and fails nothing.
    await results.apply(first);
    expect(await stored(retry.pdfKey)).toBe(true);

    // Two API replicas applying the two outcomes at the same moment.
    for (let i = 0; i < 5; i++) {
      const raced = await pendingTicket(api);
      const outcomes = [await render(raced.id), await render(raced.id)];
      await Promise.all(outcomes.map((outcome) => results.apply(outcome)));
      const winner = (await row(api, raced.id)).pdfSha256;
      expect(await Promise.all(outcomes.map(async (o) => ({ winner: o.pdfSha256 === winner, stored: await stored(o.pdfKey) })))).toEqual(
        expect.arrayContaining([
          { winner: true, stored: true },
          { winner: false, stored: false },
        ]),
      );
    }
  });

  it("a batch chunk rendered again: the tickets it lost delete their PDFs, the counts stay", async () => {
    const api = await stack();
    const batches = createClient(BatchService, grpcTransport(api.baseUrl));
    const batch = (await batches.createBatch(batchRequest(2))).batch!;
    const [a, b] = (await api.tickets.listTickets({ eventId: batch.eventId })).tickets;
    const firstRender = [await render(a!.id), await render(b!.id)];
    await api.app.results.applyChunk({ tenantId: TENANT, batchId: batch.id, chunkIndex: 0, results: firstRender });
    const secondRender = [await render(a!.id), await render(b!.id)];
    await api.app.results.applyChunk({ tenantId: TENANT, batchId: batch.id, chunkIndex: 0, results: secondRender });

    expect(await Promise.all([...firstRender, ...secondRender].map((r) => stored(r.pdfKey)))).toEqual([true, true, false, false]);
    expect((await batches.getBatch({ id: batch.id })).batch).toMatchObject({ completedCount: 2, failedCount: 0 });
  });

  it("deletes what earlier attempts left once the ticket's PDF is recorded, never another ticket's PDF nor the recorded one", async () => {
    const api = await stack();
    const other = await pendingTicket(api);
    const othersPdf = await render(other.id);
    await api.app.results.apply(othersPdf);
    const ticket = await pendingTicket(api);
    const killedAttempt = await render(ticket.id);
    const winner = await render(ticket.id);
    await api.app.results.apply(winner);

    // A late retry names the killed attempt's PDF, the recorded one and another ticket's.
    const late = await render(ticket.id, [killedAttempt.pdfKey, winner.pdfKey, othersPdf.pdfKey]);
    await api.app.results.apply(late);

    expect({
      killedAttempt: await stored(killedAttempt.pdfKey),
      late: await stored(late.pdfKey),
      winner: await stored(winner.pdfKey),
      othersPdf: await stored(othersPdf.pdfKey),
    }).toEqual({ killedAttempt: false, late: false, winner: true, othersPdf: true });
  });

  /**
   * The ticket's render job is first taken by a stand-in for a render that stored its PDF and
   * was then cut off (its outcome never reported); the real worker runs the retry.
   */
  async function retriedRender(api: TestApi, ticketId: string): Promise<string> {
    const renders = queue<unknown>(api, RENDER_QUEUE);
    const cutOff = await render(ticketId);
    const standIn = new Worker(
      RENDER_QUEUE,
      async () => {
        throw new Error("cut off from Redis after storing its PDF");
      },
      { connection: { url: api.config.redisUrl }, prefix: api.config.queuePrefix },
    );
    await waitFor(
      async () => ((await renders.getJob(ticketId))?.attemptsMade === 1 ? true : undefined),
      10_000,
      "the first attempt failed",
    );
    await standIn.close();
    const worker = await startTestWorker(api);
    cleanup.push(() => worker.stop());
    await waitFor(async () => ((await renders.getJobState(ticketId)) === "completed" ? true : undefined), 60_000, "the retry completed");
    return cutOff.pdfKey;
  }

  it("a retried render names the PDF the cut-off attempt stored, and the API deletes it", async () => {
    const api = await stack();
    const ticket = await pendingTicket(api);
    const cutOff = await retriedRender(api, ticket.id);

    const rendered = await generated(api, ticket.id);
    await waitFor(async () => ((await stored(cutOff)) ? undefined : true), 10_000, "the cut-off attempt's PDF deleted");
    expect(await stored(ticketPdfKey(TENANT, ticket.id, rendered.pdfSha256))).toBe(true);
  }, 90_000);

  it("the same when the retry's report is lost and the sweeper applies the outcome its render job returned", async () => {
    const api = await stack();
    const results = queue<RenderResult>(api, RESULTS_QUEUE);
    await results.pause();
    const ticket = await pendingTicket(api);
    const cutOff = await retriedRender(api, ticket.id);
    const returned = (await queue<unknown>(api, RENDER_QUEUE).getJob(ticket.id))!.returnvalue as RenderResult;
    expect(returned.outcome === "generated" && returned.earlierPdfKeys).toEqual([cutOff]);
    expect(await results.remove(renderResultJobId(returned))).toBe(1);
    await results.resume();

    await api.app.sweeper.sweep(new Date(Date.now() + api.config.sweepMinAgeMs + 1000));

    expect((await row(api, ticket.id)).status).toBe(TicketStatus.GENERATED);
    expect({ cutOff: await stored(cutOff), returned: returned.outcome === "generated" && (await stored(returned.pdfKey)) }).toEqual({
      cutOff: false,
      returned: true,
    });
  }, 90_000);
});
