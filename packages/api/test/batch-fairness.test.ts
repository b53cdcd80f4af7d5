import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { afterEach, describe, expect, inject, it } from "vitest";
import { chunkJobId, RENDER_QUEUE } from "@ticketgen/shared";
import { BatchStatus, type Batch } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { batchRequest } from "./support/batches.ts";
import { scratchDatabase } from "./support/database.ts";
import { clientsFor, startTestApi, startTestWorker, TEST_AUTH_SECRET, testToken, type Clients, type TestApi } from "./support/stack.ts";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function startApi(env: Record<string, string>): Promise<TestApi> {
  const api = await startTestApi({ AUTH_JWT_SECRET: TEST_AUTH_SECRET, ...env });
  cleanup.push(() => api.stop());
  return api;
}

async function tenant(api: TestApi, name: string): Promise<Clients> {
  return clientsFor(api.baseUrl, await testToken(`${name}-${randomBytes(4).toString("hex")}`));
}

function renderQueue(api: TestApi): Queue {
  const queue = new Queue(RENDER_QUEUE, { connection: { url: inject("redisUrl") }, prefix: api.config.queuePrefix });
  cleanup.push(() => queue.obliterate({ force: true }).then(() => queue.close()));
  return queue;
}

async function priorities(queue: Queue, batch: Batch, chunks: number): Promise<Array<number | undefined>> {
  return Promise.all(Array.from({ length: chunks }, async (_, i) => (await queue.getJob(chunkJobId(batch.id, i)))?.opts.priority));
}

describe("fair interleaving of tenants' batch chunks", () => {
  it("tenant B's 200-guest batch completes while tenant A's 5,000-guest batch is still rendering", { timeout: 180_000 }, async () => {
    const api = await startApi({ BATCH_SIZE: "50" });
    const worker = await startTestWorker(api);
    cleanup.push(() => worker.stop());
    const [a, b] = [await tenant(api, "fair-a"), await tenant(api, "fair-b")];

    const { batch: big } = await a.batches.createBatch(batchRequest(5000));
    cleanup.push(() => a.batches.cancelBatch({ id: big!.id }).catch(() => undefined));
    const { batch: small } = await b.batches.createBatch(batchRequest(200));
    let last: Batch | undefined;
    for await (const { batch } of b.batches.watchBatch({ id: small!.id })) last = batch;
    expect({ status: last?.status, completed: last?.completedCount }).toEqual({ status: BatchStatus.COMPLETED, completed: 200 });

    const { batch: bigNow } = await a.batches.getBatch({ id: big!.id });
    expect(bigNow?.status).toBe(BatchStatus.PROCESSING);
    await a.batches.cancelBatch({ id: big!.id });
  });

  it("ranks a chunk by its tenant's unrendered chunks ahead of it; the sweeper ranks a lost chunk it resends the same way", async () => {
    // A database of its own: the sweep below takes every PROCESSING batch in the database.
    const database = await scratchDatabase("fair");
    cleanup.push(() => database.drop());
    // No worker: every chunk stays queued with the priority it was given.
    const api = await startApi({ DATABASE_URL: database.url, BATCH_SIZE: "2", SWEEP_MIN_AGE_MS: "0" });
    const queue = renderQueue(api);
    const [a, b] = [await tenant(api, "rank-a"), await tenant(api, "rank-b")];

    const { batch: first } = await a.batches.createBatch(batchRequest(5));
    const { batch: second } = await a.batches.createBatch(batchRequest(4));
    const { batch: other } = await b.batches.createBatch(batchRequest(3));
    expect(await priorities(queue, first!, 3)).toEqual([10, 11, 12]);
    expect(await priorities(queue, second!, 2)).toEqual([13, 14]);
    expect(await priorities(queue, other!, 2)).toEqual([10, 11]);

    await queue.remove(chunkJobId(second!.id, 1));
    expect(await api.app.sweeper.sweep()).toBe(1);
    expect(await priorities(queue, second!, 2)).toEqual([13, 14]);
    // Once tenant A's first batch has ended, nothing of A's is ahead of its second batch.
    await a.batches.cancelBatch({ id: first!.id });
    await queue.remove(chunkJobId(second!.id, 1));
    expect(await api.app.sweeper.sweep()).toBe(1);
    expect(await priorities(queue, second!, 2)).toEqual([13, 11]);
  });
});
