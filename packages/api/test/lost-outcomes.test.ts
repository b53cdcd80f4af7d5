import { createClient } from "@connectrpc/connect";
import { Queue } from "bullmq";
import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import type { RenderWorker } from "@ticketgen/render-worker";
import {
  chunkJobId,
  chunkResultsJobId,
  RENDER_QUEUE,
  renderResultJobId,
  RESULTS_QUEUE,
  type ChunkResults,
  type RenderResult,
} from "@ticketgen/shared";
import { BatchService, BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { scratchDatabase } from "./support/database.ts";
import { sample, scrape } from "./support/metrics.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";
import { cappedExponentialBackoff } from "../src/results/result-backoff.ts";

/** A render outcome reaches its ticket however long PostgreSQL refuses it, and even when its result job is lost. */

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function scratchApi(env: Record<string, string> = {}): Promise<TestApi> {
  // A database of its own: sweeps take every PENDING ticket and processing batch of the database.
  const database = await scratchDatabase("lost_outcomes");
  cleanup.push(() => database.drop());
  const api = await startTestApi({ DATABASE_URL: database.url, ...env });
  cleanup.push(() => api.stop());
  // Sweeps run when the test says so.
  await api.app.sweeper.stop();
  return api;
}

async function worker(api: TestApi): Promise<RenderWorker> {
  const started = await startTestWorker(api);
  cleanup.push(() => started.stop());
  return started;
}

function queue<T>(api: TestApi, name: string): Queue<T> {
  const q = new Queue<T>(name, { connection: { url: api.config.redisUrl }, prefix: api.config.queuePrefix });
  cleanup.push(() => q.close());
  return q;
}

describe("a result PostgreSQL cannot take", () => {
  it("is retried with delays doubling up to the cap", () => {
    const delay = cappedExponentialBackoff({ delayMs: 5, maxDelayMs: 40 });
    expect([1, 2, 3, 4, 5, 12, 1000, Number.MAX_SAFE_INTEGER].map((attempts) => delay(attempts))).toEqual([5, 10, 20, 40, 40, 40, 40, 40]);
  });

  it("is retried past the ten attempts of a bounded budget, and applied once PostgreSQL takes it", async () => {
    const api = await scratchApi({ RESULT_RETRY_DELAY_MS: "5", RESULT_RETRY_MAX_DELAY_MS: "40" });
    const sql = postgres(api.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    cleanup.push(() => sql.end());
    const results = queue<RenderResult>(api, RESULTS_QUEUE);
    const { ticket } = await api.tickets.createTicket(ticketRequest());
    // PostgreSQL refuses every ticket update, as while it starts up. (Cutting the connection
    // instead makes postgres.js wait up to 20 s before each failure: too slow for ten attempts.)
    await sql.unsafe(`
      create function refuse_updates() returns trigger language plpgsql as
        $$ begin raise exception 'the database system is starting up' using errcode = '57P03'; end $$;
      create trigger refuse_updates before update on tickets for each row execute function refuse_updates();`);

    await worker(api);
    const retried = await waitFor(
      async () => {
        // The ticket's only result job (its id names the PDF, unknown until rendered).
        const [job] = await results.getJobs(["delayed", "waiting", "active"]);
        return job && job.attemptsMade > 12 ? job : undefined;
      },
      20_000,
      "the result retried more than 12 times",
    );
    expect(retried.id).toBe(renderResultJobId(retried.data));
    expect(retried.failedReason).toContain("Failed query: update");
    expect(await results.getJobState(retried.id!)).not.toBe("failed");

    await sql.unsafe("drop trigger refuse_updates on tickets");
    const applied = await waitFor(
      async () => {
        const { ticket: now } = await api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } });
        return now?.status === TicketStatus.GENERATED ? now : undefined;
      },
      10_000,
      "the ticket GENERATED",
    );
    expect(applied.pdfSha256).toBe(retried.data.outcome === "generated" ? retried.data.pdfSha256 : "a generated outcome");
  });
});

describe("a render job that completed while its result job was lost", () => {
  it("has its returned outcome applied by the sweeper, for a single ticket and a batch chunk, without a second render", async () => {
    const api = await scratchApi({ SWEEP_MIN_AGE_MS: "0" });
    const renders = queue<unknown>(api, RENDER_QUEUE);
    const results = queue<RenderResult | ChunkResults>(api, RESULTS_QUEUE);
    // The API takes no result while paused: the worker's reports stay queued, then are lost below.
    await results.pause();
    const renderer = await worker(api);
    const batches = createClient(BatchService, grpcTransport(api.baseUrl));
    const { ticket } = await api.tickets.createTicket(ticketRequest());
    const { batch } = await batches.createBatch(batchRequest(3));
    const chunkId = chunkJobId(batch!.id, 0);
    for (const id of [ticket!.id, chunkId])
      await waitFor(async () => ((await renders.getJobState(id)) === "completed" ? true : undefined), 60_000, `render job ${id} completed`);
    const ticketJob = await renders.getJob(ticket!.id);
    const returned = ticketJob!.returnvalue as RenderResult;
    // The reports are lost: one removed, the other gone the way an exhausted job goes.
    expect(await results.remove(renderResultJobId(returned))).toBe(1);
    expect(await results.remove(chunkResultsJobId((await renders.getJob(chunkId))!.returnvalue as ChunkResults))).toBe(1);
    await results.resume();
    const rendersBefore = await scrape(renderer.metricsPort);

    await api.app.sweeper.sweep();

    const { ticket: generated } = await api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } });
    expect(generated?.status).toBe(TicketStatus.GENERATED);
    expect(returned.outcome).toBe("generated");
    expect({ pdfSha256: generated?.pdfSha256 }).toEqual({ pdfSha256: returned.outcome === "generated" ? returned.pdfSha256 : "" });
    const { batch: ended } = await batches.getBatch({ id: batch!.id });
    expect({ status: ended?.status, completed: ended?.completedCount, failed: ended?.failedCount }).toEqual({
      status: BatchStatus.COMPLETED,
      completed: 3,
      failed: 0,
    });
    const chunk = (await renders.getJob(chunkId))!.returnvalue as ChunkResults;
    expect(chunk.results).toHaveLength(3);
    for (const outcome of chunk.results) {
      const { ticket: stored } = await api.tickets.getTicket({ lookup: { case: "id", value: outcome.ticketId } });
      expect({ status: stored?.status, pdfSha256: stored?.pdfSha256 }).toEqual({
        status: TicketStatus.GENERATED,
        pdfSha256: outcome.outcome === "generated" ? outcome.pdfSha256 : "a generated outcome",
      });
    }

    // No render job was added or run again.
    expect(await renders.getJobCounts("waiting", "prioritized", "delayed", "active", "completed", "failed")).toMatchObject({
      waiting: 0,
      prioritized: 0,
      delayed: 0,
      active: 0,
      completed: 2,
      failed: 0,
    });
    expect((await renders.getJob(ticket!.id))!.finishedOn).toBe(ticketJob!.finishedOn);
    const rendersAfter = await scrape(renderer.metricsPort);
    for (const job of ["ticket", "chunk"])
      expect(sample(rendersAfter, "pdf_generation_duration_seconds_count", { job })).toBe(
        sample(rendersBefore, "pdf_generation_duration_seconds_count", { job }),
      );
  });
});
