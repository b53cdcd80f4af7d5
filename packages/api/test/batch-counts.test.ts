import { randomBytes } from "node:crypto";
import { Worker } from "bullmq";
import fc from "fast-check";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunkJobId, RENDER_QUEUE, type RenderResult } from "@ticketgen/shared";
import { BatchService } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { createClient, type Client } from "@connectrpc/connect";
import { properties } from "../../shared/test/support/properties.ts";
import { batchRequest } from "./support/batches.ts";
import { scratchDatabase, type ScratchDatabase } from "./support/database.ts";
import { grpcTransport, startTestApi, type TestApi } from "./support/stack.ts";

/**
 * A batch's counts against its tickets' statuses, however a chunk's outcomes interleave: a
 * worker's report, its redelivery, a success arriving after the sweeper failed the chunk.
 */

const CHUNK_SIZE = 2;
const GUESTS = 5;
const CHUNKS = Math.ceil(GUESTS / CHUNK_SIZE);

let database: ScratchDatabase;
let api: TestApi;
let batches: Client<typeof BatchService>;
let sql: postgres.Sql;

beforeAll(async () => {
  // A database of its own: the sweep below takes every processing batch of the database.
  database = await scratchDatabase("batch_counts");
  api = await startTestApi({
    DATABASE_URL: database.url,
    BATCH_SIZE: String(CHUNK_SIZE),
    QUEUE_RETRY_ATTEMPTS: "1",
    SWEEP_MIN_AGE_MS: "0",
  });
  // Sweeps run when the test says so.
  await api.app.sweeper.stop();
  batches = createClient(BatchService, grpcTransport(api.baseUrl));
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
});

afterAll(async () => {
  await sql?.end();
  await api?.stop();
  await database?.drop();
});

const generated = (ticketId: string): RenderResult => {
  const sha = randomBytes(32).toString("hex");
  return {
    outcome: "generated",
    tenantId: "default",
    ticketId,
    pdfKey: `tickets/default/${ticketId}/${sha}.pdf`,
    pdfSize: 1234,
    pdfSha256: sha,
    generatedAt: new Date().toISOString(),
    renderMs: 30,
  };
};
const failed = (ticketId: string, reason = "Chromium crashed"): RenderResult => ({
  outcome: "failed",
  tenantId: "default",
  ticketId,
  reason,
  failedAt: new Date().toISOString(),
});

async function newBatch(): Promise<{ id: string; chunks: string[][] }> {
  const { batch } = await batches.createBatch(batchRequest(GUESTS));
  const ids = (await sql<Array<{ id: string }>>`select id from tickets where batch_id = ${batch!.id} order by batch_position`).map(
    (r) => r.id,
  );
  return { id: batch!.id, chunks: Array.from({ length: CHUNKS }, (_, i) => ids.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)) };
}

const applyChunk = (batchId: string, chunkIndex: number, results: RenderResult[]) =>
  api.app.results.applyChunk({ tenantId: "default", batchId, chunkIndex, results });

/** The batch row and how many of its tickets hold each status. */
async function state(batchId: string) {
  const [batch] = await sql<Array<{ status: string; completed_count: number; failed_count: number; total_count: number }>>`
    select status, completed_count, failed_count, total_count from batches where id = ${batchId}`;
  const rows = await sql<Array<{ status: string; n: number }>>`
    select status, count(*)::int as n from tickets where batch_id = ${batchId} group by status`;
  const statuses = Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number | undefined>;
  return {
    status: batch!.status,
    completed: batch!.completed_count,
    failed: batch!.failed_count,
    total: batch!.total_count,
    generatedTickets: statuses.GENERATED ?? 0,
    failedTickets: statuses.FAILED ?? 0,
    pendingTickets: statuses.PENDING ?? 0,
  };
}

async function expectCountsMatchTickets(batchId: string): Promise<Awaited<ReturnType<typeof state>>> {
  const s = await state(batchId);
  expect({ completed: s.completed, failed: s.failed }).toEqual({ completed: s.generatedTickets, failed: s.failedTickets });
  expect(s.completed + s.failed).toBeLessThanOrEqual(s.total);
  expect(s.status === "PROCESSING").toBe(s.pendingTickets > 0);
  return s;
}

describe("batch counts", () => {
  it("a success applied after the sweeper failed its chunk moves the tickets from failed to generated, and the batch ends only when no ticket is pending", async () => {
    const batch = await newBatch();
    // Chunk 0's render job fails for good without the worker reporting it (killed on its last attempt).
    const renderer = new Worker(RENDER_QUEUE, null, { connection: { url: api.config.redisUrl }, prefix: api.config.queuePrefix });
    try {
      const token = "test-render-worker";
      const job = await renderer.getNextJob(token);
      expect(job?.id).toBe(chunkJobId(batch.id, 0));
      await job!.moveToFailed(new Error("worker killed"), token);
    } finally {
      await renderer.close();
    }
    await api.app.sweeper.sweep();
    expect(await expectCountsMatchTickets(batch.id)).toMatchObject({ status: "PROCESSING", completed: 0, failed: 2 });

    // The worker's report of chunk 0 arrives late: it rendered after all.
    await applyChunk(batch.id, 0, batch.chunks[0]!.map(generated));
    expect(await expectCountsMatchTickets(batch.id)).toMatchObject({ status: "PROCESSING", completed: 2, failed: 0 });

    // Counted twice, chunk 0 would make these 2 + 2 + 2 of 5 and end the batch with chunk 2 pending.
    await applyChunk(batch.id, 1, batch.chunks[1]!.map(generated));
    expect(await expectCountsMatchTickets(batch.id)).toMatchObject({ status: "PROCESSING", completed: 4, failed: 0 });

    await applyChunk(batch.id, 2, batch.chunks[2]!.map(generated));
    expect(await expectCountsMatchTickets(batch.id)).toMatchObject({ status: "COMPLETED", completed: 5, failed: 0 });
  });

  it("agree with the tickets' statuses after every step of any interleaving of results, redeliveries and sweeper failures", async () => {
    type Step =
      | { kind: "report"; chunk: number; generated: boolean[] }
      | { kind: "sweeperFailure"; chunk: number }
      | { kind: "redelivery"; of: number };
    const chunk = fc.integer({ min: 0, max: CHUNKS - 1 });
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({
        kind: fc.constant("report" as const),
        chunk,
        generated: fc.array(fc.boolean(), { minLength: CHUNK_SIZE, maxLength: CHUNK_SIZE }),
      }),
      fc.record({ kind: fc.constant("sweeperFailure" as const), chunk }),
      fc.record({ kind: fc.constant("redelivery" as const), of: fc.nat() }),
    );
    // Each turn applies one or two steps at once, as two API replicas' consumers may.
    const turns = fc.array(fc.array(step, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 12 });

    await fc.assert(
      fc.asyncProperty(turns, async (turns) => {
        const batch = await newBatch();
        const applied: Array<{ chunk: number; results: RenderResult[] }> = [];
        const resultsOf = (s: Step): { chunk: number; results: RenderResult[] } => {
          if (s.kind === "redelivery") return applied[s.of % applied.length] ?? { chunk: 0, results: [] };
          const ids = batch.chunks[s.chunk]!;
          if (s.kind === "sweeperFailure") return { chunk: s.chunk, results: ids.map((id) => failed(id, "rendering failed: job stalled")) };
          return { chunk: s.chunk, results: ids.map((id, i) => (s.generated[i] ? generated(id) : failed(id))) };
        };
        let ended: string | undefined;
        for (const turn of turns) {
          const outcomes = turn.map(resultsOf);
          await Promise.all(outcomes.map((o) => applyChunk(batch.id, o.chunk, o.results)));
          applied.push(...outcomes);
          const s = await expectCountsMatchTickets(batch.id);
          // An ended batch stays ended.
          if (ended) expect(s.status).toBe(ended);
          if (s.status !== "PROCESSING") ended = s.status;
        }
      }),
      properties(25),
    );
  });
});
